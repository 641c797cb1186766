/* The classic builder's pure parts: word expansion (Dockerfile
 * environment replacement), the Dockerfile parser and instruction
 * checks, .dockerignore patterns, and the Go formatting of history
 * texts.  Cases follow Docker's documentation (Dockerfile reference:
 * "Environment replacement", "Parser directives", ".dockerignore file")
 * and the behaviour of moby 20.10's vendored buildkit parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "build/build.h"
#include "build/gofmt.h"
#include "build/ignore.h"
#include "build/instructions.h"
#include "build/parser.h"
#include "build/shell.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/strutil.h"

/* ---- word expansion ------------------------------------------------------------- */

static char *env_std[] = { "PWD=/home", "SHELL=bash", "NULL=", NULL };

typedef struct
{
  const char *in;
  const char *out; /* NULL: an error */
} word_case_t;

static void
test_process_word (void **state)
{
  (void) state;
  static const word_case_t cases[] = {
    { "hello", "hello" },
    { "he'll'o", "hello" },
    { "he'llo", NULL },
    { "he\\'llo", "he'llo" },
    { "he\\\\'llo", NULL },
    { "abc\\tdef", "abctdef" },
    { "\"abc\\tdef\"", "abc\\tdef" },
    { "\"abc\\\\tdef\"", "abc\\tdef" },
    { "'abc\\tdef'", "abc\\tdef" },
    { "hello\\", "hello" },
    { "hello\\\\", "hello\\" },
    { "\"hello", NULL },
    { "\"hello\\\"", NULL },
    { "\"hel'lo\"", "hel'lo" },
    { "'hello", NULL },
    { "'hello\\'", "hello\\" },
    { "\"''\"", "''" },
    { "$.", "$." },
    { "he$1x", "hex" },
    { "he$.x", "he$.x" },
    { "he$pwd.", "he." },
    { "he$PWD", "he/home" },
    { "he\\$PWD", "he$PWD" },
    { "he\\\\$PWD", "he\\/home" },
    { "\"he\\$PWD\"", "he$PWD" },
    { "\"he\\\\$PWD\"", "he\\/home" },
    { "\\${}", "${}" },
    { "he\\${}xx", "he${}xx" },
    { "${}", NULL },
    { "he${}xx", NULL },
    { "he${hi}", "he" },
    { "he${hi}xx", "hexx" },
    { "he${PWD}", "he/home" },
    { "he${.}", NULL },
    { "he${XXX:-000}xx", "he000xx" },
    { "he${PWD:-000}xx", "he/homexx" },
    { "he${XXX:-$PWD}xx", "he/homexx" },
    { "he${XXX:-${PWD:-yyy}}xx", "he/homexx" },
    { "he${XXX:-${YYY:-yyy}}xx", "heyyyxx" },
    { "he${XXX:YYY}", NULL },
    { "he${XXX?}", NULL },
    { "he${XXX:?}", NULL },
    { "he${PWD?}", "he/home" },
    { "he${PWD:?}", "he/home" },
    { "he${NULL?}", "he" },
    { "he${NULL:?}", NULL },
    { "he${XXX:+${PWD}}xx", "hexx" },
    { "he${PWD:+${XXX}}xx", "hexx" },
    { "he${PWD:+${SHELL}}xx", "hebashxx" },
    { "he${XXX:+000}xx", "hexx" },
    { "he${PWD:+000}xx", "he000xx" },
    { "he${NULL:-dflt}", "hedflt" },
    { "he${NULL-dflt}", NULL },
    { "'he${XX}'", "he${XX}" },
    { "\"he${PWD}\"", "he/home" },
    { "\"he'$PWD'\"", "he'/home'" },
    { "'$PWD'", "$PWD" },
    { "'\\$PWD'", "\\$PWD" },
    { "he${PWD", NULL },
    { "he${PWD:=000}xx", NULL },
    { "he${PWD:+${PWD}:}xx", "he/home:xx" },
    { "he${XXX:-\\$PWD:}xx", "he$PWD:xx" },
    { "he${XXX:-\\${PWD}z}xx", "he${PWDz}xx" },
    { "\xec\x95\x88'\xeb\x85\x95'", "\xec\x95\x88\xeb\x85\x95" },
    { "$$", "" },
    { "${PWD}/${SHELL}", "/home/bash" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      arca_error_t err = { 0 };
      char *out = NULL;
      int r = shell_process_word (cases[i].in, env_std, '\\', &out, &err);
      if (cases[i].out == NULL)
        {
          if (r == 0)
            fail_msg ("%s: expected an error, got \"%s\"", cases[i].in, out);
          assert_int_equal (err.kind, ARCA_ERR_INVALID);
          assert_true (str_has_prefix (err.msg, "failed to process \""));
        }
      else
        {
          if (r < 0)
            fail_msg ("%s: %s", cases[i].in, err.msg);
          if (strcmp (out, cases[i].out) != 0)
            fail_msg ("%s: expected \"%s\", got \"%s\"", cases[i].in, cases[i].out, out);
        }
      free (out);
    }
}

static void
test_process_word_messages (void **state)
{
  (void) state;
  static const struct
  {
    const char *in, *msg;
  } cases[] = {
    { "${", "failed to process \"${\": syntax error: missing '}'" },
    { "${}", "failed to process \"${}\": syntax error: bad substitution" },
    { "${a-b}", "failed to process \"${a-b}\": missing ':' in substitution" },
    { "${X?boom}", "failed to process \"${X?boom}\": X: boom" },
    { "${X:?}", "failed to process \"${X:?}\": X: is not allowed to be unset" },
    { "${NULL:?}", "failed to process \"${NULL:?}\": NULL: is not allowed to be empty" },
    { "${X:!y}", "failed to process \"${X:!y}\": unsupported modifier (!) in substitution" },
    { "'a", "failed to process \"'a\": unexpected end of statement while looking for matching single-quote" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      arca_error_t err = { 0 };
      char *out = NULL;
      assert_int_equal (shell_process_word (cases[i].in, env_std, '\\', &out, &err), -1);
      assert_string_equal (err.msg, cases[i].msg);
    }
}

static void
test_process_words (void **state)
{
  (void) state;
  static const struct
  {
    const char *in;
    const char *words; /* joined with | */
  } cases[] = {
    { "hello", "hello" },
    { "hello world", "hello|world" },
    { "hello   world  ", "hello|world" },
    { "'hello world'", "hello world" },
    { "\"hello world\" x", "hello world|x" },
    { "$SPACED", "a|b" },
    { "\"$SPACED\"", "a b" },
    { "x$SPACED", "xa|b" },
    { "80/tcp ${PORTS}", "80/tcp|90|91" },
    { "\\ a", " a" },
    { "", "" },
  };
  char *env[] = { "SPACED=a b", "PORTS=90 91", NULL };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      arca_error_t err = { 0 };
      _cleanup_strv_ char **w = NULL;
      if (shell_process_words (cases[i].in, env, '\\', &w, &err) < 0)
        fail_msg ("%s: %s", cases[i].in, err.msg);
      arca_buf_t b = { 0 };
      buf_append (&b, "", 0);
      for (size_t k = 0; w[k]; k++)
        buf_printf (&b, "%s%s", k ? "|" : "", w[k]);
      if (strcmp (b.data, cases[i].words) != 0)
        fail_msg ("%s: expected %s, got %s", cases[i].in, cases[i].words, b.data);
      buf_free (&b);
    }
}

/* The documentation's examples: ENV values are seen by later
 * instructions only; the escape directive changes the escape for
 * substitutions too. */
static void
test_env_replacement_doc (void **state)
{
  (void) state;
  char *env1[] = { "FOO=/bar", NULL };
  char *out = NULL;
  arca_error_t err = { 0 };
  assert_int_equal (shell_process_word ("${FOO}", env1, '\\', &out, &err), 0);
  assert_string_equal (out, "/bar");
  free (out);
  assert_int_equal (shell_process_word ("\\$FOO", env1, '\\', &out, &err), 0);
  assert_string_equal (out, "$FOO");
  free (out);
  /* ENV abc=hello; ENV abc=bye def=$abc: def sees the old value */
  char *env2[] = { "abc=hello", NULL };
  assert_int_equal (shell_process_word ("$abc", env2, '\\', &out, &err), 0);
  assert_string_equal (out, "hello");
  free (out);
  /* later entries win */
  char *env3[] = { "abc=hello", "abc=bye", NULL };
  assert_int_equal (shell_process_word ("$abc", env3, '\\', &out, &err), 0);
  assert_string_equal (out, "bye");
  free (out);
  /* with escape=` a backslash is literal and ` escapes */
  assert_int_equal (shell_process_word ("c:\\dir`$FOO", env1, '`', &out, &err), 0);
  assert_string_equal (out, "c:\\dir$FOO");
  free (out);
}

/* ---- parser ------------------------------------------------------------------- */

static df_ast_t *
parse_ok (const char *text)
{
  df_ast_t *ast = NULL;
  arca_error_t err = { 0 };
  if (dockerfile_parse (text, strlen (text), &ast, NULL, &err) < 0)
    fail_msg ("parse: %s", err.msg);
  return ast;
}

static void
parse_bad (const char *text, const char *msg)
{
  df_ast_t *ast = NULL;
  arca_error_t err = { 0 };
  assert_int_equal (dockerfile_parse (text, strlen (text), &ast, NULL, &err), -1);
  assert_null (ast);
  assert_string_equal (err.msg, msg);
}

static char *
join (char **v)
{
  arca_buf_t b = { 0 };
  buf_append (&b, "", 0);
  for (size_t i = 0; v && v[i]; i++)
    buf_printf (&b, "%s%s", i ? "|" : "", v[i]);
  return b.data;
}

static void
check_node (const df_node_t *n, const char *cmd, const char *args, bool json)
{
  assert_string_equal (n->cmd, cmd);
  _cleanup_free_ char *a = join (n->args);
  assert_string_equal (a, args);
  assert_int_equal (n->json, json);
}

static void
test_parse_forms (void **state)
{
  (void) state;
  df_ast_t *ast = parse_ok ("FROM busybox AS build\n"
                            "RUN echo \"a b\"  &&  true\n"
                            "RUN [\"echo\", \"x y\"]\n"
                            "CMD [\"a\"] trailing\n"
                            "ENV A=1 B=\"two words\" C=three\\ words\n"
                            "ENV D old form value\n"
                            "LABEL \"com.example\"=\"v\" k=v\n"
                            "EXPOSE 80/tcp   443\n"
                            "COPY --chown=1:2 --from=build a b /dst/\n"
                            "COPY [\"x y\", \"/z/\"]\n"
                            "ARG X Y=1 Z=\n"
                            "HEALTHCHECK --interval=5s CMD curl -f http://x/\n"
                            "HEALTHCHECK NONE\n"
                            "ONBUILD RUN echo trig\n"
                            "entrypoint /bin/sh\n"
                            "FOO bar\n");
  assert_int_equal (ast->n, 16);
  check_node (&ast->nodes[0], "from", "busybox|AS|build", false);
  check_node (&ast->nodes[1], "run", "echo \"a b\"  &&  true", false);
  check_node (&ast->nodes[2], "run", "echo|x y", true);
  check_node (&ast->nodes[3], "cmd", "a", true);
  check_node (&ast->nodes[4], "env", "A|1|B|\"two words\"|C|three\\ words", false);
  check_node (&ast->nodes[5], "env", "D|old form value", false);
  check_node (&ast->nodes[6], "label", "\"com.example\"|\"v\"|k|v", false);
  check_node (&ast->nodes[7], "expose", "80/tcp|443", false);
  check_node (&ast->nodes[8], "copy", "a|b|/dst/", false);
  _cleanup_free_ char *flags = join (ast->nodes[8].flags);
  assert_string_equal (flags, "--chown=1:2|--from=build");
  check_node (&ast->nodes[9], "copy", "x y|/z/", true);
  check_node (&ast->nodes[10], "arg", "X|Y=1|Z=", false);
  check_node (&ast->nodes[11], "healthcheck", "CMD|curl -f http://x/", false);
  check_node (&ast->nodes[12], "healthcheck", "NONE", false);
  check_node (&ast->nodes[13], "onbuild", "run|echo trig", false);
  check_node (&ast->nodes[14], "entrypoint", "/bin/sh", false);
  check_node (&ast->nodes[15], "foo", "", false);
  df_ast_free (ast);
}

static void
test_parse_lines (void **state)
{
  (void) state;
  /* comments, blank lines, continuations (also over comment lines), a
   * BOM, CRLF line ends, leading whitespace */
  df_ast_t *ast = parse_ok ("\xef\xbb\xbf# comment\n"
                            "\n"
                            "FROM busybox\r\n"
                            "   RUN echo a \\\n"
                            "# inside\n"
                            "  b \\\n"
                            "  c\n"
                            "RUN echo x \\\\\n"
                            "RUN echo end \\\n");
  assert_int_equal (ast->n, 4);
  check_node (&ast->nodes[0], "from", "busybox", false);
  check_node (&ast->nodes[1], "run", "echo a   b   c", false);
  assert_int_equal (ast->nodes[1].start_line, 4);
  assert_int_equal (ast->nodes[1].end_line, 7);
  check_node (&ast->nodes[2], "run", "echo x \\\\", false);
  check_node (&ast->nodes[3], "run", "echo end", false);
  assert_null (ast->warnings);
  df_ast_free (ast);

  /* an empty continuation line is a warning */
  ast = parse_ok ("FROM busybox\nRUN echo a \\\n\n b\n");
  assert_int_equal (ast->n, 2);
  check_node (&ast->nodes[1], "run", "echo a  b", false);
  assert_non_null (ast->warnings);
  assert_string_equal (ast->warnings[0], "[WARNING]: Empty continuation line found in:\n    RUN echo a  b");
  df_ast_free (ast);
}

static void
test_parse_directives (void **state)
{
  (void) state;
  /* the documentation's Windows example: escape=` */
  df_ast_t *ast = parse_ok ("# escape=`\n"
                            "\n"
                            "FROM microsoft/nanoserver\n"
                            "COPY testfile.txt c:\\\n"
                            "RUN dir c:\\\n"
                            "RUN echo a `\n"
                            "  b\n");
  assert_int_equal (ast->escape, '`');
  assert_int_equal (ast->n, 4);
  check_node (&ast->nodes[1], "copy", "testfile.txt|c:\\", false);
  check_node (&ast->nodes[2], "run", "dir c:\\", false);
  check_node (&ast->nodes[3], "run", "echo a   b", false);
  df_ast_free (ast);
  /* a directive after an instruction or a comment is a comment */
  ast = parse_ok ("FROM x\n# escape=`\nRUN a \\\n b\n");
  assert_int_equal (ast->escape, '\\');
  df_ast_free (ast);
  ast = parse_ok ("# about\n# escape=`\nFROM x\n");
  assert_int_equal (ast->escape, '\\');
  df_ast_free (ast);
  /* case and spaces */
  ast = parse_ok ("#   ESCAPE  =  `  \nFROM x\n");
  assert_int_equal (ast->escape, '`');
  df_ast_free (ast);
  parse_bad ("# escape=`\n# escape=\\\nFROM x\n", "only one escape parser directive can be used");
  parse_bad ("# escape=x\nFROM x\n", "invalid escape token 'x' does not match ` or \\");
  parse_bad ("# just a comment\n\n", "file with no instructions");
  parse_bad ("FROM busybox\nENV A\n", "ENV must have two arguments");
  parse_bad ("FROM busybox\nLABEL a=b c\n",
             "Syntax error - can't find = in \"c\". Must be of the form: name=value");
  parse_bad ("FROM busybox\nCMD [\"a\", 1]\n", "when using JSON array syntax, arrays must be comprised of strings only");
}

static void
test_parse_words (void **state)
{
  (void) state;
  static const struct
  {
    const char *in, *out;
  } cases[] = {
    { "a b  c", "a|b|c" },
    { "a=\"b c\" d", "a=\"b c\"|d" },
    { "a='b \\' c", "a='b \\'|c" },
    { "x\\ y z", "x\\ y|z" },
    { "\"\"", "\"\"" },
    { "end\\", "end" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_strv_ char **w = df_parse_words (cases[i].in, '\\');
      _cleanup_free_ char *j = join (w);
      if (strcmp (j, cases[i].out) != 0)
        fail_msg ("%s: expected %s, got %s", cases[i].in, cases[i].out, j);
    }
}

/* ---- instructions ---------------------------------------------------------------- */

static void
compile_bad (const char *text, const char *msg)
{
  df_ast_t *ast = parse_ok (text);
  dockerfile_t *df = NULL;
  arca_error_t err = { 0 };
  assert_int_equal (dockerfile_compile (ast, &df, &err), -1);
  assert_null (df);
  assert_string_equal (err.msg, msg);
  df_ast_free (ast);
}

static void
test_instructions (void **state)
{
  (void) state;
  df_ast_t *ast = parse_ok ("ARG BASE=busybox\n"
                            "FROM $BASE AS Build\n"
                            "ENV A=1\n"
                            "RUN echo hi\n"
                            "CMD [\"x\"]\n"
                            "ENTRYPOINT []\n"
                            "EXPOSE 90 80/udp\n"
                            "HEALTHCHECK --interval=1m30s --retries=3 CMD [\"true\"]\n"
                            "FROM --platform=linux/amd64 build\n"
                            "ONBUILD  ADD . /app\n");
  dockerfile_t *df = NULL;
  arca_error_t err = { 0 };
  if (dockerfile_compile (ast, &df, &err) < 0)
    fail_msg ("%s", err.msg);
  assert_int_equal (df->n_meta_args, 1);
  assert_int_equal (df->n_stages, 2);
  stage_t *s0 = &df->stages[0];
  assert_string_equal (s0->name, "build");
  assert_string_equal (s0->base, "$BASE");
  assert_string_equal (s0->code, "FROM $BASE AS Build");
  assert_int_equal (s0->n_cmds, 6);
  assert_int_equal (s0->cmds[1].kind, INS_RUN);
  assert_true (s0->cmds[1].prepend_shell);
  assert_int_equal (s0->cmds[2].kind, INS_CMD);
  assert_false (s0->cmds[2].prepend_shell);
  assert_true (s0->cmds[3].cmd_nil);
  _cleanup_free_ char *ports = join (s0->cmds[4].args);
  assert_string_equal (ports, "80/udp|90");
  assert_int_equal (s0->cmds[5].hc_interval, 90000000000LL);
  assert_int_equal (s0->cmds[5].hc_retries, 3);
  assert_string_equal (df->stages[1].platform, "linux/amd64");
  assert_string_equal (df->stages[1].cmds[0].str, "ADD . /app");
  dockerfile_free (df);
  df_ast_free (ast);

  compile_bad ("FROM busybox\nFOO bar\n", "dockerfile parse error line 2: unknown instruction: FOO");
  compile_bad ("RUN x\nFROM busybox\n", "no build stage in current context");
  compile_bad ("FROM busybox as 1x\n",
               "dockerfile parse error line 1: invalid name for build stage: \"1x\", name can't start with a "
               "number or contain symbols");
  compile_bad ("FROM a b\n", "dockerfile parse error line 1: FROM requires either one or three arguments");
  compile_bad ("FROM busybox\nCOPY a\n",
               "dockerfile parse error line 2: COPY requires at least two arguments, but only one was provided. "
               "Destination could not be determined");
  compile_bad ("FROM busybox\nCOPY --foo=1 a b\n", "dockerfile parse error line 2: Unknown flag: foo");
  compile_bad ("FROM busybox\nCOPY --chown a b\n", "dockerfile parse error line 2: Missing a value on flag: chown");
  compile_bad ("FROM busybox\nADD --from=x a b\n", "dockerfile parse error line 2: Unknown flag: from");
  compile_bad ("FROM busybox\nWORKDIR\n", "dockerfile parse error line 2: WORKDIR requires exactly one argument");
  compile_bad ("FROM busybox\nENV --x=1 A=1\n", "dockerfile parse error line 2: Unknown flag: x");
  compile_bad ("FROM busybox\nSHELL /bin/bash -c\n",
               "dockerfile parse error line 2: SHELL requires the arguments to be in JSON form");
  compile_bad ("FROM busybox\nONBUILD ONBUILD RUN x\n",
               "dockerfile parse error line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  compile_bad ("FROM busybox\nONBUILD FROM x\n",
               "dockerfile parse error line 2: FROM isn't allowed as an ONBUILD trigger");
  compile_bad ("FROM busybox\nHEALTHCHECK --interval=0s CMD x\n",
               "dockerfile parse error line 2: Interval \"interval\" cannot be less than 1ms");
  compile_bad ("FROM busybox\nHEALTHCHECK --retries=0 CMD x\n",
               "dockerfile parse error line 2: --retries must be at least 1 (not 0)");
  compile_bad ("FROM busybox\nHEALTHCHECK FOO x\n",
               "dockerfile parse error line 2: Unknown type \"FOO\" in HEALTHCHECK (try CMD)");
  compile_bad ("FROM busybox\nHEALTHCHECK NONE x\n", "dockerfile parse error line 2: HEALTHCHECK NONE takes no arguments");
  compile_bad ("FROM busybox\nHEALTHCHECK CMD\n", "dockerfile parse error line 2: Missing command after HEALTHCHECK CMD");
  compile_bad ("FROM busybox\nARG =x\n", "dockerfile parse error line 2: ARG names can not be blank");
  compile_bad ("FROM busybox\nEXPOSE\n", "dockerfile parse error line 2: EXPOSE requires at least one argument");
}

/* ---- .dockerignore ----------------------------------------------------------------- */

static int
ignored (const char *file, const char *ignore_file)
{
  _cleanup_strv_ char **p = dockerignore_read (ignore_file, strlen (ignore_file));
  arca_error_t err = { 0 };
  return dockerignore_matches (file, p, &err);
}

static void
test_dockerignore_read (void **state)
{
  (void) state;
  const char *text = "# comment\n"
                     "\n"
                     "  */temp*  \n"
                     "/abs/../path/\n"
                     "! keep.md\n"
                     "./a//b\r\n";
  _cleanup_strv_ char **p = dockerignore_read (text, strlen (text));
  _cleanup_free_ char *j = join (p);
  assert_string_equal (j, "*/temp*|path|!keep.md|a/b");
}

static void
test_dockerignore_match (void **state)
{
  (void) state;
  /* the reference's example */
  const char *doc = "# comment\n*/temp*\n*/*/temp*\ntemp?\n";
  assert_int_equal (ignored ("somedir/temporary.txt", doc), 1);
  assert_int_equal (ignored ("somedir/temp", doc), 1);
  assert_int_equal (ignored ("somedir/subdir/temporary.txt", doc), 1);
  assert_int_equal (ignored ("tempa", doc), 1);
  assert_int_equal (ignored ("tempb/x", doc), 1); /* a parent directory matches */
  assert_int_equal (ignored ("temp", doc), 0);
  assert_int_equal (ignored ("temporary.txt", doc), 0);
  assert_int_equal (ignored ("a/b/c/temp", doc), 0);
  /* ** matches any number of directories */
  assert_int_equal (ignored ("x.go", "**/*.go\n"), 1);
  assert_int_equal (ignored ("a/b/c.go", "**/*.go\n"), 1);
  assert_int_equal (ignored ("a/b/c.gox", "**/*.go\n"), 0);
  assert_int_equal (ignored ("a/b", "a/**\n"), 1);
  /* exceptions: the last matching line decides */
  assert_int_equal (ignored ("README.md", "*.md\n!README.md\n"), 0);
  assert_int_equal (ignored ("CHANGES.md", "*.md\n!README.md\n"), 1);
  assert_int_equal (ignored ("README-secret.md", "*.md\nREADME-secret.md\n!README*.md\n"), 0);
  assert_int_equal (ignored ("README-secret.md", "*.md\n!README*.md\nREADME-secret.md\n"), 1);
  assert_int_equal (ignored ("README-other.md", "*.md\n!README*.md\nREADME-secret.md\n"), 0);
  /* the Dockerfile and .dockerignore themselves */
  assert_int_equal (ignored ("Dockerfile", "Dockerfile\n.dockerignore\n"), 1);
  assert_int_equal (ignored (".dockerignore", "*\n"), 1);
  assert_int_equal (ignored (".dockerignore", "*\n!.dockerignore\n"), 0);
  /* "." never matches; escapes; dots are literal */
  assert_int_equal (ignored (".", "*\n"), 0);
  assert_int_equal (ignored ("a*b", "a\\*b\n"), 1);
  assert_int_equal (ignored ("axb", "a\\*b\n"), 0);
  assert_int_equal (ignored ("fileXtxt", "file.txt\n"), 0);
  assert_int_equal (ignored ("dir/file", "dir\n"), 1);
  assert_int_equal (ignored ("dir/sub/file", "dir/sub\n"), 1);
  /* bad patterns */
  _cleanup_strv_ char **bad = strv_append (xmalloc0 (sizeof (char *)), "[a-");
  arca_error_t err = { 0 };
  assert_int_equal (dockerignore_matches ("a", bad, &err), -1);
  assert_string_equal (err.msg, "syntax error in pattern");
  _cleanup_strv_ char **bang = strv_append (xmalloc0 (sizeof (char *)), "!");
  assert_int_equal (dockerignore_matches ("a", bang, &err), -1);
  assert_string_equal (err.msg, "illegal exclusion pattern: \"!\"");
}

static void
test_path_clean (void **state)
{
  (void) state;
  static const char *const cases[][2] = {
    { "", "." },       { "a/b/", "a/b" },    { "/../a", "/a" }, { "a/../../b", "../b" }, { "./a//b/./c", "a/b/c" },
    { "/", "/" },      { "..", ".." },       { "a/..", "." },   { "/a/b/../../..", "/" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      _cleanup_free_ char *c = path_clean (cases[i][0]);
      assert_string_equal (c, cases[i][1]);
    }
}

/* ---- Go formatting --------------------------------------------------------------------- */

static void
test_gofmt (void **state)
{
  (void) state;
  static const struct
  {
    int64_t ns;
    const char *s;
  } durations[] = {
    { 0, "0s" },           { 5000000000LL, "5s" },       { 90000000000LL, "1m30s" },
    { 3600000000000LL, "1h0m0s" }, { 1500000000LL, "1.5s" }, { 500000000LL, "500ms" },
    { 1000000LL, "1ms" },  { 2000LL, "2\xc2\xb5s" },      { 7LL, "7ns" },
    { -5000000000LL, "-5s" }, { 3723000000000LL, "1h2m3s" },
  };
  for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++)
    {
      _cleanup_free_ char *s = go_duration_string (durations[i].ns);
      assert_string_equal (s, durations[i].s);
    }
  _cleanup_free_ char *q = go_quote ("a \"b\"\n\t\\\x01");
  assert_string_equal (q, "\"a \\\"b\\\"\\n\\t\\\\\\x01\"");
  _cleanup_free_ char *r3 = go_quote_rune (3);
  assert_string_equal (r3, "'\\x03'");
  _cleanup_free_ char *r65 = go_quote_rune (65);
  assert_string_equal (r65, "'A'");
  char *v[] = { "/bin/sh", "-c", "echo \"hi\"", NULL };
  _cleanup_free_ char *sq = go_strv_q (v);
  assert_string_equal (sq, "[\"/bin/sh\" \"-c\" \"echo \\\"hi\\\"\"]");
  _cleanup_free_ char *sv = go_strv_v (v);
  assert_string_equal (sv, "[/bin/sh -c echo \"hi\"]");
  _cleanup_free_ char *empty = go_strv_q (NULL);
  assert_string_equal (empty, "[]");
  _cleanup_free_ char *u = utf8_sanitize ("a\xff" "b\xc3\xa9", 5);
  assert_string_equal (u, "a\xef\xbf\xbd" "b\xc3\xa9");
}

/* ---- commit/import --change (moby BuildFromConfig) ------------------------------------ */

static char *
changes_result (const char *base, char **changes, arca_error_t *err)
{
  json_error_t je;
  _cleanup_json_ json_t *c = json_loads (base, 0, &je);
  if (build_apply_changes (c, changes, err) < 0)
    return NULL;
  return json_dumps (c, JSON_COMPACT | JSON_SORT_KEYS);
}

/* Expected values from dockerd 20.10 (docker commit --change on a
 * busybox container, inspected). */
static void
test_changes (void **state)
{
  arca_error_t err;
  char *c1[] = { "ENV A=1", "ENV B=$A", "WORKDIR rel", "EXPOSE 80 90/udp", "LABEL x=$A", NULL };
  _cleanup_free_ char *r1 = changes_result ("{\"Env\":[\"PATH=/bin\"]}", c1, &err);
  assert_non_null (r1);
  assert_string_equal (r1, "{\"Env\":[\"PATH=/bin\",\"A=1\",\"B=1\"],\"ExposedPorts\":{\"80/tcp\":{},\"90/udp\":{}},"
                           "\"Labels\":{\"x\":\"1\"},\"WorkingDir\":\"/rel\"}");
  /* ENTRYPOINT without a CMD in the same changes clears Cmd */
  char *c2[] = { "ENTRYPOINT [\"echo\"]", NULL };
  _cleanup_free_ char *r2 = changes_result ("{\"Cmd\":[\"sh\"]}", c2, &err);
  assert_string_equal (r2, "{\"Cmd\":null,\"Entrypoint\":[\"echo\"]}");
  char *c3[] = { "CMD [\"a\"]\nENTRYPOINT [\"echo\"]", NULL };
  _cleanup_free_ char *r3 = changes_result ("{}", c3, &err);
  assert_string_equal (r3, "{\"Cmd\":[\"a\"],\"Entrypoint\":[\"echo\"]}");
  char *c4[] = { "HEALTHCHECK --interval=5s --retries=2 CMD [\"true\"]", "ONBUILD RUN x", "USER 1:2",
                 "VOLUME /a /b", NULL };
  _cleanup_free_ char *r4 = changes_result ("{}", c4, &err);
  assert_string_equal (r4, "{\"Healthcheck\":{\"Interval\":5000000000,\"Retries\":2,\"Test\":[\"CMD\",\"true\"]},"
                           "\"OnBuild\":[\"RUN x\"],\"User\":\"1:2\",\"Volumes\":{\"/a\":{},\"/b\":{}}}");
  static const struct
  {
    const char *change, *msg;
  } bad[] = {
    { "BOGUS x", "bogus is not a valid change command" },
    { "RUN x", "run is not a valid change command" },
    { "STOPSIGNAL FOO", "stopsignal is not a valid change command" },
    { "HEALTHCHECK --interval=5s --retries=0 CMD true", "--retries must be at least 1 (not 0)" },
    { "HEALTHCHECK --foo=1 CMD true", "Unknown flag: foo" },
    { "HEALTHCHECK --interval=5 CMD true", "time: missing unit in duration \"5\"" },
    { "HEALTHCHECK --interval=5q CMD true", "time: unknown unit \"q\" in duration \"5q\"" },
    { "HEALTHCHECK --interval=x CMD true", "time: invalid duration \"x\"" },
    { "HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD" },
    { "HEALTHCHECK", "HEALTHCHECK requires at least one argument" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      char *c[] = { (char *) bad[i].change, NULL };
      _cleanup_free_ char *r = changes_result ("{}", c, &err);
      assert_null (r);
      assert_int_equal (err.kind, ARCA_ERR_INVALID);
      assert_string_equal (err.msg, bad[i].msg);
    }
  /* nothing applied when a later change is refused */
  char *c5[] = { "ENV A=1", "RUN x", NULL };
  json_t *c = json_object ();
  assert_int_equal (build_apply_changes (c, c5, &err), -1);
  assert_int_equal (json_object_size (c), 0);
  json_decref (c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_process_word),
    cmocka_unit_test (test_process_word_messages),
    cmocka_unit_test (test_process_words),
    cmocka_unit_test (test_env_replacement_doc),
    cmocka_unit_test (test_parse_forms),
    cmocka_unit_test (test_parse_lines),
    cmocka_unit_test (test_parse_directives),
    cmocka_unit_test (test_parse_words),
    cmocka_unit_test (test_instructions),
    cmocka_unit_test (test_dockerignore_read),
    cmocka_unit_test (test_dockerignore_match),
    cmocka_unit_test (test_path_clean),
    cmocka_unit_test (test_gofmt),
    cmocka_unit_test (test_changes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

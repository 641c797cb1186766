/* Dockerfile parser after buildkit's frontend/dockerfile/parser (moby 20.10
 * vendor): parser.go (lines, directives, continuations), split_command.go
 * (instruction and builder flags) and line_parsers.go (argument forms). */
#include "build/parser.h"

#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/strutil.h"

/* bufio.MaxScanTokenSize: a longer line is an error. */
#define MAX_LINE 65536

typedef struct
{
  char escape;
  bool done;            /* no more parser directives */
  bool seen_escape, seen_syntax;
} directives_t;

/* ---- character classes ------------------------------------------------------------ */

/* unicode.IsSpace for a byte taken as a rune, as split_command.go and
 * line_parsers.go's byte loops do. */
static bool
byte_is_space (unsigned char c)
{
  return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xa0;
}

/* reWhitespace: [\t\v\f\r ] */
static bool
re_ws (unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/* Decode one UTF-8 rune (invalid bytes: one rune each). */
static uint32_t
decode_rune (const unsigned char *p, size_t left, size_t *n)
{
  if (p[0] < 0x80 || left < 2)
    {
      *n = 1;
      return p[0];
    }
  size_t want = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 1;
  if (want > left || want == 1)
    {
      *n = 1;
      return 0xfffd;
    }
  uint32_t cp = want == 2 ? p[0] & 0x1f : want == 3 ? p[0] & 0x0f : p[0] & 0x07;
  for (size_t i = 1; i < want; i++)
    {
      if ((p[i] & 0xc0) != 0x80)
        {
          *n = 1;
          return 0xfffd;
        }
      cp = (cp << 6) | (p[i] & 0x3f);
    }
  *n = want;
  return cp;
}

/* unicode.IsSpace */
static bool
rune_is_space (uint32_t r)
{
  if (r < 0x100)
    return byte_is_space ((unsigned char) r);
  return r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f
         || r == 0x3000;
}

/* Length of the leading unicode whitespace of s[0..len). */
static size_t
leading_space (const char *s, size_t len)
{
  size_t i = 0;
  while (i < len)
    {
      size_t n;
      uint32_t r = decode_rune ((const unsigned char *) s + i, len - i, &n);
      if (!rune_is_space (r))
        break;
      i += n;
    }
  return i;
}

/* strings.TrimSpace, as a new string. */
static char *
trim_space (const char *s)
{
  size_t len = strlen (s);
  size_t a = leading_space (s, len);
  size_t b = len;
  while (b > a)
    {
      /* walk back one rune */
      size_t st = b - 1;
      while (st > a && ((unsigned char) s[st] & 0xc0) == 0x80)
        st--;
      size_t n;
      uint32_t r = decode_rune ((const unsigned char *) s + st, b - st, &n);
      if (st + n != b || !rune_is_space (r))
        break;
      b = st;
    }
  char *out = xmalloc0 (b - a + 1);
  memcpy (out, s + a, b - a);
  return out;
}

/* ---- nodes -------------------------------------------------------------------------- */

void
df_node_clear (df_node_t *n)
{
  if (n == NULL)
    return;
  free (n->cmd);
  strv_free (n->flags);
  strv_free (n->args);
  free (n->original);
  if (n->sub)
    {
      df_node_clear (n->sub);
      free (n->sub);
    }
  memset (n, 0, sizeof *n);
}

void
df_ast_free (df_ast_t *ast)
{
  if (ast == NULL)
    return;
  for (size_t i = 0; i < ast->n; i++)
    df_node_clear (&ast->nodes[i]);
  free (ast->nodes);
  strv_free (ast->warnings);
  free (ast);
}

static char **
strv_new (void)
{
  return xmalloc0 (sizeof (char *));
}

/* ---- directives (parser.go) ------------------------------------------------------------ */

/* reDirectives: ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ with \s the
 * RE2 class [\t\n\f\r ]. */
static bool
re_s (char c)
{
  return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

static bool
match_directive (const char *line, char **key, char **value)
{
  const char *p = line;
  if (*p != '#')
    return false;
  p++;
  while (re_s (*p))
    p++;
  if (!isalpha ((unsigned char) *p))
    return false;
  const char *k = p;
  while (isalnum ((unsigned char) *p))
    p++;
  size_t klen = (size_t) (p - k);
  while (re_s (*p))
    p++;
  if (*p != '=')
    return false;
  p++;
  while (re_s (*p))
    p++;
  size_t vlen = strlen (p);
  while (vlen > 0 && re_s (p[vlen - 1]))
    vlen--;
  if (vlen == 0)
    return false;
  *key = strndup (k, klen);
  for (char *c = *key; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  *value = strndup (p, vlen);
  return true;
}

static int
possible_directive (directives_t *d, const char *line, arca_error_t *err)
{
  if (d->done)
    return 0;
  _cleanup_free_ char *key = NULL;
  _cleanup_free_ char *value = NULL;
  if (!match_directive (line, &key, &value))
    {
      d->done = true;
      return 0;
    }
  bool *seen = strcmp (key, "escape") == 0 ? &d->seen_escape : strcmp (key, "syntax") == 0 ? &d->seen_syntax : NULL;
  if (seen == NULL)
    {
      d->done = true;
      return 0;
    }
  if (*seen)
    return arca_error_set (err, ARCA_ERR_INVALID, "only one %s parser directive can be used", key);
  *seen = true;
  if (seen == &d->seen_escape)
    {
      if (strcmp (value, "`") != 0 && strcmp (value, "\\") != 0)
        return arca_error_set (err, ARCA_ERR_INVALID, "invalid escape token '%s' does not match ` or \\", value);
      d->escape = value[0];
    }
  return 0;
}

/* ---- line helpers (parser.go) -------------------------------------------------------------- */

static bool
is_comment (const char *line)
{
  return line[leading_space (line, strlen (line))] == '#';
}

/* processLine: optionally strip leading whitespace, drop a comment line,
 * and look for a parser directive. */
static int
process_line (directives_t *d, const char *token, bool strip_left, char **out, arca_error_t *err)
{
  if (strip_left)
    token += leading_space (token, strlen (token));
  *out = xstrdup (token[0] == '#' ? "" : token);
  return possible_directive (d, token, err);
}

/* lineContinuationRegex: ([^\e])\e[ \t]*$ | ^\e[ \t]*$ -> "$1". */
static bool
trim_continuation (char *line, char escape)
{
  size_t len = strlen (line);
  size_t end = len;
  while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t'))
    end--;
  if (end == 0 || line[end - 1] != escape)
    return true;
  size_t esc = end - 1;
  if (esc == 0)
    {
      line[0] = '\0';
      return false;
    }
  if (line[esc - 1] == escape)
    return true; /* an escaped escape is not a continuation */
  line[esc] = '\0';
  return false;
}

/* ---- split_command.go ---------------------------------------------------------------------- */

/* extractBuilderFlags: leading "--flag" words (quotes and backslashes
 * processed); *rest_out is the remaining text. */
static void
extract_builder_flags (const char *line, char ***flags, char **rest_out)
{
  enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
  char **words = strv_new ();
  arca_buf_t word = { 0 };
  buf_append (&word, "", 0);
  char quote = 0;
  bool blank_ok = false;
  size_t len = strlen (line);
  *rest_out = NULL;
  for (size_t pos = 0; pos <= len; pos++)
    {
      char ch = pos != len ? line[pos] : 0;
      if (phase == IN_SPACES)
        {
          if (pos == len)
            break;
          if (byte_is_space ((unsigned char) ch))
            continue;
          if (ch != '-' || pos + 1 == len || line[pos + 1] != '-')
            {
              *rest_out = xstrdup (line + pos);
              goto out;
            }
          phase = IN_WORD;
        }
      if ((phase == IN_WORD || phase == IN_QUOTE) && pos == len)
        {
          if (strcmp (word.data, "--") != 0 && (blank_ok || word.len > 0))
            words = strv_append (words, word.data);
          break;
        }
      if (phase == IN_WORD)
        {
          if (byte_is_space ((unsigned char) ch))
            {
              phase = IN_SPACES;
              if (strcmp (word.data, "--") == 0)
                {
                  *rest_out = xstrdup (line + pos);
                  goto out;
                }
              if (blank_ok || word.len > 0)
                words = strv_append (words, word.data);
              word.len = 0;
              word.data[0] = '\0';
              blank_ok = false;
              continue;
            }
          if (ch == '\'' || ch == '"')
            {
              quote = ch;
              blank_ok = true;
              phase = IN_QUOTE;
              continue;
            }
          if (ch == '\\')
            {
              if (pos + 1 == len)
                continue;
              ch = line[++pos];
            }
          buf_append (&word, &ch, 1);
          continue;
        }
      if (phase == IN_QUOTE)
        {
          if (ch == quote)
            {
              phase = IN_WORD;
              continue;
            }
          if (ch == '\\')
            {
              if (pos + 1 == len)
                {
                  phase = IN_WORD;
                  continue;
                }
              ch = line[++pos];
            }
          buf_append (&word, &ch, 1);
        }
    }
out:
  if (*rest_out == NULL)
    *rest_out = xstrdup ("");
  buf_free (&word);
  *flags = words;
}

/* splitCommand: instruction (lower-cased), flags, and the trimmed rest. */
static void
split_command (const char *line, char **cmd, char ***flags, char **args)
{
  _cleanup_free_ char *t = trim_space (line);
  size_t i = 0;
  while (t[i] && !re_ws ((unsigned char) t[i]))
    i++;
  *cmd = strndup (t, i);
  for (char *c = *cmd; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  size_t j = i;
  while (t[j] && re_ws ((unsigned char) t[j]))
    j++;
  _cleanup_free_ char *rest = NULL;
  if (t[i] != '\0')
    extract_builder_flags (t + j, flags, &rest);
  else
    *flags = strv_new ();
  *args = trim_space (rest ? rest : "");
}

/* ---- line_parsers.go ---------------------------------------------------------------------- */

char **
df_parse_words (const char *rest, char escape)
{
  enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
  char **words = strv_new ();
  arca_buf_t word = { 0 };
  buf_append (&word, "", 0);
  uint32_t quote = 0;
  bool blank_ok = false;
  const unsigned char *s = (const unsigned char *) rest;
  size_t len = strlen (rest);
  uint32_t ch = 0;
  size_t w = 0;
  for (size_t pos = 0; pos <= len; pos += w)
    {
      if (pos != len)
        ch = decode_rune (s + pos, len - pos, &w);
      else
        w = 1; /* the loop ends after this round */
      if (phase == IN_SPACES)
        {
          if (pos == len)
            break;
          if (rune_is_space (ch))
            continue;
          phase = IN_WORD;
        }
      if ((phase == IN_WORD || phase == IN_QUOTE) && pos == len)
        {
          if (blank_ok || word.len > 0)
            words = strv_append (words, word.data);
          break;
        }
      if (phase == IN_WORD)
        {
          if (rune_is_space (ch))
            {
              phase = IN_SPACES;
              if (blank_ok || word.len > 0)
                words = strv_append (words, word.data);
              word.len = 0;
              word.data[0] = '\0';
              blank_ok = false;
              continue;
            }
          if (ch == '\'' || ch == '"')
            {
              quote = ch;
              blank_ok = true;
              phase = IN_QUOTE;
            }
          if (ch == (uint32_t) (unsigned char) escape)
            {
              if (pos + w == len)
                continue; /* an escape at the end of the line is dropped */
              /* unquoted: keep the escape and the rune after it, even a quote */
              buf_append (&word, (const char *) s + pos, w);
              pos += w;
              ch = decode_rune (s + pos, len - pos, &w);
            }
          buf_append (&word, (const char *) s + pos, w);
          continue;
        }
      if (phase == IN_QUOTE)
        {
          if (ch == quote)
            phase = IN_WORD;
          /* the escape is special except inside '' */
          if (ch == (uint32_t) (unsigned char) escape && quote != '\'')
            {
              if (pos + w == len)
                {
                  phase = IN_WORD;
                  continue;
                }
              buf_append (&word, (const char *) s + pos, w);
              pos += w;
              ch = decode_rune (s + pos, len - pos, &w);
            }
          buf_append (&word, (const char *) s + pos, w);
        }
    }
  buf_free (&word);
  return words;
}

static void
args_push (df_node_t *n, const char *s)
{
  n->args = strv_append (n->args, s);
}

/* parseStringsWhitespaceDelimited */
static void
parse_ws_delimited (const char *rest, df_node_t *n)
{
  const char *p = rest;
  if (*p == '\0')
    return;
  for (;;)
    {
      size_t i = 0;
      while (p[i] && !re_ws ((unsigned char) p[i]))
        i++;
      _cleanup_free_ char *part = strndup (p, i);
      args_push (n, part);
      if (p[i] == '\0')
        break;
      p += i;
      while (re_ws ((unsigned char) *p))
        p++;
    }
}

/* parseJSON: 1 = a JSON array of strings (args set), 0 = not JSON,
 * -1 = a JSON array with a non-string element (an error). */
static int
parse_json (const char *rest, df_node_t *n, arca_error_t *err)
{
  rest += leading_space (rest, strlen (rest));
  if (*rest != '[')
    return 0;
  /* json.Decoder reads one value and ignores what follows it */
  _cleanup_json_ json_t *v = json_loads (rest, JSON_DISABLE_EOF_CHECK, NULL);
  if (!json_is_array (v))
    return 0;
  size_t i;
  json_t *e;
  json_array_foreach (v, i, e)
    if (!json_is_string (e))
      return arca_error_set (err, ARCA_ERR_INVALID,
                             "when using JSON array syntax, arrays must be comprised of strings only");
  json_array_foreach (v, i, e)
    args_push (n, json_string_value (e));
  n->json = true;
  return 1;
}

/* parseMaybeJSON: exec form, or the whole rest as one argument */
static int
parse_maybe_json (const char *rest, df_node_t *n, arca_error_t *err)
{
  if (*rest == '\0')
    return 0;
  int r = parse_json (rest, n, err);
  if (r < 0)
    return -1;
  if (r == 0)
    args_push (n, rest);
  return 0;
}

/* parseMaybeJSONToList: exec form, or whitespace-separated words */
static int
parse_maybe_json_to_list (const char *rest, df_node_t *n, arca_error_t *err)
{
  int r = parse_json (rest, n, err);
  if (r < 0)
    return -1;
  if (r == 0)
    parse_ws_delimited (rest, n);
  return 0;
}

/* parseNameVal (ENV, LABEL): "key value" (old form) or key=value... */
static int
parse_name_val (const char *rest, const char *key, df_node_t *n, char escape, arca_error_t *err)
{
  _cleanup_strv_ char **words = df_parse_words (rest, escape);
  if (words[0] == NULL)
    return 0;
  if (strchr (words[0], '=') == NULL)
    {
      size_t i = 0;
      while (rest[i] && !re_ws ((unsigned char) rest[i]))
        i++;
      if (rest[i] == '\0')
        return arca_error_set (err, ARCA_ERR_INVALID, "%s must have two arguments", key);
      _cleanup_free_ char *k = strndup (rest, i);
      while (re_ws ((unsigned char) rest[i]))
        i++;
      args_push (n, k);
      args_push (n, rest + i);
      return 0;
    }
  for (size_t i = 0; words[i]; i++)
    {
      char *eq = strchr (words[i], '=');
      if (eq == NULL)
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "Syntax error - can't find = in \"%s\". Must be of the form: name=value", words[i]);
      *eq = '\0';
      args_push (n, words[i]);
      args_push (n, eq + 1);
    }
  return 0;
}

/* parseHealthConfig: the type word, then maybe-JSON */
static int
parse_health (const char *rest, df_node_t *n, arca_error_t *err)
{
  size_t sep = 0;
  while (rest[sep] && !byte_is_space ((unsigned char) rest[sep]))
    sep++;
  size_t next = sep;
  while (rest[next] && byte_is_space ((unsigned char) rest[next]))
    next++;
  if (sep == 0)
    return 0;
  _cleanup_free_ char *typ = strndup (rest, sep);
  args_push (n, typ);
  return parse_maybe_json (rest + next, n, err);
}

static int new_node_from_line (const char *line, directives_t *d, df_node_t *n, arca_error_t *err);

/* parseSubCommand (ONBUILD) */
static int
parse_sub_command (const char *rest, df_node_t *n, directives_t *d, arca_error_t *err)
{
  if (*rest == '\0')
    return 0;
  n->sub = xmalloc0 (sizeof *n->sub);
  if (new_node_from_line (rest, d, n->sub, err) < 0)
    return -1;
  args_push (n, n->sub->cmd);
  for (size_t i = 0; n->sub->args && n->sub->args[i]; i++)
    args_push (n, n->sub->args[i]);
  return 0;
}

static int
new_node_from_line (const char *line, directives_t *d, df_node_t *n, arca_error_t *err)
{
  _cleanup_free_ char *rest = NULL;
  split_command (line, &n->cmd, &n->flags, &rest);
  n->original = xstrdup (line);
  n->args = strv_new ();
  const char *c = n->cmd;
  if (strcmp (c, "add") == 0 || strcmp (c, "copy") == 0 || strcmp (c, "volume") == 0)
    return parse_maybe_json_to_list (rest, n, err);
  if (strcmp (c, "cmd") == 0 || strcmp (c, "entrypoint") == 0 || strcmp (c, "run") == 0 || strcmp (c, "shell") == 0)
    return parse_maybe_json (rest, n, err);
  if (strcmp (c, "env") == 0)
    return parse_name_val (rest, "ENV", n, d->escape, err);
  if (strcmp (c, "label") == 0)
    return parse_name_val (rest, "LABEL", n, d->escape, err);
  if (strcmp (c, "arg") == 0)
    {
      strv_free (n->args);
      n->args = df_parse_words (rest, d->escape);
      return 0;
    }
  if (strcmp (c, "expose") == 0 || strcmp (c, "from") == 0)
    {
      parse_ws_delimited (rest, n);
      return 0;
    }
  if (strcmp (c, "healthcheck") == 0)
    return parse_health (rest, n, err);
  if (strcmp (c, "maintainer") == 0 || strcmp (c, "stopsignal") == 0 || strcmp (c, "user") == 0
      || strcmp (c, "workdir") == 0)
    {
      if (*rest)
        args_push (n, rest);
      return 0;
    }
  if (strcmp (c, "onbuild") == 0)
    return parse_sub_command (rest, n, d, err);
  return 0; /* unknown instructions parse; instructions.c refuses them */
}

/* ---- Parse ---------------------------------------------------------------------------------- */

typedef struct
{
  const char *data;
  size_t len, pos;
  bool too_long;
} scanner_t;

/* bufio.ScanLines: the next line without "\n" (and one trailing "\r"). */
static bool
scan_line (scanner_t *sc, char **line)
{
  if (sc->pos >= sc->len || sc->too_long)
    return false;
  const char *start = sc->data + sc->pos;
  const char *nl = memchr (start, '\n', sc->len - sc->pos);
  size_t n = nl ? (size_t) (nl - start) : sc->len - sc->pos;
  if (n >= MAX_LINE)
    {
      sc->too_long = true;
      return false;
    }
  sc->pos += n + (nl ? 1 : 0);
  if (n > 0 && start[n - 1] == '\r')
    n--;
  /* a NUL byte would end the C string early: Dockerfiles are text */
  *line = strndup (start, n);
  return true;
}

static void
ast_add (df_ast_t *ast, df_node_t *n)
{
  ast->nodes = xrealloc (ast->nodes, (ast->n + 1) * sizeof *ast->nodes);
  ast->nodes[ast->n++] = *n;
}

int
dockerfile_parse (const char *data, size_t len, df_ast_t **out, int *err_line, arca_error_t *err)
{
  directives_t d = { .escape = '\\' };
  scanner_t sc = { .data = data, .len = len };
  df_ast_t *ast = xmalloc0 (sizeof *ast);
  int current = 0;
  char *raw = NULL;
  int line_no = 0;
#define FAIL(l)                                                                                                        \
  do                                                                                                                   \
    {                                                                                                                  \
      line_no = (l);                                                                                                   \
      goto fail;                                                                                                       \
    }                                                                                                                  \
  while (0)

  while (scan_line (&sc, &raw))
    {
      const char *bytes = raw;
      if (current == 0 && strncmp (bytes, "\xef\xbb\xbf", 3) == 0)
        bytes += 3;
      _cleanup_free_ char *line = NULL;
      if (process_line (&d, bytes, true, &line, err) < 0)
        FAIL (current + 1);
      free (raw);
      raw = NULL;
      current++;
      int start = current;
      bool eol = trim_continuation (line, d.escape);
      if (eol && line[0] == '\0')
        continue;
      arca_buf_t full = { 0 };
      buf_append (&full, line, strlen (line));
      bool empty_continuation = false;
      while (!eol && scan_line (&sc, &raw))
        {
          _cleanup_free_ char *cont = NULL;
          if (process_line (&d, raw, false, &cont, err) < 0)
            {
              buf_free (&full);
              FAIL (current + 1);
            }
          current++;
          bool comment = is_comment (raw);
          free (raw);
          raw = NULL;
          if (comment)
            continue;
          if (cont[leading_space (cont, strlen (cont))] == '\0')
            {
              empty_continuation = true;
              continue;
            }
          eol = trim_continuation (cont, d.escape);
          buf_append (&full, cont, strlen (cont));
        }
      if (empty_continuation)
        {
          char *w = xasprintf ("[WARNING]: Empty continuation line found in:\n    %s", full.data);
          ast->warnings = strv_append (ast->warnings, w);
          free (w);
        }
      df_node_t n = { 0 };
      int r = new_node_from_line (full.data, &d, &n, err);
      buf_free (&full);
      if (r < 0)
        {
          df_node_clear (&n);
          FAIL (start);
        }
      n.start_line = start;
      n.end_line = current;
      ast_add (ast, &n);
    }
  if (sc.too_long)
    {
      arca_error_set (err, ARCA_ERR_INVALID, "dockerfile line greater than max allowed size of %d", MAX_LINE - 1);
      FAIL (current + 1);
    }
  if (ast->warnings)
    ast->warnings
        = strv_append (ast->warnings, "[WARNING]: Empty continuation lines will become errors in a future release.");
  if (ast->n == 0)
    {
      arca_error_set (err, ARCA_ERR_INVALID, "file with no instructions");
      FAIL (current);
    }
  ast->escape = d.escape;
  *out = ast;
  return 0;
fail:
  free (raw);
  df_ast_free (ast);
  if (err_line)
    *err_line = line_no;
  return -1;
#undef FAIL
}

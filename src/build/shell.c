/* Dockerfile word expansion after buildkit's shell/lex.go (moby 20.10
 * vendor): a recursive scanner over the word's runes that builds both the
 * expanded string (ProcessWord) and its split into words (ProcessWords). */
#include "build/shell.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "build/gofmt.h"
#include "util/cleanup.h"
#include "util/strutil.h"

#define LEX_EOF (-1)

typedef struct
{
  const char *s;
  size_t pos, len;
  char **env;
  char escape;
} lexer_t;

/* The words split so far (lex.go wordsStruct). */
typedef struct
{
  arca_buf_t word;
  char **words;
  bool in_word;
} words_t;

/* Decode the rune at s[pos]: its code point (invalid bytes count as one
 * rune of their own value, kept verbatim) and byte length. */
static int32_t
rune_at (const lexer_t *l, size_t pos, size_t *n)
{
  const unsigned char *p = (const unsigned char *) l->s + pos;
  size_t left = l->len - pos;
  if (left == 0)
    {
      *n = 0;
      return LEX_EOF;
    }
  if (p[0] < 0x80)
    {
      *n = 1;
      return p[0];
    }
  size_t want = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 1;
  if (want > left)
    want = 1;
  int32_t cp = want == 2 ? p[0] & 0x1f : want == 3 ? p[0] & 0x0f : want == 4 ? p[0] & 0x07 : p[0];
  for (size_t i = 1; i < want; i++)
    {
      if ((p[i] & 0xc0) != 0x80)
        {
          *n = 1;
          return p[0];
        }
      cp = (cp << 6) | (p[i] & 0x3f);
    }
  *n = want;
  return cp;
}

static int32_t
peek (const lexer_t *l)
{
  size_t n;
  return rune_at (l, l->pos, &n);
}

/* Consume one rune; *start and *n locate its bytes in the source. */
static int32_t
next_rune (lexer_t *l, size_t *start, size_t *n)
{
  size_t len;
  int32_t r = rune_at (l, l->pos, &len);
  if (start)
    *start = l->pos;
  if (n)
    *n = len;
  l->pos += len;
  return r;
}

/* unicode.IsSpace */
static bool
is_space (int32_t r)
{
  switch (r)
    {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200a;
    }
}

/* unicode.IsDigit / IsLetter, exact for ASCII; other runes past U+00BF
 * count as letters (names with accented letters work as in Go). */
static bool
is_digit (int32_t r)
{
  return r >= '0' && r <= '9';
}

static bool
is_letter (int32_t r)
{
  return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r == 0xaa || r == 0xb5 || r == 0xba
         || (r >= 0xc0 && r != 0xd7 && r != 0xf7 && !is_space (r));
}

static void
words_add_raw (words_t *w, const char *p, size_t n)
{
  buf_append (&w->word, p, n);
  w->in_word = true;
}

static void
words_flush (words_t *w)
{
  if (w->word.len > 0)
    {
      w->words = strv_append (w->words, w->word.data);
      w->word.len = 0;
      w->word.data[0] = '\0';
      w->in_word = false;
    }
}

/* addChar: whitespace ends the current word, other runes extend it. */
static void
words_add_char (words_t *w, int32_t r, const char *p, size_t n)
{
  if (is_space (r) && w->in_word)
    {
      if (w->word.len != 0)
        words_flush (w);
    }
  else if (!is_space (r))
    words_add_raw (w, p, n);
}

/* addString: a substituted value is split like unquoted text. */
static void
words_add_string (words_t *w, const char *s)
{
  lexer_t tmp = { .s = s, .len = strlen (s) };
  while (tmp.pos < tmp.len)
    {
      size_t st, n;
      int32_t r = next_rune (&tmp, &st, &n);
      words_add_char (w, r, s + st, n);
    }
}

static const char *
env_get (const lexer_t *l, const char *name, bool *found)
{
  const char *value = NULL;
  size_t nlen = strlen (name);
  for (char **e = l->env; e && *e; e++)
    {
      const char *eq = strchr (*e, '=');
      size_t klen = eq ? (size_t) (eq - *e) : strlen (*e);
      if (klen == nlen && strncmp (*e, name, nlen) == 0)
        value = eq ? eq + 1 : ""; /* the last one wins, as BuildEnvs' map */
    }
  *found = value != NULL;
  return value ? value : "";
}

static int process_stop_on (lexer_t *l, int32_t stop, arca_buf_t *result, words_t *words, arca_error_t *err);

static int
single_quote (lexer_t *l, arca_buf_t *out, arca_error_t *err)
{
  next_rune (l, NULL, NULL); /* the opening quote */
  for (;;)
    {
      size_t st, n;
      int32_t r = next_rune (l, &st, &n);
      if (r == LEX_EOF)
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "unexpected end of statement while looking for matching single-quote");
      if (r == '\'')
        return 0;
      buf_append (out, l->s + st, n);
    }
}

static int process_dollar (lexer_t *l, arca_buf_t *out, arca_error_t *err);

static int
double_quote (lexer_t *l, arca_buf_t *out, arca_error_t *err)
{
  next_rune (l, NULL, NULL);
  for (;;)
    {
      int32_t r = peek (l);
      if (r == LEX_EOF)
        return arca_error_set (err, ARCA_ERR_INVALID,
                               "unexpected end of statement while looking for matching double-quote");
      if (r == '"')
        {
          next_rune (l, NULL, NULL);
          return 0;
        }
      if (r == '$')
        {
          if (process_dollar (l, out, err) < 0)
            return -1;
          continue;
        }
      size_t st, n;
      r = next_rune (l, &st, &n);
      if (r == l->escape)
        {
          int32_t nx = peek (l);
          if (nx == LEX_EOF)
            continue; /* an escape at the end of the word is dropped */
          if (nx == '"' || nx == '$' || nx == l->escape)
            r = next_rune (l, &st, &n); /* only these can be escaped; others keep the escape */
        }
      buf_append (out, l->s + st, n);
    }
}

/* processName: letters, digits and '_'; a leading digit takes every digit
 * that follows ($10 is "10"); one special parameter ($@ $* $# $? $- $$ $!
 * $0) stands alone. */
static char *
process_name (lexer_t *l)
{
  arca_buf_t name = { 0 };
  buf_append (&name, "", 0);
  for (int32_t r = peek (l); r != LEX_EOF; r = peek (l))
    {
      size_t st, n;
      if (name.len == 0 && is_digit (r))
        {
          while (is_digit (peek (l)))
            {
              next_rune (l, &st, &n);
              buf_append (&name, l->s + st, n);
            }
          return name.data;
        }
      if (name.len == 0 && strchr ("@*#?-$!0", (int) r) != NULL && r < 0x80 && r != 0)
        {
          next_rune (l, &st, &n);
          buf_append (&name, l->s + st, n);
          return name.data;
        }
      if (!is_letter (r) && !is_digit (r) && r != '_')
        break;
      next_rune (l, &st, &n);
      buf_append (&name, l->s + st, n);
    }
  return name.data;
}

/* ${name<op>word}: the word up to the closing brace, itself expanded. */
static int
brace_word (lexer_t *l, char **word, arca_error_t *err)
{
  arca_buf_t w = { 0 };
  buf_append (&w, "", 0);
  words_t ignored = { 0 };
  int r = process_stop_on (l, '}', &w, &ignored, err);
  buf_free (&ignored.word);
  strv_free (ignored.words);
  if (r < 0)
    {
      buf_free (&w);
      if (peek (l) == LEX_EOF)
        return arca_error_set (err, ARCA_ERR_INVALID, "syntax error: missing '}'");
      return -1;
    }
  *word = w.data;
  return 0;
}

static int
process_dollar (lexer_t *l, arca_buf_t *out, arca_error_t *err)
{
  next_rune (l, NULL, NULL); /* '$' */
  if (peek (l) != '{')
    {
      _cleanup_free_ char *name = process_name (l);
      if (*name == '\0')
        {
          buf_append (out, "$", 1);
          return 0;
        }
      bool found;
      const char *v = env_get (l, name, &found);
      buf_append (out, v, strlen (v));
      return 0;
    }
  next_rune (l, NULL, NULL); /* '{' */
  int32_t r = peek (l);
  if (r == LEX_EOF)
    return arca_error_set (err, ARCA_ERR_INVALID, "syntax error: missing '}'");
  if (r == '{' || r == '}' || r == ':')
    return arca_error_set (err, ARCA_ERR_INVALID, "syntax error: bad substitution");
  _cleanup_free_ char *name = process_name (l);
  int32_t ch = next_rune (l, NULL, NULL);
  bool found;
  const char *value = env_get (l, name, &found);
  if (ch == '}')
    {
      buf_append (out, value, strlen (value));
      return 0;
    }
  if (ch == '?')
    {
      _cleanup_free_ char *word = NULL;
      if (brace_word (l, &word, err) < 0)
        return -1;
      if (!found)
        return arca_error_set (err, ARCA_ERR_INVALID, "%s: %s", name, *word ? word : "is not allowed to be unset");
      buf_append (out, value, strlen (value));
      return 0;
    }
  if (ch == ':')
    {
      size_t mst, mn;
      int32_t modifier = next_rune (l, &mst, &mn);
      _cleanup_free_ char *word = NULL;
      if (brace_word (l, &word, err) < 0)
        return -1;
      switch (modifier)
        {
        case '+':
          if (*value)
            value = word;
          break;
        case '-':
          if (*value == '\0')
            value = word;
          break;
        case '?':
          if (!found)
            return arca_error_set (err, ARCA_ERR_INVALID, "%s: %s", name,
                                   *word ? word : "is not allowed to be unset");
          if (*value == '\0')
            return arca_error_set (err, ARCA_ERR_INVALID, "%s: %s", name,
                                   *word ? word : "is not allowed to be empty");
          break;
        default:
          return arca_error_set (err, ARCA_ERR_INVALID, "unsupported modifier (%.*s) in substitution",
                                 (int) (modifier == LEX_EOF ? 0 : mn), l->s + mst);
        }
      buf_append (out, value, strlen (value));
      return 0;
    }
  return arca_error_set (err, ARCA_ERR_INVALID, "missing ':' in substitution");
}

/* processStopOn: expand until stop (LEX_EOF: the end of the word). */
static int
process_stop_on (lexer_t *l, int32_t stop, arca_buf_t *result, words_t *words, arca_error_t *err)
{
  for (int32_t r = peek (l); r != LEX_EOF; r = peek (l))
    {
      if (stop != LEX_EOF && r == stop)
        {
          next_rune (l, NULL, NULL);
          words_flush (words);
          return 0;
        }
      if (r == '\'' || r == '"' || r == '$')
        {
          arca_buf_t tmp = { 0 };
          buf_append (&tmp, "", 0);
          int ret = r == '\'' ? single_quote (l, &tmp, err) : r == '"' ? double_quote (l, &tmp, err)
                                                                       : process_dollar (l, &tmp, err);
          if (ret < 0)
            {
              buf_free (&tmp);
              return -1;
            }
          buf_append (result, tmp.data, tmp.len);
          if (r == '$')
            words_add_string (words, tmp.data);
          else
            words_add_raw (words, tmp.data, tmp.len);
          buf_free (&tmp);
          continue;
        }
      size_t st, n;
      r = next_rune (l, &st, &n);
      if (r == l->escape)
        {
          /* an escape makes the next rune literal; at the very end it is dropped */
          r = next_rune (l, &st, &n);
          if (r == LEX_EOF)
            break;
          words_add_raw (words, l->s + st, n);
        }
      else
        words_add_char (words, r, l->s + st, n);
      buf_append (result, l->s + st, n);
    }
  if (stop != LEX_EOF)
    {
      char s[2] = { (char) stop, 0 };
      return arca_error_set (err, ARCA_ERR_INVALID, "unexpected end of statement while looking for matching %s", s);
    }
  words_flush (words);
  return 0;
}

static int
process (const char *word, char **env, char escape, char **out, char ***out_words, arca_error_t *err)
{
  lexer_t l = { .s = word ? word : "", .len = word ? strlen (word) : 0, .env = env, .escape = escape };
  arca_buf_t result = { 0 };
  buf_append (&result, "", 0);
  words_t words = { 0 };
  if (process_stop_on (&l, LEX_EOF, &result, &words, err) < 0)
    {
      _cleanup_free_ char *q = go_quote (word);
      arca_error_wrap (err, "failed to process %s", q);
      buf_free (&result);
      buf_free (&words.word);
      strv_free (words.words);
      return -1;
    }
  buf_free (&words.word);
  if (out)
    *out = result.data;
  else
    buf_free (&result);
  if (out_words)
    *out_words = words.words ? words.words : xmalloc0 (sizeof (char *));
  else
    strv_free (words.words);
  return 0;
}

int
shell_process_word (const char *word, char **env, char escape, char **out, arca_error_t *err)
{
  return process (word, env, escape, out, NULL, err);
}

int
shell_process_words (const char *word, char **env, char escape, char ***out, arca_error_t *err)
{
  return process (word, env, escape, NULL, out, err);
}

/* Go encoding/json decoding semantics over jansson values (godecode.h).
 * Follows Go 1.24's decode.go: object keys matched exactly, then
 * case-insensitively; type mismatches saved (the first one reported) while
 * decoding goes on; errors from a custom UnmarshalJSON (strslice.StrSlice)
 * end decoding at once and win over a saved one. */
#include "util/godecode.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/strutil.h"

#define MAX_DEPTH 32

typedef struct
{
  const char *path[MAX_DEPTH * 2];
  size_t npath;
  const char *struct_name;
  bool saved;
  bool fatal;
  arca_error_t *err;
} dstate_t;

const go_type_t go_bool = { .kind = GO_BOOL, .name = "bool" };
const go_type_t go_int = { .kind = GO_INT, .name = "int", .bits = 64 };
const go_type_t go_int64 = { .kind = GO_INT, .name = "int64", .bits = 64 };
const go_type_t go_uint = { .kind = GO_UINT, .name = "uint", .bits = 64 };
const go_type_t go_uint16 = { .kind = GO_UINT, .name = "uint16", .bits = 16 };
const go_type_t go_uint64 = { .kind = GO_UINT, .name = "uint64", .bits = 64 };
const go_type_t go_float64 = { .kind = GO_FLOAT, .name = "float64" };
const go_type_t go_string = { .kind = GO_STRING, .name = "string" };
const go_type_t go_string_slice = { .kind = GO_SLICE, .name = "[]string", .elem = &go_string };
const go_type_t go_string_map = { .kind = GO_MAP, .name = "map[string]string", .elem = &go_string };
const go_type_t go_strslice = { .kind = GO_STRSLICE, .name = "strslice.StrSlice", .elem = &go_string };
const go_type_t go_any = { .kind = GO_ANY, .name = "interface {}" };

/* How Go names a JSON value in its errors. */
static const char *
value_kind (json_t *v)
{
  switch (json_typeof (v))
    {
    case JSON_OBJECT:
      return "object";
    case JSON_ARRAY:
      return "array";
    case JSON_STRING:
      return "string";
    case JSON_INTEGER:
    case JSON_REAL:
      return "number";
    case JSON_TRUE:
    case JSON_FALSE:
      return "bool";
    default:
      return "null";
    }
}

/* The number's text as Go would quote it ("number 1.5"): jansson keeps no
 * literal, so the shortest form that reads back the same. */
static void
number_text (json_t *v, char *buf, size_t len)
{
  if (json_is_integer (v))
    {
      snprintf (buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value (v));
      return;
    }
  double d = json_real_value (v);
  for (int prec = 1; prec <= 17; prec++)
    {
      snprintf (buf, len, "%.*g", prec, d);
      if (strtod (buf, NULL) == d)
        return;
    }
}

static int
type_error (dstate_t *s, const char *value, const go_type_t *t, bool fatal)
{
  if (s->saved && !fatal)
    return 0;
  if (s->npath == 0)
    arca_error_set (s->err, ARCA_ERR_INVALID, "json: cannot unmarshal %s into Go value of type %s", value, t->name);
  else
    {
      arca_buf_t b = { 0 };
      for (size_t i = 0; i < s->npath; i++)
        buf_printf (&b, "%s%s", i ? "." : "", s->path[i]);
      arca_error_set (s->err, ARCA_ERR_INVALID, "json: cannot unmarshal %s into Go struct field %s.%s of type %s", value,
                      s->struct_name, b.data, t->name);
      buf_free (&b);
    }
  s->saved = true;
  if (fatal)
    s->fatal = true;
  return 0;
}

static json_t *decode (dstate_t *s, json_t *in, const go_type_t *t);

static json_t *
decode_number (dstate_t *s, json_t *in, const go_type_t *t)
{
  if (!json_is_number (in))
    {
      type_error (s, value_kind (in), t, false);
      return NULL;
    }
  if (t->kind == GO_FLOAT)
    return json_deep_copy (in);
  char text[64];
  number_text (in, text, sizeof text);
  _cleanup_free_ char *value = xasprintf ("number %s", text);
  if (!json_is_integer (in))
    {
      type_error (s, value, t, false);
      return NULL;
    }
  json_int_t n = json_integer_value (in);
  bool fits;
  if (t->kind == GO_INT)
    fits = t->bits >= 64 || (n >= -(1LL << (t->bits - 1)) && n < (1LL << (t->bits - 1)));
  else
    fits = n >= 0 && (t->bits >= 63 || n < (1LL << t->bits));
  if (!fits)
    {
      type_error (s, value, t, false);
      return NULL;
    }
  return json_integer (n);
}

/* Field for key: an exact match first, else the first case-insensitive one
 * (Go's byExactName / byFoldedName). */
static const go_field_t *
find_field (const go_type_t *t, const char *key)
{
  for (const go_field_t *f = t->fields; f->name; f++)
    if (strcmp (f->name, key) == 0)
      return f;
  for (const go_field_t *f = t->fields; f->name; f++)
    if (strcasecmp (f->name, key) == 0)
      return f;
  return NULL;
}

static const char *
short_name (const char *go_type_name)
{
  const char *dot = strrchr (go_type_name, '.');
  return dot ? dot + 1 : go_type_name;
}

static json_t *
decode_struct (dstate_t *s, json_t *in, const go_type_t *t)
{
  if (!json_is_object (in))
    {
      type_error (s, value_kind (in), t, false);
      return NULL;
    }
  json_t *out = json_object ();
  const char *key;
  json_t *v;
  json_object_foreach (in, key, v)
    {
      const go_field_t *f = find_field (t, key);
      if (f == NULL)
        continue;
      if (s->npath + 2 > sizeof s->path / sizeof s->path[0])
        break;
      size_t saved_npath = s->npath;
      const char *saved_struct = s->struct_name;
      if (f->embedded)
        s->path[s->npath++] = f->embedded;
      s->path[s->npath++] = f->name;
      s->struct_name = short_name (t->name);
      if (json_is_null (v))
        {
          /* null leaves a value type alone; a pointer, slice or map is set to nil. */
          bool nullable = f->nullable || f->type->kind == GO_SLICE || f->type->kind == GO_MAP
                          || f->type->kind == GO_STRSLICE || f->type->kind == GO_ANY;
          if (nullable)
            json_object_set_new (out, f->name, json_null ());
          else
            json_object_del (out, f->name);
        }
      else
        {
          json_t *dv = decode (s, v, f->type);
          if (dv)
            json_object_set_new (out, f->name, dv);
        }
      s->npath = saved_npath;
      s->struct_name = saved_struct;
      if (s->fatal)
        break;
    }
  return out;
}

static json_t *
decode_elem (dstate_t *s, json_t *v, const go_type_t *t)
{
  if (json_is_null (v))
    {
      if (t->elem_nullable || t->elem->kind == GO_SLICE || t->elem->kind == GO_MAP || t->elem->kind == GO_STRSLICE
          || t->elem->kind == GO_ANY)
        return json_null ();
      /* A value type keeps its zero value. */
      switch (t->elem->kind)
        {
        case GO_BOOL:
          return json_false ();
        case GO_INT:
        case GO_UINT:
        case GO_FLOAT:
          return json_integer (0);
        case GO_STRING:
          return json_string ("");
        default:
          return json_object ();
        }
    }
  json_t *dv = decode (s, v, t->elem);
  return dv;
}

static json_t *
decode_slice (dstate_t *s, json_t *in, const go_type_t *t)
{
  if (!json_is_array (in))
    {
      type_error (s, value_kind (in), t, false);
      return NULL;
    }
  json_t *out = json_array ();
  size_t i;
  json_t *v;
  json_array_foreach (in, i, v)
    {
      if (t->kind == GO_ARRAY && i >= t->len)
        break;
      json_t *dv = decode_elem (s, v, t);
      json_array_append_new (out, dv ? dv : json_integer (0));
      if (s->fatal)
        break;
    }
  if (t->kind == GO_ARRAY)
    while (json_array_size (out) < t->len)
      json_array_append_new (out, json_integer (0));
  return out;
}

static json_t *
decode_map (dstate_t *s, json_t *in, const go_type_t *t)
{
  if (!json_is_object (in))
    {
      type_error (s, value_kind (in), t, false);
      return NULL;
    }
  json_t *out = json_object ();
  const char *key;
  json_t *v;
  json_object_foreach (in, key, v)
    {
      json_t *dv = decode_elem (s, v, t);
      if (dv)
        json_object_set_new (out, key, dv);
      if (s->fatal)
        break;
    }
  return out;
}

/* strslice.StrSlice UnmarshalJSON: []string, else one string; its error
 * (from decoding into string) ends the whole decode. */
static json_t *
decode_strslice (dstate_t *s, json_t *in, const go_type_t *t)
{
  if (json_is_string (in))
    return json_pack ("[O]", in);
  if (json_is_array (in))
    {
      size_t i;
      json_t *v;
      bool ok = true;
      json_array_foreach (in, i, v)
        if (!json_is_string (v) && !json_is_null (v))
          ok = false;
      if (ok)
        {
          json_t *out = json_array ();
          json_array_foreach (in, i, v)
            json_array_append_new (out, json_is_null (v) ? json_string ("") : json_incref (v));
          return out;
        }
    }
  type_error (s, value_kind (in), &go_string, true);
  return NULL;
}

static json_t *
decode (dstate_t *s, json_t *in, const go_type_t *t)
{
  switch (t->kind)
    {
    case GO_BOOL:
      if (!json_is_boolean (in))
        {
          type_error (s, value_kind (in), t, false);
          return NULL;
        }
      return json_incref (in);
    case GO_INT:
    case GO_UINT:
    case GO_FLOAT:
      return decode_number (s, in, t);
    case GO_STRING:
      if (!json_is_string (in))
        {
          type_error (s, value_kind (in), t, false);
          return NULL;
        }
      return json_incref (in);
    case GO_STRUCT:
      return decode_struct (s, in, t);
    case GO_SLICE:
    case GO_ARRAY:
      return decode_slice (s, in, t);
    case GO_MAP:
      return decode_map (s, in, t);
    case GO_STRSLICE:
      return decode_strslice (s, in, t);
    case GO_EMPTY:
      if (!json_is_object (in))
        {
          type_error (s, value_kind (in), t, false);
          return NULL;
        }
      return json_object ();
    case GO_ANY:
    default:
      return json_deep_copy (in);
    }
}

int
go_decode (json_t *in, const go_type_t *t, json_t **out, arca_error_t *err)
{
  dstate_t s = { .err = err };
  *out = NULL;
  json_t *r = json_is_null (in) ? json_null () : decode (&s, in, t);
  if (s.saved)
    {
      json_decref (r);
      return -1;
    }
  *out = r;
  return 0;
}

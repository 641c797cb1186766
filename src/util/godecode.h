/* Decoding a JSON value as Go's encoding/json decodes it into a typed Go
 * struct, so that request bodies are accepted and refused exactly as dockerd
 * accepts and refuses them.
 *
 * A schema (go_type_t tables, static data) describes the Go types.  The
 * decoder walks the input once and builds a canonical copy:
 *   - object keys are matched to struct fields as Go does: an exact match
 *     first, else a case-insensitive one (ASCII folding); a later key for
 *     the same field replaces an earlier one; unknown keys are dropped;
 *   - the canonical copy uses the schema's field names;
 *   - null leaves a non-nullable field unset (dropped from the copy) and a
 *     nullable one (pointer, slice, map) null;
 *   - strslice.StrSlice also takes a single string (["..."] in the copy).
 * A value of the wrong JSON type is an error with Go 1.24's text (the
 * Go version dockerd 28.3+ is built with): the first such error in document
 * order, e.g.
 *   json: cannot unmarshal string into Go struct field
 *   HostConfig.HostConfig.Resources.Memory of type int64
 * that is "<innermost struct name>.<field path from the root, embedded
 * structs included>" (encoding/json decode.go UnmarshalTypeError.Error).
 * Numbers that do not fit an integer type are "number <literal>". */
#ifndef ARCA_UTIL_GODECODE_H
#define ARCA_UTIL_GODECODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef enum
{
  GO_BOOL,
  GO_INT,      /* signed, bits 8..64 */
  GO_UINT,     /* unsigned, bits 8..64 */
  GO_FLOAT,
  GO_STRING,
  GO_STRUCT,
  GO_SLICE,    /* JSON array (null allowed) */
  GO_ARRAY,    /* fixed-length Go array: extra elements dropped, missing zeroed */
  GO_MAP,      /* string-keyed map (null allowed) */
  GO_STRSLICE, /* strslice.StrSlice: array of strings or one string */
  GO_ANY,      /* interface{} / struct{}-like value taken as is */
  GO_EMPTY,    /* struct{}: any object */
} go_kind_t;

typedef struct go_type go_type_t;

typedef struct
{
  const char *name;       /* JSON key (the field's name or its json tag) */
  const go_type_t *type;
  bool nullable;          /* pointer field: null is kept as null */
  const char *embedded;   /* Go name of the embedded struct it is promoted from ("Resources"), or NULL */
} go_field_t;

struct go_type
{
  go_kind_t kind;
  const char *name;         /* reflect Type.String(): "int64", "container.RestartPolicyMode", "[]string" */
  int bits;                 /* GO_INT / GO_UINT */
  const go_type_t *elem;    /* GO_SLICE, GO_ARRAY, GO_MAP element */
  bool elem_nullable;       /* []*T: null elements kept */
  size_t len;               /* GO_ARRAY */
  const go_field_t *fields; /* GO_STRUCT: terminated by a field with name NULL */
};

/* Decode in as type t.  *out (new reference) is the canonical copy.
 * ARCA_ERR_INVALID with Go's message (without dockerd's "invalid JSON: "
 * prefix, which callers add) on a type mismatch. */
int go_decode (json_t *in, const go_type_t *t, json_t **out, arca_error_t *err);

/* Scalar types shared by schemas. */
extern const go_type_t go_bool, go_int, go_int64, go_uint, go_uint16, go_uint64, go_string, go_float64;
extern const go_type_t go_string_slice, go_string_map, go_strslice, go_any;

#endif

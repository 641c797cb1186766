/* Parsed image references, after distribution/reference (the grammar in
 * its regexp.go, the normalisation in normalize.go).  Internal to the image
 * module; image.h exposes image_ref_normalize / image_ref_familiar. */
#ifndef ARCA_IMAGE_REF_H
#define ARCA_IMAGE_REF_H

#include <stdbool.h>

#include "util/error.h"

typedef struct
{
  char *domain; /* "docker.io", "127.0.0.1:5000", "localhost" */
  char *path;   /* "library/busybox" */
  char *tag;    /* NULL if none */
  char *digest; /* "sha256:<hex>" or NULL */
} image_ref_t;

/* ParseNormalizedNamed: fills *r (no default tag added).  400 errors with
 * the reference package's messages ("invalid reference format", "invalid
 * reference format: repository name (X) must be lowercase", "invalid
 * repository name (X), cannot specify 64-byte hexadecimal strings"). */
int image_ref_parse (const char *s, image_ref_t *r, arca_error_t *err);
/* Parse an already canonical "domain/path[:tag][@digest]" (no
 * normalisation). */
int image_ref_parse_canonical (const char *s, image_ref_t *r, arca_error_t *err);
void image_ref_clear (image_ref_t *r);
/* TagNameOnly: adds "latest" when there is neither tag nor digest. */
void image_ref_default_tag (image_ref_t *r);
/* "domain/path" */
char *image_ref_name (const image_ref_t *r);
/* "domain/path[:tag][@digest]" */
char *image_ref_string (const image_ref_t *r);
/* The key under which a reference is stored in image_refs: the digest form
 * "name@digest" when a digest is present (a tag next to it is ignored, as
 * the reference store does), else "name:tag" (tag defaulted). */
char *image_ref_store_key (const image_ref_t *r);

/* moby httputils.RepoTagReference: repo (+ tag, "latest" by default) as a
 * store key.  A repo with a digest is refused with 400 "<digest_msg>"; a bad
 * tag with 400 "invalid tag format".  Empty repo: *key = NULL and 0. */
int image_ref_repo_tag_key (const char *repo, const char *tag, const char *digest_msg, char **key,
                            arca_error_t *err);
/* Familiar forms: "busybox", "busybox:latest", "user/x@sha256:..." */
char *image_ref_familiar_name (const image_ref_t *r);
char *image_ref_familiar_string (const image_ref_t *r);
/* A tag by itself is valid ([\w][\w.-]{0,127}). */
bool image_ref_valid_tag (const char *tag);
/* 64 lowercase hex characters. */
bool image_ref_is_full_id_hex (const char *s);

#endif

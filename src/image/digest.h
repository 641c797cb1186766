/* SHA-256 digests in OCI form ("sha256:<64 hex>") and OCI chain IDs
 * (image-spec config.md "Layer ChainID"). */
#ifndef ARCA_IMAGE_DIGEST_H
#define ARCA_IMAGE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define DIGEST_LEN 71 /* strlen ("sha256:") + 64 */
#define DIGEST_BUF 72

typedef struct digest_ctx digest_ctx_t;

digest_ctx_t *digest_new (void);
void digest_update (digest_ctx_t *c, const void *data, size_t len);
/* Writes "sha256:<hex>" to out and frees c. */
void digest_final (digest_ctx_t *c, char out[DIGEST_BUF]);
void digest_free (digest_ctx_t *c);

void digest_buf (const void *data, size_t len, char out[DIGEST_BUF]);
/* Digest of a whole file; 500 on I/O errors. */
int digest_file (const char *path, char out[DIGEST_BUF], arca_error_t *err);
/* chain(1) = diff_id(1); chain(n) = sha256(chain(n-1) + " " + diff_id(n)).
 * parent NULL for the bottom layer. */
void digest_chain (const char *parent, const char *diff_id, char out[DIGEST_BUF]);
/* "sha256:" followed by exactly 64 lowercase hex digits. */
bool digest_valid (const char *d);

/* The algorithms a reference may name and a pull verifies (go-digest's
 * sha256, sha384, sha512, as dockerd builds it): true for "<alg>:<hex>"
 * with one of them and the right number of lowercase hex digits. */
bool digest_supported (const char *d);
/* True if data hashes to d with d's own algorithm (digest_supported
 * algorithms only; false for any other): distribution's Verifier. */
bool digest_matches (const char *d, const void *data, size_t len);
/* The hex part of a valid digest (pointer into d). */
static inline const char *digest_hex (const char *d) { return d + 7; }

#endif

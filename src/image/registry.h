/* Registry client (OCI distribution spec / Docker registry HTTP API v2)
 * over libcurl, and the pull / push / login operations built on it.
 *
 * Endpoints: "docker.io" is reached as registry-1.docker.io (or a mirror
 * from registryMirrors); registries on 127.0.0.0/8, ::1 and localhost, and
 * those listed in insecureRegistries, are spoken to over plain HTTP (dockerd
 * falls back to HTTP for them), every other one over HTTPS.
 *
 * Auth (moby registry/auth.go, distribution registry/client/auth): a request
 * answered 401 is retried once after the WWW-Authenticate challenge is
 * met: Bearer -> a token from the realm (anonymous, or with the credentials
 * as basic auth, or the identity token as an OAuth refresh token), Basic ->
 * the credentials.
 *
 * Thread safety: a client is used by one thread at a time, except
 * registry_get_blob, which may run in several threads on one client (the
 * token is shared under a mutex).
 */
#ifndef ARCA_IMAGE_REGISTRY_H
#define ARCA_IMAGE_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "image/digest.h"
#include "image/image.h"
#include "util/error.h"

/* ---- configuration --------------------------------------------------------- */

/* Process-wide settings from the daemon config file: insecure holds
 * "host[:port]" entries or CIDRs ("10.0.0.0/8"), mirrors URLs
 * ("http://127.0.0.1:5000") tried before docker.io.  Copied; NULL clears. */
void registry_configure (char **insecure, char **mirrors);

/* ---- credentials ----------------------------------------------------------- */

typedef struct
{
  char *username;
  char *password;
  char *identity_token; /* OAuth refresh token (docker login with a token) */
  char *registry_token; /* a bearer token to use as is */
  char *server_address;
} registry_auth_t;

/* Decode an X-Registry-Auth header: base64url (padding optional; standard
 * base64 accepted too) of the AuthConfig JSON (username, password, auth =
 * base64("user:pass"), serveraddress, identitytoken, registrytoken).
 * NULL or empty header -> empty credentials; undecodable -> 400 as moby
 * ("invalid X-Registry-Auth header"? dockerd ignores garbage; we do too and
 * return empty credentials). */
int registry_auth_decode (const char *header, registry_auth_t *out, arca_error_t *err);
/* Fill from an AuthConfig JSON object (the POST /auth body). */
void registry_auth_from_json (json_t *obj, registry_auth_t *out);
void registry_auth_clear (registry_auth_t *a);

/* ---- WWW-Authenticate ------------------------------------------------------ */

typedef struct
{
  char *scheme; /* "bearer" or "basic", lowercase */
  char *realm, *service, *scope;
} registry_challenge_t;

/* Parse one challenge (RFC 7235: scheme then comma-separated key=value or
 * key="quoted value" params; unknown params ignored).  -1 if there is no
 * scheme. */
int registry_challenge_parse (const char *header, registry_challenge_t *out);
void registry_challenge_clear (registry_challenge_t *c);

/* ---- platforms -------------------------------------------------------------- */

typedef struct
{
  char os[32], arch[32], variant[32]; /* variant "" when unspecified */
} registry_platform_t;

/* "os[/arch[/variant]]" (containerd platforms.Parse subset: "amd64" alone
 * means linux/amd64; arch aliases x86_64, aarch64 normalised).  NULL or ""
 * -> this host.  400 "invalid platform" class errors. */
int registry_platform_parse (const char *s, registry_platform_t *out, arca_error_t *err);
/* Whether an index entry's "platform" object matches want (variant checked
 * only when want has one, arm64 "v8" equals no variant). */
bool registry_platform_match (json_t *platform, const registry_platform_t *want);
/* The index entry to use: the first exact variant match, else the first
 * match; NULL if none. */
json_t *registry_platform_select (json_t *manifests, const registry_platform_t *want);

/* ---- manifests (pure; image/manifest.c) -------------------------------------- */

/* What a manifest fetched for a pull says (moby distribution/pull_v2.go
 * pullManifestList, pullSchema2). */
typedef struct
{
  bool is_index;               /* a manifest list / OCI index */
  char child[DIGEST_BUF];      /* index: the entry for the platform wanted */
  const char *media_type;      /* manifest: MT_DOCKER_MANIFEST or MT_OCI_MANIFEST */
  char config_digest[DIGEST_BUF];
  int64_t config_size;         /* -1 when absent */
} registry_manifest_t;

/* Check manifest m (parsed JSON, NULL if the body was not JSON) served with
 * Content-Type mt for repository name: an index yields the entry for want
 * (404 "no matching manifest for os/arch ..."), a manifest its config;
 * schema 1, other media types and bad digests are refused with dockerd's
 * texts. */
int registry_manifest_parse (json_t *m, const char *mt, const char *name, const registry_platform_t *want,
                             registry_manifest_t *out, arca_error_t *err);
/* Check a manifest's layers against its image config: as many layers as
 * rootfs.diff_ids, every digest well-formed.  Returns the number of layers. */
int registry_manifest_layers (json_t *manifest, json_t *config, size_t *n, arca_error_t *err);

/* ---- client ------------------------------------------------------------------ */

typedef struct registry_client registry_client_t;

/* A client for repository path ("library/busybox") on domain
 * ("127.0.0.1:5000", "docker.io"); push asks tokens for pull,push. */
int registry_client_new (const char *domain, const char *path, const registry_auth_t *auth, bool push,
                         registry_client_t **out, arca_error_t *err);
void registry_client_free (registry_client_t *c);
/* "http://127.0.0.1:5000" */
const char *registry_client_base (registry_client_t *c);

/* GET /v2/ with authentication: the login check.  401 with the text
 * dockerd gives: `Get "http://127.0.0.1:5001/v2/": unauthorized: ...`. */
int registry_ping (registry_client_t *c, arca_error_t *err);

/* GET a manifest by tag or digest.  data/len: the raw bytes; media_type
 * from Content-Type (or the document's mediaType); digest: the sha256
 * digest of the bytes (their key in the store).  A reference that is a
 * digest (sha256, sha384 or sha512) is verified with its own algorithm:
 * 400 "manifest verification failed for digest <ref>" otherwise.  404 with
 * "manifest unknown: ..." style registry texts (the caller words the
 * final message). */
int registry_get_manifest (registry_client_t *c, const char *reference, char **data, size_t *len,
                           char **media_type, char digest[DIGEST_BUF], arca_error_t *err);

/* Called with bytes done so far and the total; non-zero aborts. */
typedef int (*registry_progress_fn) (void *ctx, int64_t current, int64_t total);

/* GET a blob into dest (created/truncated), verifying size (when >= 0)
 * and digest; retried up to 3 times on transient failures (connection
 * errors, 5xx, short bodies).  dest is removed on failure. */
int registry_get_blob (registry_client_t *c, const char *digest, int64_t size, const char *dest,
                       registry_progress_fn progress, void *ctx, arca_error_t *err);

/* HEAD a blob: 1 present, 0 absent. */
int registry_blob_exists (registry_client_t *c, const char *digest, arca_error_t *err);
/* Cross-repository mount from repository path from: 1 mounted, 0 not
 * (the registry opened an upload instead, which is cancelled). */
int registry_blob_mount (registry_client_t *c, const char *digest, const char *from, arca_error_t *err);
/* Upload the file at path as blob digest: POST an upload, then one PUT
 * ?digest= with the whole body (monolithic). */
int registry_blob_upload (registry_client_t *c, const char *digest, const char *path, registry_progress_fn progress,
                          void *ctx, arca_error_t *err);
/* PUT a manifest under reference (tag or digest). */
int registry_put_manifest (registry_client_t *c, const char *reference, const char *media_type, const char *data,
                           size_t len, arca_error_t *err);

/* ---- operations (pull.c, push.c) -------------------------------------------- */

/* Receives each progress message (a JSONMessage object, borrowed);
 * returns -1 once the client has gone away (the operation is abandoned). */
typedef int (*registry_emit_fn) (void *ctx, json_t *msg);

typedef struct image_pull image_pull_t;

/* First half of a pull, before any byte of the response: parse ref
 * ("name[:tag|@digest]", normalised), reach the registry, fetch the
 * manifest (and choose the platform's one from a list/index), fetch the
 * config.  Errors here are the HTTP error dockerd answers with, e.g. 404
 * "manifest for 127.0.0.1:5000/x:1 not found: manifest unknown: manifest
 * unknown", 404 "repository x not found: name unknown: ...", 401/404 "pull
 * access denied for x, repository does not exist or may require 'docker
 * login': ...". */
int image_pull_prepare (arca_image_store_t *s, const char *ref, const char *platform, const registry_auth_t *auth,
                        image_pull_t **out, arca_error_t *err);
/* Second half: download missing layers (3 at a time), verify, unpack,
 * commit image, tag and RepoDigest in one go, emitting dockerd's progress
 * messages.  Nothing is left behind on failure. */
int image_pull_run (image_pull_t *p, registry_emit_fn emit, void *ctx, arca_error_t *err);
void image_pull_free (image_pull_t *p);

/* docker push: name ("127.0.0.1:5000/busybox"), tag (NULL or "" = every
 * tag of the repository).  Errors before the first message are returned
 * with emit never called (404 "An image does not exist locally with the
 * tag: <name>"); later ones are returned after messages were emitted. */
int image_push (arca_image_store_t *s, const char *name, const char *tag, const registry_auth_t *auth,
                registry_emit_fn emit, void *ctx, arca_error_t *err);

/* POST /auth: validate the credentials against the registry's /v2/. */
int registry_login (const registry_auth_t *auth, arca_error_t *err);

#endif

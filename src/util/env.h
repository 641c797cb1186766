/* Environment lists ("K=V" strings) merged with moby's rules in linear
 * time: a container's Env is client input of any length (a million
 * entries must cost seconds, not hours), so every merge looks keys up in
 * a hash table instead of scanning the list. */
#ifndef ARCA_UTIL_ENV_H
#define ARCA_UTIL_ENV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Length of K in "K=V", or of the whole string when it has no '='. */
size_t env_key_len (const char *kv);

/* moby daemon/container/env.go ReplaceOrAppendEnvValues: each override
 * "K=V" replaces the entry of defaults with key K, or is appended when
 * defaults has none (overrides are not matched against each other, so two
 * overrides with one new key are both appended); an override "K" without
 * '=' removes K from defaults.  Takes defaults (a strv, may be NULL) and
 * returns the merged strv (never NULL). */
char **env_replace_or_append (char **defaults, char *const *overrides);

/* A set of environment keys (the K of "K=V"), for merges that append the
 * entries whose key is not there yet (moby daemon/commit.go merge). */
typedef struct env_keys env_keys_t;
env_keys_t *env_keys_new (size_t expected);
/* Add the key of kv; false if it was there already.  kv must outlive the
 * set (it is not copied). */
bool env_keys_add (env_keys_t *k, const char *kv);
bool env_keys_has (const env_keys_t *k, const char *kv);
void env_keys_free (env_keys_t *k);

/* moby daemon/commit.go merge, for Env: append to the JSON array user_env
 * each string of image_env whose key user_env does not have yet
 * (including the entries appended before it). */
void env_json_append_missing (json_t *user_env, json_t *image_env);

#endif

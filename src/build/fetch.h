/* HTTP(S) downloads for ADD <url> and remote build contexts (moby
 * builder/remotecontext GetWithStatusError over Go's http.Get), with
 * libcurl: redirects followed (at most 10), only http and https. */
#ifndef ARCA_BUILD_FETCH_H
#define ARCA_BUILD_FETCH_H

#include <stdint.h>

#include "util/error.h"

typedef struct
{
  char *content_type;
  char *content_disposition;
  char *last_modified;
  int64_t content_length;   /* -1 if unknown */
} fetch_info_t;

void fetch_info_clear (fetch_info_t *i);

/* Called with bytes received so far and the announced length (-1). */
typedef void (*fetch_progress_fn) (void *ctx, int64_t current, int64_t total);

/* GET url into out_fd.  Transport errors: 500 `Get "<url>": <reason>`
 * (404 when the host name does not resolve); a status >= 400:
 * "failed to GET <url> with status 404 Not Found: <body>" with the
 * status's error kind (404, 400, 401, 403, else 500). */
int fetch_url (const char *url, int out_fd, fetch_info_t *info, fetch_progress_fn progress, void *ctx,
               arca_error_t *err);

#endif

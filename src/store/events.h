/* The persistent event history (engine/events.c): a bounded table of the
 * last events, in publication order, so that `GET /events?since=` replays
 * survive a daemon restart (kill -9 included).
 *
 * Rows are (seq, time_ns, data): seq is the bus's publication number
 * (strictly increasing across restarts), time_ns the event's timeNano and
 * data the event message as the API sends it (compact JSON). */
#ifndef ARCA_STORE_EVENTS_H
#define ARCA_STORE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "util/error.h"

typedef struct
{
  int64_t seq;
  int64_t time_ns;
  const char *data; /* data_len bytes */
  size_t data_len;
} arca_db_event_row_t;

/* Append n rows in one transaction (one fsync), then drop every row older
 * than the newest `keep` ones. */
int arca_db_events_append (arca_db_t *db, const arca_db_event_row_t *rows, size_t n, size_t keep,
                           arca_error_t *err);

/* The newest `limit` rows, oldest first: *out is a JSON array of
 * [seq, time_ns, data]. */
int arca_db_events_load (arca_db_t *db, size_t limit, json_t **out, arca_error_t *err);

#endif

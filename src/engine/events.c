/* The event bus (see engine/events.h). */
#include "engine/events.h"
#include "engine/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net/net.h"
#include "store/events.h"
#include "util/chunkpool.h"
#include "util/cleanup.h"
#include "util/filters.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strutil.h"
#include "util/timeutil.h"

/* One published event: immutable once made, shared by the history, the
 * writer and subscriber queues (reference counted). */
typedef struct
{
  int refs; /* atomic */
  int64_t seq;
  int64_t time_ns;
  char *line; /* the message JSON followed by "\n" */
  size_t len;
} ev_item_t;

typedef struct ev_sub
{
  struct ev_sub *next;
  json_t *filters;
  bool skip_image_create;
  ev_item_t **queue; /* ring of EVENTS_SUBSCRIBER_BUFFER */
  size_t head, count;
  uint64_t skipped;
  int wake_fd;       /* eventfd, readable while the queue is not empty */
  bool ended;        /* the bus closed */
} ev_sub_t;

typedef struct arca_events
{
  pthread_mutex_t lock;
  pthread_cond_t pending_cond;
  int64_t next_seq;
  int64_t last_time_ns;
  ev_item_t *history[EVENTS_HISTORY]; /* ring */
  size_t history_head, history_count;
  ev_sub_t *subs;

  /* writer thread: events published but not yet in the store */
  ev_item_t **pending;
  size_t pending_count, pending_cap;
  bool writer_busy;
  bool closing;
  pthread_t writer;
  bool writer_started;
  arca_db_t *db;
} arca_events_t;

/* ---- items ---- */

/* Items and their lines live in a pool of their own (util/chunkpool.h):
 * made in bursts among requests' allocations and kept long after them,
 * on malloc's heap each pinned a page.  64 KiB chunks: ~150 events. */
#define ITEM_CHUNK (64 * 1024)
static arca_chunkpool_t *item_pool;
static pthread_once_t item_pool_once = PTHREAD_ONCE_INIT;

static void
item_pool_make (void)
{
  item_pool = arca_chunkpool_new (ITEM_CHUNK);
}

static void
item_unref (ev_item_t *it)
{
  if (it && __atomic_sub_fetch (&it->refs, 1, __ATOMIC_ACQ_REL) == 0)
    arca_chunkpool_free (item_pool, it);
}

static ev_item_t *
item_ref (ev_item_t *it)
{
  __atomic_add_fetch (&it->refs, 1, __ATOMIC_ACQ_REL);
  return it;
}

/* One allocation: the item, then its line (the JSON and "\n"). */
static ev_item_t *
item_new (int64_t seq, int64_t time_ns, const char *json_text)
{
  pthread_once (&item_pool_once, item_pool_make);
  size_t n = strlen (json_text);
  ev_item_t *it = arca_chunkpool_alloc (item_pool, sizeof *it + n + 2);
  it->refs = 1;
  it->seq = seq;
  it->time_ns = time_ns;
  it->line = (char *) (it + 1);
  memcpy (it->line, json_text, n);
  it->line[n] = '\n';
  it->line[n + 1] = '\0';
  it->len = n + 1;
  return it;
}

/* ---- filters ---- */

static bool
has_filter (json_t *filters, const char *key)
{
  json_t *m = json_object_get (filters, key);
  return json_is_object (m) && json_object_size (m) > 0;
}

/* moby filters.Args.ExactMatch: true when the key is not filtered. */
static bool
exact_match (json_t *filters, const char *key, const char *value)
{
  if (!has_filter (filters, key))
    return true;
  return value && json_object_get (json_object_get (filters, key), value) != NULL;
}

/* moby filters.Args.FuzzyMatch: exact, or a filter value is a prefix. */
static bool
fuzzy_match (json_t *filters, const char *key, const char *value)
{
  if (exact_match (filters, key, value))
    return true;
  if (value == NULL)
    return false;
  const char *want;
  json_t *x;
  json_object_foreach (json_object_get (filters, key), want, x)
    if (str_has_prefix (value, want))
      return true;
  return false;
}

static const char *
attr (const arca_event_view_t *ev, const char *key)
{
  return json_string_value (json_object_get (ev->attributes, key));
}

/* moby filter.go matchEvent: health_status, exec_create and exec_start
 * carry their details after ": ", so a filter naming one of them matches
 * by prefix. */
static bool
match_event (json_t *filters, const arca_event_view_t *ev)
{
  static const char *const fuzzy[] = { "health_status", "exec_create", "exec_start", NULL };
  json_t *m = json_object_get (filters, "event");
  for (int i = 0; fuzzy[i]; i++)
    if (json_object_get (m, fuzzy[i]))
      return fuzzy_match (filters, "event", ev->action);
  return exact_match (filters, "event", ev->action);
}

/* moby fuzzyMatchName: the filter key is the event type itself. */
static bool
match_name (json_t *filters, const char *type, const arca_event_view_t *ev)
{
  return fuzzy_match (filters, type, ev->actor_id) || fuzzy_match (filters, type, attr (ev, "name"));
}

/* distribution/reference FamiliarName of an image reference: the name
 * without tag or digest; the value itself when it is not a reference. */
static char *
strip_tag (const char *image)
{
  _cleanup_free_ char *canonical = NULL;
  arca_error_t err;
  if (image == NULL || image_ref_normalize (image, &canonical, &err) < 0)
    return xstrdup (image);
  char *familiar = image_ref_familiar (canonical);
  char *at = strchr (familiar, '@');
  if (at)
    *at = '\0';
  char *slash = strrchr (familiar, '/');
  char *colon = strrchr (slash ? slash : familiar, ':');
  if (colon)
    *colon = '\0';
  return familiar;
}

/* moby matchImage: the image filter matches image events by ID or name and
 * container events by their "image" attribute, with or without tag. */
static bool
match_image (json_t *filters, const arca_event_view_t *ev)
{
  if (!has_filter (filters, "image"))
    return true;
  const char *name = attr (ev, strcmp (ev->type, "image") == 0 ? "name" : "image");
  if (exact_match (filters, "image", ev->actor_id) || (name && exact_match (filters, "image", name)))
    return true;
  _cleanup_free_ char *id_stripped = strip_tag (ev->actor_id);
  _cleanup_free_ char *name_stripped = name ? strip_tag (name) : NULL;
  return (id_stripped && exact_match (filters, "image", id_stripped))
         || (name_stripped && exact_match (filters, "image", name_stripped));
}

bool
events_filter_match (json_t *filters, const arca_event_view_t *ev)
{
  if (filters == NULL)
    return true;
  static const char *const named[]
      = { "daemon", "container", "plugin", "volume", "network", "node", "service", "secret", "config", NULL };
  if (!match_event (filters, ev) || !exact_match (filters, "type", ev->type)
      || !exact_match (filters, "scope", ev->scope))
    return false;
  for (int i = 0; named[i]; i++)
    if (!match_name (filters, named[i], ev))
      return false;
  if (!match_image (filters, ev))
    return false;
  if (has_filter (filters, "label")
      && (json_object_size (ev->attributes) == 0 || !filters_match_labels (filters, ev->attributes)))
    return false;
  return true;
}

/* The view of a history line, for replays. */
static bool
item_matches (const ev_item_t *it, json_t *filters, bool skip_image_create)
{
  if (filters == NULL && !skip_image_create)
    return true;
  _cleanup_json_ json_t *m = json_loads (it->line, JSON_DISABLE_EOF_CHECK, NULL);
  json_t *actor = json_object_get (m, "Actor");
  arca_event_view_t v = {
    .type = json_get_str (m, "Type") ?: "",
    .action = json_get_str (m, "Action") ?: "",
    .actor_id = json_get_str (actor, "ID") ?: "",
    .scope = json_get_str (m, "scope") ?: "",
    .attributes = json_object_get (actor, "Attributes"),
  };
  if (skip_image_create && strcmp (v.type, "image") == 0 && strcmp (v.action, "create") == 0)
    return false;
  return events_filter_match (filters, &v);
}

/* ---- since/until ---- */

/* moby timetypes.parseTimestamp: seconds, optionally "." and a fraction
 * scaled to nanoseconds. */
static int
parse_unix (const char *value, int64_t *out, const char **bad)
{
  const char *dot = strchr (value, '.');
  size_t slen = dot ? (size_t) (dot - value) : strlen (value);
  char sec[32], frac[32];
  *bad = value;
  if (slen == 0 || slen >= sizeof sec)
    return -1;
  memcpy (sec, value, slen);
  sec[slen] = '\0';
  char *end;
  errno = 0;
  long long s = strtoll (sec, &end, 10);
  if (*end || errno)
    {
      *bad = NULL; /* the seconds part */
      return -1;
    }
  int64_t ns = 0;
  if (dot)
    {
      const char *f = dot + 1;
      size_t flen = strlen (f);
      *bad = f;
      if (flen == 0 || flen >= sizeof frac)
        return -1;
      memcpy (frac, f, flen + 1);
      long long n = strtoll (frac, &end, 10);
      if (*end || *frac == '-' || *frac == '+')
        return -1;
      for (size_t i = flen; i < 9; i++)
        n *= 10;
      for (size_t i = 9; i < flen; i++)
        n /= 10;
      ns = n;
    }
  *out = (int64_t) s * ARCA_NSEC_PER_SEC + ns;
  return 0;
}

int
events_parse_time (const char *value, int64_t now_ns, bool *set, int64_t *out_ns, arca_error_t *err)
{
  *out_ns = 0;
  *set = false;
  if (value == NULL || *value == '\0')
    return 0;
  *set = true;
  const char *bad = NULL;
  if (parse_unix (value, out_ns, &bad) == 0)
    return 0;
  int64_t d;
  if (strcmp (value, "0") != 0 && time_parse_go_duration (value, &d) == 0)
    {
      *out_ns = now_ns - d;
      return 0;
    }
  if (time_parse_rfc3339 (value, out_ns) == 0)
    return 0;
  *set = false;
  /* dockerd's error names the part strconv refused. */
  const char *dot = strchr (value, '.');
  if (bad == NULL || bad == value)
    return arca_error_set (err, ARCA_ERR_INTERNAL, "strconv.ParseInt: parsing \"%.*s\": invalid syntax",
                           (int) (dot ? dot - value : (long) strlen (value)), value);
  return arca_error_set (err, ARCA_ERR_INTERNAL, "strconv.ParseInt: parsing \"%s\": invalid syntax", bad);
}

/* ---- history writer ---- */

static void
write_batch (arca_events_t *b, ev_item_t **items, size_t n)
{
  arca_db_event_row_t *rows = xmalloc0 (n * sizeof *rows);
  for (size_t i = 0; i < n; i++)
    {
      rows[i].seq = items[i]->seq;
      rows[i].time_ns = items[i]->time_ns;
      rows[i].data = items[i]->line;
      rows[i].data_len = items[i]->len - 1; /* without the "\n" */
    }
  arca_error_t err;
  if (arca_db_events_append (b->db, rows, n, EVENTS_HISTORY, &err) < 0)
    log_warn ("%s", err.msg);
  free (rows);
}

static void *
writer_thread (void *arg)
{
  arca_events_t *b = arg;
  /* The history's commits are not fsynced: they survive kill -9 (they are
   * in the WAL), and a power loss keeps them up to the last synced commit
   * of a state change (store/db.h arca_db_defer_sync).  An fsync here
   * would hold the store's lock ~1 ms per batch, in front of the commits
   * that answers wait for. */
  arca_db_defer_sync (true);
  pthread_mutex_lock (&b->lock);
  for (;;)
    {
      while (b->pending_count == 0 && !b->closing)
        pthread_cond_wait (&b->pending_cond, &b->lock);
      if (b->pending_count == 0 && b->closing)
        break;
      ev_item_t **batch = b->pending;
      size_t n = b->pending_count;
      b->pending = NULL;
      b->pending_count = b->pending_cap = 0;
      b->writer_busy = true;
      pthread_mutex_unlock (&b->lock);
      write_batch (b, batch, n);
      for (size_t i = 0; i < n; i++)
        item_unref (batch[i]);
      free (batch);
      pthread_mutex_lock (&b->lock);
      b->writer_busy = false;
      pthread_cond_broadcast (&b->pending_cond);
    }
  pthread_mutex_unlock (&b->lock);
  return NULL;
}

/* ---- open / close ---- */

static void
history_push_locked (arca_events_t *b, ev_item_t *it)
{
  size_t at = (b->history_head + b->history_count) % EVENTS_HISTORY;
  if (b->history_count == EVENTS_HISTORY)
    {
      item_unref (b->history[b->history_head]);
      b->history[b->history_head] = it;
      b->history_head = (b->history_head + 1) % EVENTS_HISTORY;
    }
  else
    {
      b->history[at] = it;
      b->history_count++;
    }
}

int
events_open (arca_engine_t *e, arca_error_t *err)
{
  arca_events_t *b = xmalloc0 (sizeof *b);
  pthread_mutex_init (&b->lock, NULL);
  pthread_cond_init (&b->pending_cond, NULL);
  b->db = e->db;
  b->next_seq = 1;
  _cleanup_json_ json_t *rows = NULL;
  if (arca_db_events_load (e->db, EVENTS_HISTORY, &rows, err) < 0)
    {
      free (b);
      return -1;
    }
  size_t i;
  json_t *row;
  json_array_foreach (rows, i, row)
    {
      int64_t seq = json_integer_value (json_array_get (row, 0));
      int64_t t = json_integer_value (json_array_get (row, 1));
      const char *data = json_string_value (json_array_get (row, 2));
      if (data == NULL)
        continue;
      history_push_locked (b, item_new (seq, t, data));
      b->next_seq = seq + 1;
      b->last_time_ns = t;
    }
  /* The writer has the store lock in its batches only: a small stack. */
  pthread_attr_t attr;
  pthread_attr_init (&attr);
  pthread_attr_setstacksize (&attr, 256 * 1024);
  int r = pthread_create (&b->writer, &attr, writer_thread, b);
  pthread_attr_destroy (&attr);
  if (r != 0)
    {
      for (size_t k = 0; k < b->history_count; k++)
        item_unref (b->history[(b->history_head + k) % EVENTS_HISTORY]);
      free (b);
      return arca_error_errno (err, r, "start the event history writer");
    }
  b->writer_started = true;
  e->events = b;
  return 0;
}

void
events_close (arca_engine_t *e)
{
  arca_events_t *b = e->events;
  if (b == NULL)
    return;
  pthread_mutex_lock (&b->lock);
  b->closing = true;
  pthread_cond_broadcast (&b->pending_cond);
  for (ev_sub_t *s = b->subs; s; s = s->next)
    {
      s->ended = true;
      uint64_t one = 1;
      if (write (s->wake_fd, &one, sizeof one) < 0)
        log_debug ("events: wake subscriber: %s", strerror (errno));
    }
  pthread_mutex_unlock (&b->lock);
  if (b->writer_started)
    pthread_join (b->writer, NULL);
  /* The bus itself stays: streams still running end on their own and
   * emitters may still publish (nothing is written any more). */
}

/* ---- publishing ---- */

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Attributes in Go's map order (sorted keys), values as strings. */
static json_t *
sorted_attributes (json_t *attrs)
{
  json_t *out = json_object ();
  size_t n = json_object_size (attrs);
  if (n == 0)
    return out;
  const char **keys = xmalloc0 (n * sizeof *keys);
  size_t k = 0;
  const char *key;
  json_t *v;
  json_object_foreach (attrs, key, v)
    keys[k++] = key;
  qsort (keys, k, sizeof *keys, cmp_str);
  for (size_t i = 0; i < k; i++)
    {
      json_t *val = json_object_get (attrs, keys[i]);
      json_object_set_new (out, keys[i], json_string (json_is_string (val) ? json_string_value (val) : ""));
    }
  free (keys);
  return out;
}

static json_t *
message_json (const char *type, const char *action, const char *actor_id, json_t *attributes, int64_t time_ns)
{
  json_t *m = json_object ();
  /* moby Events.Log: the deprecated fields, for container and image events */
  if (strcmp (type, "container") == 0 || strcmp (type, "image") == 0)
    {
      json_object_set_new (m, "status", json_string (action));
      if (*actor_id)
        json_object_set_new (m, "id", json_string (actor_id));
      const char *from = json_string_value (json_object_get (attributes, "image"));
      if (strcmp (type, "container") == 0 && from && *from)
        json_object_set_new (m, "from", json_string (from));
    }
  json_object_set_new (m, "Type", json_string (type));
  json_object_set_new (m, "Action", json_string (action));
  json_object_set_new (m, "Actor", json_pack ("{s:s,s:O}", "ID", actor_id, "Attributes", attributes));
  json_object_set_new (m, "scope", json_string ("local"));
  json_object_set_new (m, "time", json_integer (time_ns / ARCA_NSEC_PER_SEC));
  json_object_set_new (m, "timeNano", json_integer (time_ns));
  return m;
}

static void
pending_push_locked (arca_events_t *b, ev_item_t *it)
{
  if (b->closing)
    return;
  if (b->pending_count == b->pending_cap)
    {
      b->pending_cap = b->pending_cap ? b->pending_cap * 2 : 16;
      b->pending = xrealloc (b->pending, b->pending_cap * sizeof *b->pending);
    }
  b->pending[b->pending_count++] = item_ref (it);
  pthread_cond_broadcast (&b->pending_cond);
}

static void
deliver_locked (ev_sub_t *s, ev_item_t *it)
{
  if (s->count == EVENTS_SUBSCRIBER_BUFFER)
    {
      if (s->skipped++ % 1000 == 0)
        log_warn ("events: a subscriber is %d events behind; skipping events for it", EVENTS_SUBSCRIBER_BUFFER);
      return;
    }
  s->queue[(s->head + s->count) % EVENTS_SUBSCRIBER_BUFFER] = item_ref (it);
  s->count++;
  uint64_t one = 1;
  if (write (s->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
    log_debug ("events: wake subscriber: %s", strerror (errno));
}

void
events_publish (arca_engine_t *e, const char *type, const char *action, const char *actor_id, json_t *attrs)
{
  arca_events_t *b = e->events;
  _cleanup_json_ json_t *attributes = sorted_attributes (attrs);
  json_decref (attrs);
  if (b == NULL)
    return;
  arca_event_view_t view = {
    .type = type, .action = action, .actor_id = actor_id ? actor_id : "", .scope = "local",
    .attributes = attributes,
  };
  bool is_image_create = strcmp (type, "image") == 0 && strcmp (action, "create") == 0;

  pthread_mutex_lock (&b->lock);
  /* Times never go backwards in the history, so since/until replays and
   * the order of seq agree. */
  int64_t now = time_now_ns ();
  if (now < b->last_time_ns)
    now = b->last_time_ns;
  b->last_time_ns = now;
  _cleanup_json_ json_t *m = message_json (type, action, view.actor_id, attributes, now);
  _cleanup_free_ char *text = json_dump_compact (m);
  ev_item_t *it = item_new (b->next_seq++, now, text);
  history_push_locked (b, it); /* the history's reference */
  pending_push_locked (b, it);
  for (ev_sub_t *s = b->subs; s; s = s->next)
    if (!(is_image_create && s->skip_image_create) && events_filter_match (s->filters, &view))
      deliver_locked (s, it);
  pthread_mutex_unlock (&b->lock);
}

/* attributes from a NULL-terminated key, value list */
static json_t *
attrs_from_va (va_list ap)
{
  json_t *a = json_object ();
  for (;;)
    {
      const char *k = va_arg (ap, const char *);
      if (k == NULL)
        break;
      const char *v = va_arg (ap, const char *);
      json_object_set_new (a, k, json_string (v ? v : ""));
    }
  return a;
}

static void
container_event_locked (arca_engine_t *e, arca_container_t *c, const char *action, json_t *a)
{
  /* moby LogContainerEventWithAttributes: labels over the extras, then
   * image and name. */
  json_t *labels = c->labels;
  const char *k;
  json_t *v;
  json_object_foreach (labels, k, v)
    if (json_is_string (v))
      json_object_set (a, k, v);
  const char *image = c->config_image;
  if (image && *image)
    json_object_set_new (a, "image", json_string (image));
  json_object_set_new (a, "name", json_string (c->name));
  events_publish (e, "container", action, c->id, a);
}

void
events_container_locked (arca_engine_t *e, arca_container_t *c, const char *action, ...)
{
  va_list ap;
  va_start (ap, action);
  json_t *a = attrs_from_va (ap);
  va_end (ap);
  container_event_locked (e, c, action, a);
}

void
events_container (arca_engine_t *e, arca_container_t *c, const char *action, ...)
{
  va_list ap;
  va_start (ap, action);
  json_t *a = attrs_from_va (ap);
  va_end (ap);
  pthread_mutex_lock (&e->lock);
  container_event_locked (e, c, action, a);
  pthread_mutex_unlock (&e->lock);
}

void
events_container_die_locked (arca_engine_t *e, arca_container_t *c, int exit_code, int64_t ran_ns)
{
  char code[16], dur[32];
  snprintf (code, sizeof code, "%d", exit_code);
  snprintf (dur, sizeof dur, "%lld", (long long) (ran_ns > 0 ? ran_ns / ARCA_NSEC_PER_SEC : 0));
  if (c->oom_killed)
    events_container_locked (e, c, "oom", NULL);
  events_container_locked (e, c, "die", "exitCode", code, "execDuration", dur, NULL);
}

void
events_container_signal (arca_engine_t *e, arca_container_t *c, int sig)
{
  char s[16];
  snprintf (s, sizeof s, "%d", sig);
  events_container (e, c, "kill", "signal", s, NULL);
}

void
events_container_resize (arca_engine_t *e, arca_container_t *c, unsigned height, unsigned width)
{
  char h[16], w[16];
  snprintf (h, sizeof h, "%u", height);
  snprintf (w, sizeof w, "%u", width);
  events_container (e, c, "resize", "height", h, "width", w, NULL);
}

void
events_network (arca_engine_t *e, const char *action, const char *network_id, const char *name,
                const char *driver, const char *container_id)
{
  json_t *a = json_pack ("{s:s,s:s}", "name", name ? name : "", "type", driver ? driver : "");
  if (container_id)
    json_object_set_new (a, "container", json_string (container_id));
  events_publish (e, "network", action, network_id, a);
}

void
events_container_networks (arca_engine_t *e, const char *container_id, const char *action)
{
  net_identity_t refs[64];
  size_t n = net_container_network_identities (e->net, container_id, refs, 64);
  /* Endpoints are listed newest first: announce in connection order. */
  for (size_t i = n; i-- > 0;)
    {
      events_network (e, action, refs[i].id, refs[i].name, refs[i].driver, container_id);
      net_identity_clear (&refs[i]);
    }
}

void
events_volume (arca_engine_t *e, const char *action, const char *name, ...)
{
  va_list ap;
  va_start (ap, name);
  json_t *a = attrs_from_va (ap);
  va_end (ap);
  events_publish (e, "volume", action, name, a);
}

void
events_container_mounts (arca_engine_t *e, arca_container_t *c, const char *action)
{
  bool mount = strcmp (action, "mount") == 0;
  pthread_mutex_lock (&e->lock);
  _cleanup_json_ json_t *mounts = json_deep_copy (c->mounts);
  pthread_mutex_unlock (&e->lock);
  size_t i;
  json_t *mp;
  json_array_foreach (mounts, i, mp)
    {
      const char *type = json_get_str (mp, "Type");
      if (type == NULL || strcmp (type, "volume") != 0)
        continue;
      const char *name = json_get_str (mp, "Name") ?: "";
      const char *driver = json_get_str (mp, "Driver");
      driver = driver && *driver ? driver : "local";
      if (mount)
        events_volume (e, action, name, "driver", driver, "container", c->id, "destination",
                       json_get_str (mp, "Destination") ?: "", "read/write",
                       json_get_bool (mp, "RW", true) ? "true" : "false", "propagation",
                       json_get_str (mp, "Propagation") ?: "", NULL);
      else
        events_volume (e, action, name, "driver", driver, "container", c->id, NULL);
    }
}

void
events_image (void *engine, const char *action, const char *image_id, const char *name, json_t *labels)
{
  json_t *a = json_object ();
  const char *k;
  json_t *v;
  json_object_foreach (labels, k, v)
    if (json_is_string (v))
      json_object_set (a, k, v);
  if (name && *name)
    json_object_set_new (a, "name", json_string (name));
  events_publish (engine, "image", action, image_id, a);
}

void
events_prune (arca_engine_t *e, const char *type, int64_t reclaimed)
{
  char r[32];
  snprintf (r, sizeof r, "%lld", (long long) (reclaimed < 0 ? 0 : reclaimed));
  events_publish (e, type, "prune", "", json_pack ("{s:s}", "reclaimed", r));
}

/* ---- subscribing ---- */

static void
sub_free (ev_sub_t *s)
{
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->count; i++)
    item_unref (s->queue[(s->head + i) % EVENTS_SUBSCRIBER_BUFFER]);
  free (s->queue);
  if (s->wake_fd >= 0)
    close (s->wake_fd);
  free (s);
}

static void
unsubscribe (arca_events_t *b, ev_sub_t *s)
{
  pthread_mutex_lock (&b->lock);
  for (ev_sub_t **pp = &b->subs; *pp; pp = &(*pp)->next)
    if (*pp == s)
      {
        *pp = s->next;
        break;
      }
  pthread_mutex_unlock (&b->lock);
  sub_free (s);
}

static int
write_items (ev_item_t **items, size_t n, int (*write_fn) (void *, const void *, size_t), void *ctx)
{
  int r = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (r == 0 && write_fn (ctx, items[i]->line, items[i]->len) < 0)
        r = -1;
      item_unref (items[i]);
    }
  return r;
}

/* History events between since and until that pass the filters (moby
 * loadBufferedEvents: nothing when neither is set). */
static ev_item_t **
replay_locked (arca_events_t *b, const arca_events_opts_t *o, size_t *n)
{
  *n = 0;
  if (!o->has_since && !o->has_until)
    return NULL;
  ev_item_t **v = xmalloc0 ((b->history_count + 1) * sizeof *v);
  for (size_t i = 0; i < b->history_count; i++)
    {
      ev_item_t *it = b->history[(b->history_head + i) % EVENTS_HISTORY];
      if ((o->has_since && it->time_ns < o->since_ns) || (o->has_until && it->time_ns > o->until_ns))
        continue;
      v[(*n)++] = item_ref (it);
    }
  return v;
}

/* Take every queued event (caller frees the array). */
static ev_item_t **
drain (arca_events_t *b, ev_sub_t *s, size_t *n, bool *ended)
{
  uint64_t counter;
  if (read (s->wake_fd, &counter, sizeof counter) < 0 && errno != EAGAIN)
    log_debug ("events: read wake fd: %s", strerror (errno));
  pthread_mutex_lock (&b->lock);
  *n = s->count;
  *ended = s->ended;
  ev_item_t **v = xmalloc0 ((s->count + 1) * sizeof *v);
  for (size_t i = 0; i < s->count; i++)
    v[i] = s->queue[(s->head + i) % EVENTS_SUBSCRIBER_BUFFER];
  s->head = 0;
  s->count = 0;
  pthread_mutex_unlock (&b->lock);
  return v;
}

int
events_stream (arca_engine_t *e, const arca_events_opts_t *o,
               int (*write_fn) (void *ctx, const void *data, size_t len), void *ctx, int cancel_fd,
               arca_error_t *err)
{
  arca_events_t *b = e->events;
  if (b == NULL)
    return arca_error_set (err, ARCA_ERR_UNAVAILABLE, "the event bus is not running");
  int64_t now = time_now_ns ();
  bool only_past = o->has_until && o->until_ns < now;

  ev_sub_t *s = NULL;
  if (!only_past)
    {
      s = xmalloc0 (sizeof *s);
      s->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (s->wake_fd < 0)
        {
          int en = errno;
          free (s);
          return arca_error_errno (err, en, "eventfd");
        }
      s->queue = xmalloc0 (EVENTS_SUBSCRIBER_BUFFER * sizeof *s->queue);
      s->filters = o->filters;
      s->skip_image_create = o->skip_image_create;
    }

  /* History and subscription in one step: nothing is missed or doubled. */
  pthread_mutex_lock (&b->lock);
  size_t n = 0;
  ev_item_t **past = replay_locked (b, o, &n);
  if (s)
    {
      s->next = b->subs;
      b->subs = s;
    }
  pthread_mutex_unlock (&b->lock);

  size_t kept = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (item_matches (past[i], o->filters, o->skip_image_create))
        past[kept++] = past[i];
      else
        item_unref (past[i]);
    }
  int r = write_items (past, kept, write_fn, ctx);
  free (past);
  if (s == NULL || r < 0)
    {
      if (s)
        unsubscribe (b, s);
      return 0;
    }

  for (;;)
    {
      int timeout = -1;
      if (o->has_until)
        {
          int64_t left = o->until_ns - time_now_ns ();
          if (left <= 0)
            break;
          timeout = (int) ((left + 999999) / 1000000);
        }
      struct pollfd p[2] = { { .fd = s->wake_fd, .events = POLLIN }, { .fd = cancel_fd, .events = POLLIN } };
      int pr = poll (p, cancel_fd >= 0 ? 2 : 1, timeout);
      if (pr < 0 && errno != EINTR)
        break;
      if (cancel_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
        break;
      if (!(p[0].revents & POLLIN))
        continue;
      bool ended = false;
      size_t k;
      ev_item_t **items = drain (b, s, &k, &ended);
      r = write_items (items, k, write_fn, ctx);
      free (items);
      if (r < 0 || ended)
        break;
    }
  unsubscribe (b, s);
  return 0;
}

/* Attach sessions: relay between a hijacked client socket and the shim's
 * attach stream (API "Attach to a container": the hijacked stream).  The shim does the framing, stdin
 * semantics and detach keys; the daemon only copies bytes and carries
 * half-closes across. */
#include "engine/events.h"
#include "engine/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/shim_client.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/stdcopy.h"

int
container_attach_check (arca_container_t *c, arca_error_t *err)
{
  if (c->paused)
    return arca_error_set (err, ARCA_ERR_CONFLICT, "container %s is paused, unpause the container before attach",
                           c->name);
  if (c->restarting)
    return arca_error_set (err, ARCA_ERR_CONFLICT,
                           "container %s is restarting, wait until the container is running", c->name);
  return 0;
}

static int
write_all (int fd, const char *p, size_t len)
{
  while (len > 0)
    {
      ssize_t n = send (fd, p, len, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == ENOTSOCK)
        n = write (fd, p, len);
      if (n <= 0)
        return -1;
      p += n;
      len -= n;
    }
  return 0;
}

/* Output framing converter for exec start (moby daemon/exec.go: the stream
 * is framed by the *start* request's Tty, not the exec's).  The shim frames
 * by the process's own TTY; `frame` wraps raw TTY output in stdout frames,
 * `unframe` strips the 8-byte headers of a multiplexed stream. */
typedef struct
{
  attach_framing_t mode;
  uint8_t hdr[STDCOPY_HEADER_LEN];
  size_t hdr_have;
  uint32_t left; /* payload bytes still due for the current frame */
} reframer_t;

static int
reframe_write (reframer_t *rf, int client, const char *buf, size_t len)
{
  if (rf->mode == ATTACH_FRAMING_AS_IS)
    return write_all (client, buf, len);
  if (rf->mode == ATTACH_FRAMING_FRAME_STDOUT)
    {
      uint8_t hdr[STDCOPY_HEADER_LEN];
      stdcopy_header (hdr, STDCOPY_STDOUT, (uint32_t) len);
      if (write_all (client, (const char *) hdr, sizeof hdr) < 0)
        return -1;
      return write_all (client, buf, len);
    }
  while (len > 0)
    {
      if (rf->left == 0)
        {
          size_t want = STDCOPY_HEADER_LEN - rf->hdr_have, take = len < want ? len : want;
          memcpy (rf->hdr + rf->hdr_have, buf, take);
          rf->hdr_have += take;
          buf += take;
          len -= take;
          if (rf->hdr_have < STDCOPY_HEADER_LEN)
            return 0;
          rf->hdr_have = 0;
          stdcopy_stream_t st;
          if (stdcopy_parse_header (rf->hdr, &st, &rf->left) < 0)
            return -1;
          continue;
        }
      size_t take = len < rf->left ? len : rf->left;
      if (write_all (client, buf, take) < 0)
        return -1;
      buf += take;
      len -= take;
      rf->left -= (uint32_t) take;
    }
  return 0;
}

/* Copy both ways until the shim ends the output stream. */
void
attach_relay (int client, int shim, const char *extra, size_t extra_len, bool stdin_wanted)
{
  attach_relay_framed (client, shim, extra, extra_len, stdin_wanted, ATTACH_FRAMING_AS_IS);
}

void
attach_relay_framed (int client, int shim, const char *extra, size_t extra_len, bool stdin_wanted,
                     attach_framing_t framing)
{
  reframer_t rf = { .mode = framing };
  if (stdin_wanted && extra_len > 0)
    write_all (shim, extra, extra_len);
  bool client_open = true;
  char buf[32768];
  for (;;)
    {
      struct pollfd p[2] = { { .fd = shim, .events = POLLIN }, { .fd = client, .events = POLLIN | POLLRDHUP } };
      int n = poll (p, client_open ? 2 : 1, -1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t r = read (shim, buf, sizeof buf);
          if (r < 0 && errno == EINTR)
            continue;
          if (r <= 0)
            break;
          if (reframe_write (&rf, client, buf, (size_t) r) < 0)
            break; /* the client is gone */
        }
      if (client_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR | POLLRDHUP)))
        {
          ssize_t r = read (client, buf, sizeof buf);
          if (r < 0 && errno == EINTR)
            continue;
          if (r <= 0)
            {
              /* Client half-closed (stdin EOF) or vanished: tell the shim
               * stdin ended, keep sending output. */
              client_open = false;
              shutdown (shim, SHUT_WR);
              if (r < 0)
                break;
              continue;
            }
          if (stdin_wanted && write_all (shim, buf, r) < 0)
            {
              client_open = false;
            }
        }
    }
}

static int
replay_write (void *ctx, const void *data, size_t len)
{
  return write_all (*(int *) ctx, data, len);
}

/* Wait (at most ~1 s) until the client has read what was sent so far,
 * i.e. the 101 answer.  Clients such as docker-py read the answer's head
 * through a buffered reader and then switch to the raw socket: bytes that
 * arrived together with the head would sit in that buffer and be lost.
 * The log replay is ready at once, so it must not race the head.
 * SIOCOUTQ on a unix socket: bytes not yet read by the peer. */
static void
wait_client_read_head (int fd)
{
  for (int i = 0; i < 200; i++)
    {
      int queued = 0;
      if (ioctl (fd, SIOCOUTQ, &queued) < 0 || queued == 0)
        return;
      struct pollfd p = { .fd = fd, .events = POLLRDHUP };
      if (poll (&p, 1, 5) > 0 && (p.revents & (POLLHUP | POLLERR | POLLRDHUP)))
        return;
    }
}

/* attach?logs=1: the whole log so far, framed as the live stream would be
 * (moby containerAttach reads it with Tail -1 before attaching). */
static void
replay_logs (arca_engine_t *e, arca_container_t *c, int client_fd, const arca_attach_opts_t *opts)
{
  if (!opts->out && !opts->err)
    return;
  wait_client_read_head (client_fd);
  arca_logs_opts_t lo = { .stdout_ = opts->out, .stderr_ = opts->err, .tail = -1 };
  arca_error_t err;
  if (container_logs (e, c, &lo, replay_write, &client_fd, -1, &err) < 0)
    log_debug ("attach %.12s: logs: %s", c->id, err.msg);
}

void
container_attach_announce (arca_engine_t *e, arca_container_t *c, arca_attach_opts_t *opts)
{
  if (opts->logs)
    return;
  events_container (e, c, "attach", NULL); /* events */
  opts->announced = true;
}

void
pending_attach_wake (pending_attach_t *pa)
{
  if (pa->wake_fd >= 0)
    (void) eventfd_write (pa->wake_fd, 1);
}

void
container_attach (arca_engine_t *e, arca_container_t *c, int client_fd, const char *extra, size_t extra_len,
                  const arca_attach_opts_t *opts)
{
  _cleanup_free_ char *sdir = container_state_dir (e, c->id);
  _cleanup_json_ json_t *cfg = container_config (c);
  bool stdin_wanted = opts->in && json_get_bool (cfg, "OpenStdin", false);
  int shim_fd = -1;
  arca_error_t err;
  if (opts->logs)
    replay_logs (e, c, client_fd, opts);
  if (!opts->announced)
    events_container (e, c, "attach", NULL); /* events: dockerd's, after the logs */
  if (!opts->stream)
    {
      if (opts->ready)
        opts->ready (opts->ready_ctx);
      shutdown (client_fd, SHUT_WR);
      return;
    }

  pthread_mutex_lock (&e->lock);
  bool running = c->running && !c->starting;
  pending_attach_t *pa = NULL;
  if (!running)
    {
      pa = calloc (1, sizeof *pa);
      pa->opts = *opts;
      pa->opts.in = stdin_wanted;
      pa->opts.detach_keys = opts->detach_keys ? strdup (opts->detach_keys) : NULL;
      pa->shim_fd = -1;
      pa->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
      pa->next = c->pending;
      c->pending = pa;
      pa->opts.ready = NULL; /* the copy never signals; the caller's opts do, once */
      if (opts->ready)
        opts->ready (opts->ready_ctx);
      /* Wait for the next start to connect us (or for removal). */
      /* A claimed session stays: the start holds pa until it sets shim_fd. */
      short client_events = POLLRDHUP;
      while (pa->shim_fd < 0 && !pa->failed && (pa->claimed || (!c->removed && !e->closing)))
        {
          /* The timeout only bounds how long daemon shutdown waits. */
          struct pollfd p[2] = { { .fd = client_fd, .events = client_events },
                                 { .fd = pa->wake_fd, .events = POLLIN } };
          pthread_mutex_unlock (&e->lock);
          int n = poll (p, pa->wake_fd >= 0 ? 2 : 1, 200);
          pthread_mutex_lock (&e->lock);
          if (n > 0 && (p[0].revents & (POLLHUP | POLLERR)) && !pa->claimed)
            break;
          /* A half-close is no goodbye: the docker CLI shuts its side at
           * once when it has no stdin to send (`docker run` without -i).
           * POLLRDHUP stays set from then on, so asking for it again would
           * spin this thread until the start; a hang-up (POLLHUP, always
           * reported) still ends the wait. */
          if (n > 0 && (p[0].revents & POLLRDHUP))
            client_events = 0;
        }
      shim_fd = pa->shim_fd;
      if (pa->claimed && shim_fd < 0 && !pa->failed)
        pa->failed = true;
      /* Unlink if still queued (client left or failure). */
      for (pending_attach_t **pp = &c->pending; *pp; pp = &(*pp)->next)
        if (*pp == pa)
          {
            *pp = pa->next;
            break;
          }
      free ((char *) pa->opts.detach_keys);
      if (pa->wake_fd >= 0)
        close (pa->wake_fd);
      free (pa);
    }
  if (running && opts->ready)
    opts->ready (opts->ready_ctx);
  if (running)
    c->attach_relays++; /* a pending session was counted by its start */
  pthread_mutex_unlock (&e->lock);

  if (running
      && shim_attach (sdir, stdin_wanted, opts->out, opts->err, opts->detach_keys, &shim_fd, &err) < 0)
    {
      log_debug ("attach %.12s: %s", c->id, err.msg);
      shim_fd = -1;
      pthread_mutex_lock (&e->lock);
      c->attach_relays--;
      pthread_cond_broadcast (&e->changed);
      pthread_mutex_unlock (&e->lock);
    }
  if (shim_fd < 0)
    {
      shutdown (client_fd, SHUT_WR);
      return;
    }
  attach_relay (client_fd, shim_fd, extra, extra_len, stdin_wanted);
  shutdown (client_fd, SHUT_WR);
  close (shim_fd);
  pthread_mutex_lock (&e->lock);
  c->attach_relays--;
  pthread_cond_broadcast (&e->changed);
  pthread_mutex_unlock (&e->lock);
}

void
attach_drain_wait_locked (arca_engine_t *e, arca_container_t *c)
{
  struct timespec deadline;
  clock_gettime (CLOCK_REALTIME, &deadline);
  deadline.tv_sec += ATTACH_DRAIN_S;
  while (c->attach_relays > 0)
    if (pthread_cond_timedwait (&e->changed, &e->lock, &deadline) == ETIMEDOUT)
      break;
}

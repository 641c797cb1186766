/* Attach sessions: relay between a hijacked client socket and the shim's
 * attach stream (client-flows.md 4.1).  The shim does the framing, stdin
 * semantics and detach keys; the daemon only copies bytes and carries
 * half-closes across. */
#include "engine/events.h"
#include "engine/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/shim_client.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"

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

/* Copy both ways until the shim ends the output stream. */
void
attach_relay (int client, int shim, const char *extra, size_t extra_len, bool stdin_wanted)
{
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
          if (write_all (client, buf, r) < 0)
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
  bool stdin_wanted = opts->in && json_get_bool (c->config, "OpenStdin", false);
  int shim_fd = -1;
  arca_error_t err;
  events_container (e, c, "attach", NULL); /* events: dockerd's, as the session begins */

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
      while (pa->shim_fd < 0 && !pa->failed && (pa->claimed || (!c->removed && !e->closing)))
        {
          /* The timeout only bounds how long daemon shutdown waits. */
          struct pollfd p[2] = { { .fd = client_fd, .events = POLLRDHUP }, { .fd = pa->wake_fd, .events = POLLIN } };
          pthread_mutex_unlock (&e->lock);
          int n = poll (p, pa->wake_fd >= 0 ? 2 : 1, 200);
          pthread_mutex_lock (&e->lock);
          if (n > 0 && (p[0].revents & (POLLHUP | POLLERR)) && !pa->claimed)
            break;
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

/* The channel to the host: the virtio-serial port named "arca.0". */
#include "guest/guest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"

/* /sys/class/virtio-ports/vportXpY/name holds the port's name; its device
 * node is /dev/vportXpY.  The port may show up a little after the module
 * is loaded: try for a while. */
static int
find_port (char *dev, size_t size)
{
  char node[64];
  for (int tries = 0; tries < 500; tries++)
    {
      if (sysfs_find ("/sys/class/virtio-ports", "name", VMPROTO_PORT_NAME, node, sizeof node) == 0)
        {
          snprintf (dev, size, "/dev/%s", node);
          return 0;
        }
      usleep (10000);
    }
  return -1;
}

int
chan_open (guest_t *g)
{
  char dev[300];
  if (find_port (dev, sizeof dev) < 0)
    return -1;
  for (int tries = 0; tries < 100; tries++)
    {
      g->chan_fd = open (dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
      if (g->chan_fd >= 0)
        return 0;
      usleep (10000); /* devtmpfs may not have the node yet */
    }
  return -1;
}

void
chan_flush (guest_t *g)
{
  while (g->out_off < g->out.len)
    {
      ssize_t n = write (g->chan_fd, g->out.data + g->out_off, g->out.len - g->out_off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break; /* EAGAIN: the host reads slower than we write */
      g->out_off += (size_t) n;
    }
  if (g->out_off == g->out.len)
    {
      g->out_off = g->out.len = 0;
      if (g->out.cap > 1024 * 1024)
        buf_free (&g->out);
    }
}

void
chan_drain (guest_t *g, int timeout_ms)
{
  int64_t deadline = guest_mono_ns () + (int64_t) timeout_ms * 1000000;
  while (g->out_off < g->out.len && guest_mono_ns () < deadline)
    {
      struct pollfd p = { .fd = g->chan_fd, .events = POLLOUT };
      poll (&p, 1, 50);
      chan_flush (g);
    }
}

void
chan_send (guest_t *g, uint32_t session, uint8_t type, const void *data, size_t len)
{
  vmproto_append (&g->out, session, type, data, len);
  chan_flush (g);
}

void
chan_send_json (guest_t *g, uint32_t session, uint8_t type, json_t *j)
{
  _cleanup_free_ char *text = j ? json_dumps (j, JSON_COMPACT) : NULL;
  json_decref (j);
  chan_send (g, session, type, text ? text : "{}", text ? strlen (text) : 2);
}

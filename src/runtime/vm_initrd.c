/* The guest's initramfs: a cpio "newc" archive (the kernel's
 * Documentation/driver-api/early-userspace/buffer-format.rst) holding the
 * agent as /init, the modules it loads and /dev/console. */
#include "runtime/vm.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strutil.h"

static void
pad4 (arca_cpio_t *c, size_t len)
{
  static const char zeros[4] = { 0 };
  size_t p = (4 - len % 4) % 4;
  if (p && fwrite (zeros, 1, p, c->f) != p)
    c->error = -1;
}

static void
header (arca_cpio_t *c, const char *name, unsigned mode, unsigned nlink, size_t size, unsigned rmaj, unsigned rmin)
{
  char h[111];
  size_t namesize = strlen (name) + 1;
  snprintf (h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", c->ino++, mode, 0u, 0u,
            nlink, 0u, (unsigned) size, 0u, 0u, rmaj, rmin, (unsigned) namesize, 0u);
  if (fwrite (h, 1, 110, c->f) != 110 || fwrite (name, 1, namesize, c->f) != namesize)
    c->error = -1;
  pad4 (c, 110 + namesize);
}

void
cpio_begin (arca_cpio_t *c, FILE *f)
{
  c->f = f;
  c->ino = 1;
  c->error = 0;
}

void
cpio_dir (arca_cpio_t *c, const char *name, unsigned mode)
{
  header (c, name, S_IFDIR | (mode & 07777), 2, 0, 0, 0);
}

void
cpio_file (arca_cpio_t *c, const char *name, unsigned mode, const void *data, size_t len)
{
  header (c, name, S_IFREG | (mode & 07777), 1, len, 0, 0);
  if (len && fwrite (data, 1, len, c->f) != len)
    c->error = -1;
  pad4 (c, len);
}

void
cpio_chardev (arca_cpio_t *c, const char *name, unsigned mode, unsigned major, unsigned minor)
{
  header (c, name, S_IFCHR | (mode & 07777), 1, 0, major, minor);
}

int
cpio_end (arca_cpio_t *c)
{
  header (c, "TRAILER!!!", 0, 1, 0, 0, 0);
  return c->error;
}

static int
add_file (arca_cpio_t *c, const char *name, const char *path, unsigned mode, arca_error_t *err)
{
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (fs_read_file (path, &data, &len, err) < 0)
    return -1;
  cpio_file (c, name, mode, data, len);
  return 0;
}

/* The modules named in modules.list, in its order (the guest loads them
 * in that order); names are plain file names in the same directory. */
static int
add_modules (arca_cpio_t *c, const char *dir, arca_error_t *err)
{
  _cleanup_free_ char *list = xasprintf ("%s/modules.list", dir);
  _cleanup_fclose_ FILE *f = fopen (list, "re");
  if (f == NULL)
    return errno == ENOENT ? 0 : arca_error_errno (err, errno, "open %s", list);
  add_file (c, "lib/modules/arca/modules.list", list, 0644, err);
  char line[256];
  while (fgets (line, sizeof line, f))
    {
      line[strcspn (line, "\r\n")] = '\0';
      if (line[0] == '\0' || line[0] == '#')
        continue;
      if (strchr (line, '/'))
        return arca_error_set (err, ARCA_ERR_INVALID, "%s: bad module name %s", list, line);
      _cleanup_free_ char *src = xasprintf ("%s/%s", dir, line);
      _cleanup_free_ char *name = xasprintf ("lib/modules/arca/%s", line);
      if (add_file (c, name, src, 0644, err) < 0)
        return -1;
    }
  return 0;
}

int
vm_initrd_build (const char *path, const char *agent, const char *modules_dir, arca_error_t *err)
{
  _cleanup_free_ char *tmp = xasprintf ("%s.tmp.%d", path, (int) getpid ());
  FILE *f = fopen (tmp, "we");
  if (f == NULL)
    return arca_error_errno (err, errno, "create %s", tmp);
  arca_cpio_t c;
  cpio_begin (&c, f);
  static const char *const dirs[] = { "dev", "proc", "sys", "run", "rootfs", "lib", "lib/modules", "lib/modules/arca",
                                      NULL };
  for (size_t i = 0; dirs[i]; i++)
    cpio_dir (&c, dirs[i], 0755);
  /* The kernel opens it for init's stdio before devtmpfs is mounted. */
  cpio_chardev (&c, "dev/console", 0600, 5, 1);
  int r = add_file (&c, "init", agent, 0755, err);
  if (r == 0 && modules_dir && *modules_dir)
    r = add_modules (&c, modules_dir, err);
  if (r == 0 && cpio_end (&c) < 0)
    r = arca_error_errno (err, EIO, "write %s", tmp);
  if (fclose (f) != 0 && r == 0)
    r = arca_error_errno (err, errno, "write %s", tmp);
  if (r == 0 && rename (tmp, path) < 0)
    r = arca_error_errno (err, errno, "rename %s", tmp);
  if (r < 0)
    unlink (tmp);
  return r;
}

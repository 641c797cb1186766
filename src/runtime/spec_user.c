/* Config.User resolution against the container's own /etc/passwd and
 * /etc/group, with moby/sys/user's semantics (GetExecUserPath,
 * GetAdditionalGroupsPath), and safe file access inside a rootfs. */
#include "runtime/spec_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strutil.h"

#define ID_MAX 2147483647L

/* ---- opening files inside a rootfs ---- */

/* Component-by-component resolution treating rootfs as "/" (util/fs.h
 * fs_open_in_root_walk); kept under this name for the unit tests. */
int spec_open_in_root_walk (const char *rootfs, const char *path, int flags);

int
spec_open_in_root_walk (const char *rootfs, const char *path, int flags)
{
  return fs_open_in_root_walk (rootfs, path, flags);
}

int
spec_open_in_root (const char *rootfs, const char *path, int flags)
{
  return fs_open_in_root (rootfs, path, flags);
}

int
spec_mkdir_in_root (const char *rootfs, const char *path, arca_error_t *err)
{
  _cleanup_free_ char *p = xstrdup (path);
  size_t len = strlen (p);
  while (len > 1 && p[len - 1] == '/')
    p[--len] = '\0';
  /* Walk prefixes; create each missing one in its (resolved) parent. */
  for (char *s = p;; s++)
    {
      if (*s != '/' && *s != '\0')
        continue;
      char saved = *s;
      *s = '\0';
      if (s != p)
        {
          _cleanup_close_ int fd = spec_open_in_root (rootfs, p, O_PATH | O_DIRECTORY);
          if (fd < 0 && errno == ENOENT)
            {
              char *base = strrchr (p, '/');
              _cleanup_close_ int parent = -1;
              if (base == NULL || base == p)
                parent = spec_open_in_root (rootfs, "/", O_PATH | O_DIRECTORY);
              else
                {
                  *base = '\0';
                  parent = spec_open_in_root (rootfs, p, O_PATH | O_DIRECTORY);
                  *base = '/';
                }
              const char *name = base ? base + 1 : p;
              if (parent < 0 || (mkdirat (parent, name, 0755) < 0 && errno != EEXIST))
                {
                  int e = errno;
                  *s = saved;
                  return arca_error_errno (err, e, "mkdir %s in container root", path);
                }
            }
          else if (fd < 0)
            {
              int e = errno;
              *s = saved;
              return arca_error_errno (err, e, "open %s in container root", path);
            }
        }
      *s = saved;
      if (saved == '\0')
        break;
    }
  return 0;
}

/* ---- /etc/passwd and /etc/group ---- */

typedef struct
{
  char *name;
  long uid, gid;
  char *home;
} pw_entry_t;

typedef struct
{
  char *name;
  long gid;
  char **members;
} gr_entry_t;

/* Fields of a colon-separated line; missing trailing fields are "". */
static char **
split_fields (char *line, int want)
{
  char **f = xmalloc0 ((want + 1) * sizeof (char *));
  char *p = line;
  for (int i = 0; i < want; i++)
    {
      f[i] = p;
      if (p == NULL)
        {
          f[i] = (char *) "";
          continue;
        }
      char *c = strchr (p, ':');
      if (c)
        {
          *c = '\0';
          p = c + 1;
        }
      else
        p = NULL;
    }
  return f;
}

/* strconv.Atoi-like: whole string, optional sign; false if not a number. */
static bool
parse_num (const char *s, long *out)
{
  if (s == NULL || *s == '\0')
    return false;
  errno = 0;
  char *end;
  long v = strtol (s, &end, 10);
  if (errno || *end != '\0' || isspace ((unsigned char) s[0]))
    return false;
  *out = v;
  return true;
}

static char *
trim (char *s)
{
  while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
    s++;
  size_t n = strlen (s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    s[--n] = '\0';
  return s;
}

/* NULL (not an error) when the file is missing, as moby treats it. */
static FILE *
open_etc (const char *rootfs, const char *path)
{
  int fd = spec_open_in_root (rootfs, path, O_RDONLY);
  if (fd < 0)
    return NULL;
  FILE *f = fdopen (fd, "r");
  if (f == NULL)
    close (fd);
  return f;
}

static void
pw_free (pw_entry_t *e)
{
  free (e->name);
  free (e->home);
}

/* First passwd entry matching by uid (numeric spec) or name. */
static bool
find_passwd (FILE *f, const char *name, bool by_uid, long uid, pw_entry_t *out)
{
  if (f == NULL)
    return false;
  char *line = NULL;
  size_t cap = 0;
  bool found = false;
  while (!found && getline (&line, &cap, f) >= 0)
    {
      char *l = trim (line);
      if (*l == '\0')
        continue;
      _cleanup_free_ char **fl = split_fields (l, 7);
      long u = 0, g = 0;
      parse_num (fl[2], &u);
      parse_num (fl[3], &g);
      if (by_uid ? u == uid : strcmp (fl[0], name) == 0)
        {
          out->name = xstrdup (fl[0]);
          out->uid = u;
          out->gid = g;
          out->home = xstrdup (fl[5]);
          found = true;
        }
    }
  free (line);
  return found;
}

typedef bool (*group_filter_t) (const char *name, long gid, char **members, void *data);

/* Calls cb for every matching group, in file order. */
static void
scan_groups (FILE *f, group_filter_t filter, void *data, void (*cb) (long gid, const char *name, void *data))
{
  if (f == NULL)
    return;
  char *line = NULL;
  size_t cap = 0;
  while (getline (&line, &cap, f) >= 0)
    {
      char *l = trim (line);
      if (*l == '\0')
        continue;
      _cleanup_free_ char **fl = split_fields (l, 4);
      long g = 0;
      parse_num (fl[2], &g);
      _cleanup_strv_ char **members = xmalloc0 (sizeof (char *));
      char *save = NULL;
      for (char *m = strtok_r (fl[3], ",", &save); m; m = strtok_r (NULL, ",", &save))
        members = strv_append (members, m);
      if (filter (fl[0], g, members, data))
        cb (g, fl[0], data);
    }
  free (line);
}

typedef struct
{
  const char *user_name;   /* implicit form: groups listing this user */
  const char *group_arg;   /* explicit form */
  bool group_numeric;
  long group_id;
  long *gids;
  size_t n;
} group_query_t;

static bool
group_match (const char *name, long gid, char **members, void *data)
{
  group_query_t *q = data;
  if (q->group_arg == NULL)
    {
      for (char **m = members; *m; m++)
        if (strcmp (*m, q->user_name) == 0)
          return true;
      return false;
    }
  if (q->group_numeric)
    return gid == q->group_id;
  return strcmp (name, q->group_arg) == 0;
}

static void
group_collect (long gid, const char *name, void *data)
{
  group_query_t *q = data;
  q->gids = xrealloc (q->gids, (q->n + 1) * sizeof (long));
  q->gids[q->n++] = gid;
}

int
spec_resolve_user (const char *rootfs, const char *user, uid_t *uid, gid_t *gid, gid_t **additional,
                   size_t *n_additional, char **home, arca_error_t *err)
{
  const char *spec = user ? user : "";
  _cleanup_free_ char *user_arg = xstrdup (spec);
  char *group_arg = strchr (user_arg, ':');
  if (group_arg)
    *group_arg++ = '\0';
  /* moby's parseLine drops everything after a second colon. */
  if (group_arg && strchr (group_arg, ':'))
    *strchr (group_arg, ':') = '\0';
  if (group_arg && *group_arg == '\0')
    group_arg = NULL;

  long uid_num = 0, gid_num = 0;
  bool uid_numeric = parse_num (user_arg, &uid_num);
  bool gid_numeric = group_arg && parse_num (group_arg, &gid_num);

  long r_uid = 0, r_gid = 0;
  _cleanup_free_ char *r_home = NULL;
  _cleanup_free_ char *matched = NULL;

  _cleanup_fclose_ FILE *pw = open_etc (rootfs, "/etc/passwd");
  pw_entry_t e = { 0 };
  /* An empty spec means "the current state", uid 0. */
  bool found = find_passwd (pw, user_arg, user_arg[0] == '\0' || uid_numeric, uid_numeric ? uid_num : 0, &e);
  if (found)
    {
      matched = arca_steal (e.name);
      r_uid = e.uid;
      r_gid = e.gid;
      r_home = arca_steal (e.home);
      pw_free (&e);
    }
  else if (user_arg[0] != '\0')
    {
      if (!uid_numeric)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "unable to find user %s: no matching entries in passwd file",
                               user_arg);
      if (uid_num < 0 || uid_num > ID_MAX)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "uids and gids must be in range 0-%ld", ID_MAX);
      r_uid = uid_num;
    }

  group_query_t q = { .user_name = matched, .group_arg = group_arg, .group_numeric = gid_numeric,
                      .group_id = gid_num };
  if (group_arg || matched)
    {
      _cleanup_fclose_ FILE *gr = open_etc (rootfs, "/etc/group");
      scan_groups (gr, group_match, &q, group_collect);
    }
  _cleanup_free_ long *gids = q.gids;
  size_t n_sgids = 0;
  if (group_arg)
    {
      if (q.n > 0)
        r_gid = q.gids[0];
      else if (!gid_numeric)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "unable to find group %s: no matching entries in group file",
                               group_arg);
      else if (gid_num < 0 || gid_num > ID_MAX)
        return arca_error_set (err, ARCA_ERR_INTERNAL, "uids and gids must be in range 0-%ld", ID_MAX);
      else
        r_gid = gid_num;
    }
  else
    n_sgids = q.n;  /* supplementary groups only in the implicit form */

  *uid = (uid_t) r_uid;
  *gid = (gid_t) r_gid;
  if (additional)
    {
      gid_t *add = xmalloc0 ((n_sgids + 1) * sizeof (gid_t));
      add[0] = (gid_t) r_gid;
      for (size_t i = 0; i < n_sgids; i++)
        add[i + 1] = (gid_t) gids[i];
      *additional = add;
      if (n_additional)
        *n_additional = n_sgids + 1;
    }
  if (home)
    *home = xstrdup (r_home && *r_home ? r_home : "/");
  return 0;
}

/* Linux's MAXSYMLINKS: a loop of links ends the resolution */
#define SPEC_LINKS_MAX 40

char *
spec_resolve_in_root (const char *rootfs, const char *path)
{
  _cleanup_free_ char *todo = xstrdup (path);
  arca_buf_t out = { 0 };
  int links = 0;
  const char *rest = todo;
  for (;;)
    {
      while (*rest == '/')
        rest++;
      if (*rest == '\0')
        break;
      size_t len = strcspn (rest, "/");
      if (len == 1 && rest[0] == '.')
        {
          rest += len;
          continue;
        }
      if (len == 2 && rest[0] == '.' && rest[1] == '.')
        {
          while (out.len > 0 && out.data[--out.len] != '/')
            ;
          rest += len;
          continue;
        }
      size_t parent = out.len;
      buf_append (&out, "/", 1);
      buf_append (&out, rest, len);
      rest += len;
      if (links >= SPEC_LINKS_MAX)
        continue;
      _cleanup_free_ char *host = xasprintf ("%s%.*s", rootfs, (int) out.len, out.data);
      char target[PATH_MAX];
      ssize_t n = readlink (host, target, sizeof target - 1);
      if (n <= 0)
        continue; /* not a link, or missing: kept as it is */
      target[n] = '\0';
      links++;
      out.len = target[0] == '/' ? 0 : parent;
      char *next = xasprintf ("%s/%s", target, rest);
      free (todo);
      todo = next;
      rest = todo;
    }
  if (out.len == 0)
    buf_append (&out, "/", 1);
  buf_append (&out, "", 1);
  return out.data;
}

void
spec_gids_add (json_t *gids, json_int_t gid)
{
  size_t i;
  json_t *v;
  json_array_foreach (gids, i, v)
    if (json_integer_value (v) == gid)
      return;
  json_array_append_new (gids, json_integer (gid));
}

typedef struct
{
  char **wanted;
  long *gids;
  char **names;   /* parallel to gids */
  size_t n;
} add_query_t;

static bool
add_match (const char *name, long gid, char **members, void *data)
{
  add_query_t *q = data;
  char num[32];
  snprintf (num, sizeof num, "%ld", gid);
  for (char **w = q->wanted; *w; w++)
    if (strcmp (*w, name) == 0 || strcmp (*w, num) == 0)
      return true;
  return false;
}

static void
add_collect (long gid, const char *name, void *data)
{
  add_query_t *q = data;
  q->gids = xrealloc (q->gids, (q->n + 1) * sizeof (long));
  q->names = xrealloc (q->names, (q->n + 1) * sizeof (char *));
  q->gids[q->n] = gid;
  q->names[q->n] = xstrdup (name);
  q->n++;
}

int
spec_resolve_group_add (const char *rootfs, char **group_add, gid_t **gids, size_t *n, arca_error_t *err)
{
  *gids = NULL;
  *n = 0;
  if (group_add == NULL || group_add[0] == NULL)
    return 0;
  add_query_t q = { .wanted = group_add };
  {
    _cleanup_fclose_ FILE *gr = open_etc (rootfs, "/etc/group");
    scan_groups (gr, add_match, &q, add_collect);
  }
  _cleanup_free_ gid_t *res = xmalloc0 ((strv_len (group_add) + 1) * sizeof (gid_t));
  size_t count = 0;
  int rc = 0;
  for (char **ag = group_add; *ag && rc == 0; ag++)
    {
      long gid = -1;
      char num[32];
      for (size_t i = 0; i < q.n && gid < 0; i++)
        {
          snprintf (num, sizeof num, "%ld", q.gids[i]);
          if (strcmp (q.names[i], *ag) == 0 || strcmp (num, *ag) == 0)
            gid = q.gids[i];
        }
      if (gid < 0)
        {
          long v;
          if (!parse_num (*ag, &v))
            rc = arca_error_set (err, ARCA_ERR_INTERNAL, "Unable to find group %s: no matching entries in group file",
                                 *ag);
          else if (v < 0 || v > ID_MAX)
            rc = arca_error_set (err, ARCA_ERR_INTERNAL, "uids and gids must be in range 0-%ld", ID_MAX);
          gid = v;
        }
      if (rc < 0)
        break;
      bool dup = false;
      for (size_t i = 0; i < count; i++)
        dup = dup || res[i] == (gid_t) gid;
      if (!dup)
        res[count++] = (gid_t) gid;
    }
  for (size_t i = 0; i < q.n; i++)
    free (q.names[i]);
  free (q.names);
  free (q.gids);
  if (rc < 0)
    return -1;
  *gids = arca_steal (res);
  *n = count;
  return 0;
}

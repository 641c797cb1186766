/* Container names and IDs, as dockerd makes and checks them
 * (moby daemon/names.go, pkg/stringid, pkg/namesgenerator). */
#include "engine/internal.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "util/strutil.h"

int
container_name_validate (const char *name, arca_error_t *err)
{
  const char *n = name[0] == '/' ? name + 1 : name;
  size_t len = strlen (n);
  bool ok = len >= 2;
  for (size_t i = 0; ok && i < len; i++)
    {
      char ch = n[i];
      bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
      ok = i == 0 ? alnum : (alnum || ch == '_' || ch == '.' || ch == '-');
    }
  if (!ok)
    return arca_error_set (err, ARCA_ERR_INVALID,
                           "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
  return 0;
}

static uint32_t
rand32 (void)
{
  uint32_t v = 0;
  if (getrandom (&v, sizeof v, 0) != sizeof v)
    v = 4;
  return v;
}

/* Our own word lists (not Docker's), same "adjective_surname" shape. */
static const char *const adjectives[] = {
  "agile", "bold", "brave", "bright", "calm", "clever", "crisp", "eager", "fair", "fancy", "gentle", "glad",
  "happy", "keen", "kind", "lively", "lucid", "merry", "modest", "neat", "nimble", "noble", "plucky", "polite",
  "proud", "quick", "quiet", "rapid", "serene", "sharp", "shy", "sleek", "smart", "steady", "sunny", "swift",
  "tidy", "vivid", "warm", "wise", "witty", "zesty",
};
static const char *const surnames[] = {
  "babbage", "bohr", "curie", "darwin", "dijkstra", "euler", "faraday", "fermat", "gauss", "hopper",
  "hypatia", "kepler", "knuth", "lamport", "liskov", "lovelace", "maxwell", "meitner", "newton", "noether",
  "pascal", "planck", "ritchie", "shannon", "tesla", "thompson", "torvalds", "turing", "volta", "wozniak",
};

char *
container_name_generate (void)
{
  return xasprintf ("%s_%s", adjectives[rand32 () % (sizeof adjectives / sizeof adjectives[0])],
                    surnames[rand32 () % (sizeof surnames / sizeof surnames[0])]);
}

void
container_id_generate (char out[65])
{
  for (;;)
    {
      unsigned char b[32];
      if (getrandom (b, sizeof b, 0) != sizeof b)
        for (size_t i = 0; i < sizeof b; i++)
          b[i] = (unsigned char) rand32 ();
      for (int i = 0; i < 32; i++)
        sprintf (out + i * 2, "%02x", b[i]);
      /* Like pkg/stringid: a short ID made only of digits could be taken
       * for a number, so draw again. */
      bool digits = true;
      for (int i = 0; i < 12; i++)
        if (out[i] < '0' || out[i] > '9')
          digits = false;
      if (!digits)
        return;
    }
}

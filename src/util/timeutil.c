#include "util/timeutil.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/strutil.h"

int64_t
time_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t) ts.tv_sec * ARCA_NSEC_PER_SEC + ts.tv_nsec;
}

int64_t
time_mono_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * ARCA_NSEC_PER_SEC + ts.tv_nsec;
}

static void
format_base (int64_t ns, char *buf, size_t len, int fixed)
{
  if (ns == 0)
    {
      snprintf (buf, len, "0001-01-01T00:00:00Z");
      return;
    }
  time_t sec = ns / ARCA_NSEC_PER_SEC;
  long frac = ns % ARCA_NSEC_PER_SEC;
  struct tm tm;
  gmtime_r (&sec, &tm);
  char base[32];
  strftime (base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  if (fixed)
    {
      snprintf (buf, len, "%s.%09ldZ", base, frac);
      return;
    }
  if (frac == 0)
    {
      snprintf (buf, len, "%sZ", base);
      return;
    }
  char f[16];
  snprintf (f, sizeof f, "%09ld", frac);
  for (int i = 8; i > 0 && f[i] == '0'; i--)
    f[i] = '\0';
  snprintf (buf, len, "%s.%sZ", base, f);
}

void time_format_rfc3339nano (int64_t ns, char *buf, size_t len) { format_base (ns, buf, len, 0); }
void time_format_rfc3339nano_fixed (int64_t ns, char *buf, size_t len) { format_base (ns, buf, len, 1); }

/* sec s + frac ns in ns, saturated: instants past 2262 (or before 1677)
 * do not fit int64 nanoseconds; as filter bounds they mean "never" or
 * "always", and signed overflow is undefined (found by fuzz_http). */
static int64_t
ns_saturated (long long sec, long frac)
{
  if (sec > INT64_MAX / ARCA_NSEC_PER_SEC - 1)
    return INT64_MAX;
  if (sec < INT64_MIN / ARCA_NSEC_PER_SEC + 1)
    return INT64_MIN;
  return (int64_t) sec * ARCA_NSEC_PER_SEC + frac;
}

int
time_parse_rfc3339 (const char *s, int64_t *ns)
{
  struct tm tm;
  memset (&tm, 0, sizeof tm);
  const char *p = strptime (s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (p == NULL)
    return -1;
  long frac = 0;
  if (*p == '.')
    {
      p++;
      int digits = 0;
      while (*p >= '0' && *p <= '9')
        {
          if (digits < 9)
            {
              frac = frac * 10 + (*p - '0');
              digits++;
            }
          p++;
        }
      while (digits++ < 9)
        frac *= 10;
    }
  long off = 0;
  if (*p == 'Z' || *p == 'z')
    p++;
  else if (*p == '+' || *p == '-')
    {
      int hh, mm;
      if (sscanf (p + 1, "%2d:%2d", &hh, &mm) != 2)
        return -1;
      off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
      p += 6;
    }
  else
    return -1;
  if (*p)
    return -1;
  time_t t = timegm (&tm) - off;
  *ns = ns_saturated ((long long) t, frac);
  return 0;
}

int
time_parse_timestamp (const char *s, int64_t *ns)
{
  if (s == NULL || *s == '\0')
    return -1;
  char *end;
  long long sec = strtoll (s, &end, 10);
  if (end != s && (*end == '\0' || *end == '.'))
    {
      long frac = 0;
      if (*end == '.')
        {
          const char *p = end + 1;
          int digits = 0;
          while (*p >= '0' && *p <= '9')
            {
              if (digits < 9)
                {
                  frac = frac * 10 + (*p - '0');
                  digits++;
                }
              p++;
            }
          if (*p)
            return -1;
          while (digits++ < 9)
            frac *= 10;
        }
      *ns = ns_saturated (sec, frac);
      return 0;
    }
  return time_parse_rfc3339 (s, ns);
}

void
time_human_duration (int64_t ns, char *buf, size_t len)
{
  double seconds = (double) ns / ARCA_NSEC_PER_SEC;
  long s = (long) seconds;
  if (s < 1)
    snprintf (buf, len, "Less than a second");
  else if (s == 1)
    snprintf (buf, len, "1 second");
  else if (s < 60)
    snprintf (buf, len, "%ld seconds", s);
  else if (s / 60 == 1)
    snprintf (buf, len, "About a minute");
  else if (s / 60 < 60)
    snprintf (buf, len, "%ld minutes", s / 60);
  else if ((long) (seconds / 3600 + 0.5) == 1)
    snprintf (buf, len, "About an hour");
  else if (s / 3600 < 48)
    snprintf (buf, len, "%ld hours", (long) (seconds / 3600 + 0.5));
  else if (s / 3600 < 24 * 7 * 2)
    snprintf (buf, len, "%ld days", s / 86400);
  else if (s / 3600 < 24 * 30 * 2)
    snprintf (buf, len, "%ld weeks", s / (86400 * 7));
  else if (s / 3600 < 24 * 365 * 2)
    snprintf (buf, len, "%ld months", s / (86400 * 30));
  else
    snprintf (buf, len, "%ld years", s / (86400 * 365));
}

/* Go's time.ParseDuration, which timetypes.GetTimestamp tries first
 * ("24h", "1h30m", "1.5h"); -1 if s is not a duration. */
int
time_parse_go_duration (const char *s, int64_t *ns)
{
  static const struct
  {
    const char *unit;
    double mult;
  } units[] = { { "ns", 1 }, { "us", 1e3 }, { "µs", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 } };
  bool neg = false;
  if (*s == '-' || *s == '+')
    neg = *s++ == '-';
  if (*s == '\0')
    return -1;
  double total = 0;
  while (*s)
    {
      /* Go takes digits and one '.': no exponent, no hex, no "inf"
       * (strtod would read "1e5h" as 100000 hours) */
      size_t n = strspn (s, "0123456789.");
      char num[64];
      if (n == 0 || n >= sizeof num)
        return -1;
      memcpy (num, s, n);
      num[n] = '\0';
      char *end;
      double v = strtod (num, &end);
      if (*end != '\0' || strchr (strchr (num, '.') ? strchr (num, '.') + 1 : num, '.'))
        return -1;
      s += n;
      int best = -1;
      size_t best_len = 0;
      for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        {
          size_t l = strlen (units[i].unit);
          if (strncmp (s, units[i].unit, l) == 0 && l > best_len)
            {
              best = (int) i;
              best_len = l;
            }
        }
      if (best < 0)
        return -1;
      total += v * units[best].mult;
      s += best_len;
    }
  /* Go: "time: invalid duration" past the int64 nanoseconds (about 292
   * years); a cast would be undefined (found by fuzz_http) */
  if (!(total < 9223372036854775807.0))
    return -1;
  *ns = (int64_t) (neg ? -total : total);
  return 0;
}

/* The message of Go's time.ParseDuration for s that
 * time_parse_go_duration refused: "time: missing unit in duration",
 * "time: unknown unit", else "time: invalid duration" (src/time/format.go). */
char *
time_go_duration_error (const char *s)
{
  static const char *const units[] = { "ns", "us", "µs", "ms", "s", "m", "h", NULL };
  const char *p = s;
  if (*p == '-' || *p == '+')
    p++;
  while (*p && (isdigit ((unsigned char) *p) || *p == '.'))
    {
      while (isdigit ((unsigned char) *p) || *p == '.')
        p++;
      size_t ul = strcspn (p, "0123456789.");
      if (ul == 0)
        return *p ? xasprintf ("time: invalid duration \"%s\"", s)
                  : xasprintf ("time: missing unit in duration \"%s\"", s);
      bool known = false;
      for (size_t i = 0; units[i]; i++)
        known |= strlen (units[i]) == ul && strncmp (p, units[i], ul) == 0;
      if (!known)
        return xasprintf ("time: unknown unit \"%.*s\" in duration \"%s\"", (int) ul, p, s);
      p += ul;
    }
  return xasprintf ("time: invalid duration \"%s\"", s);
}

/* Go's time.Duration.String (src/time/time.go): "0s", "1.5µs", "250ms",
 * "1.5s", "1m30s", "1h0m0s"; fractions without trailing zeros. */
static size_t
fmt_frac (char *out, uint64_t v, int prec, uint64_t *rest)
{
  /* digits of v below 10^prec, trailing zeros dropped, with a dot */
  char digits[24];
  int n = 0;
  bool print = false;
  for (int i = 0; i < prec; i++)
    {
      int d = (int) (v % 10);
      print = print || d != 0;
      if (print)
        digits[n++] = (char) ('0' + d);
      v /= 10;
    }
  size_t len = 0;
  if (print)
    {
      out[len++] = '.';
      while (n > 0)
        out[len++] = digits[--n];
    }
  *rest = v;
  return len;
}

void
time_format_go_duration (int64_t ns, char *buf, size_t len)
{
  char out[64];
  size_t at = 0;
  bool neg = ns < 0;
  uint64_t u = neg ? (uint64_t) (-(ns + 1)) + 1 : (uint64_t) ns;
  if (u == 0)
    {
      snprintf (buf, len, "0s");
      return;
    }
  char tmp[64];
  size_t t = 0;
  if (u < (uint64_t) ARCA_NSEC_PER_SEC)
    {
      /* ns, µs or ms with a fraction */
      int prec;
      const char *unit;
      if (u < 1000)
        {
          prec = 0;
          unit = "ns";
        }
      else if (u < 1000000)
        {
          prec = 3;
          unit = "µs";
        }
      else
        {
          prec = 6;
          unit = "ms";
        }
      uint64_t whole;
      char frac[24];
      size_t fl = fmt_frac (frac, u, prec, &whole);
      t = (size_t) snprintf (tmp, sizeof tmp, "%llu%.*s%s", (unsigned long long) whole, (int) fl, frac, unit);
    }
  else
    {
      uint64_t secs;
      char frac[24];
      size_t fl = fmt_frac (frac, u, 9, &secs);
      uint64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
      if (h > 0)
        t = (size_t) snprintf (tmp, sizeof tmp, "%lluh%llum%llu%.*ss", (unsigned long long) h,
                               (unsigned long long) m, (unsigned long long) s, (int) fl, frac);
      else if (secs >= 60)
        t = (size_t) snprintf (tmp, sizeof tmp, "%llum%llu%.*ss", (unsigned long long) m, (unsigned long long) s,
                               (int) fl, frac);
      else
        t = (size_t) snprintf (tmp, sizeof tmp, "%llu%.*ss", (unsigned long long) s, (int) fl, frac);
    }
  if (neg)
    out[at++] = '-';
  memcpy (out + at, tmp, t + 1);
  snprintf (buf, len, "%s", out);
}

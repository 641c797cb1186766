/* Shared helpers of the libFuzzer harnesses (make fuzz; tests/fuzz/README.md).
 * Each harness feeds its input to Arca's own parsing functions, never to a
 * copy of them. */
#ifndef ARCA_TESTS_FUZZ_H
#define ARCA_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Split data at the first NUL bytes into up to n NUL-terminated parts
 * (malloc'd copies; missing parts are ""). Free with fuzz_parts_free. */
static inline void
fuzz_split (const uint8_t *data, size_t size, char **parts, size_t n)
{
  size_t off = 0;
  for (size_t i = 0; i < n; i++)
    {
      size_t end = off;
      while (end < size && (i == n - 1 || data[end] != 0))
        end++;
      size_t len = end > off ? end - off : 0;
      parts[i] = malloc (len + 1);
      if (len)
        memcpy (parts[i], data + off, len);
      parts[i][len] = '\0';
      off = end < size ? end + 1 : size;
    }
}

static inline void
fuzz_parts_free (char **parts, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (parts[i]);
}

#endif

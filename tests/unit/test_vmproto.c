/* The VM agent protocol's framing (util/vmproto.h): headers, whole frames,
 * incremental decoding across arbitrary splits, and rejection of streams
 * that cannot be ours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/vmproto.h"

static void
test_header_roundtrip (void **state)
{
  uint8_t h[VMPROTO_HEADER_LEN];
  vmproto_header_pack (h, 0x01020304, 0xa0b0c0d0, VM_STDOUT);
  const uint8_t want[VMPROTO_HEADER_LEN] = { 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0, VM_STDOUT, 0, 0, 0 };
  assert_memory_equal (h, want, sizeof want);
  /* 0x01020304 is above the payload limit: packable, not acceptable. */
  vmproto_header_t out;
  assert_int_equal (vmproto_header_unpack (h, &out), -1);
  vmproto_header_pack (h, 17, 2, VM_EXEC);
  assert_int_equal (vmproto_header_unpack (h, &out), 0);
  assert_int_equal (out.length, 17);
  assert_int_equal (out.session, 2);
  assert_int_equal (out.type, VM_EXEC);
}

static void
test_header_rejects (void **state)
{
  uint8_t h[VMPROTO_HEADER_LEN];
  vmproto_header_t out;
  vmproto_header_pack (h, 0, 0, 0); /* type 0 is not a type */
  assert_int_equal (vmproto_header_unpack (h, &out), -1);
  vmproto_header_pack (h, 0, 0, VM_TYPE_MAX);
  assert_int_equal (vmproto_header_unpack (h, &out), -1);
  vmproto_header_pack (h, 0, 0, VM_HELLO);
  h[9] = 1; /* reserved flags */
  assert_int_equal (vmproto_header_unpack (h, &out), -1);
  vmproto_header_pack (h, VMPROTO_MAX_PAYLOAD, 0, VM_STDIN);
  assert_int_equal (vmproto_header_unpack (h, &out), 0);
  vmproto_header_pack (h, VMPROTO_MAX_PAYLOAD + 1, 0, VM_STDIN);
  assert_int_equal (vmproto_header_unpack (h, &out), -1);
}

static void
test_frames_in_one_feed (void **state)
{
  arca_buf_t b = { 0 };
  vmproto_append (&b, 1, VM_STDOUT, "hello", 5);
  vmproto_append (&b, 1, VM_STDOUT, NULL, 0); /* end of stream */
  vmproto_append_credit (&b, 3, 65536);
  vmproto_reader_t r = { 0 };
  vmproto_reader_feed (&r, b.data, b.len);
  vmproto_frame_t f;
  assert_int_equal (vmproto_reader_next (&r, &f), 1);
  assert_int_equal (f.h.type, VM_STDOUT);
  assert_int_equal (f.h.session, 1);
  assert_int_equal (f.h.length, 5);
  assert_memory_equal (f.payload, "hello", 5);
  assert_int_equal (vmproto_reader_next (&r, &f), 1);
  assert_int_equal (f.h.type, VM_STDOUT);
  assert_int_equal (f.h.length, 0);
  assert_int_equal (vmproto_reader_next (&r, &f), 1);
  assert_int_equal (f.h.type, VM_CREDIT);
  assert_int_equal (f.h.session, 3);
  assert_int_equal (vmproto_credit_value (f.payload, f.h.length), 65536);
  assert_int_equal (vmproto_reader_next (&r, &f), 0);
  assert_int_equal (vmproto_reader_pending (&r), 0);
  vmproto_reader_free (&r);
  buf_free (&b);
}

/* Every split of the stream, down to one byte at a time, gives the same
 * frames: a reader never returns a frame before all of it is in. */
static void
test_byte_at_a_time (void **state)
{
  arca_buf_t b = { 0 };
  char big[5000];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (char) (i * 7);
  vmproto_append (&b, 7, VM_STDERR, big, sizeof big);
  vmproto_append (&b, 0, VM_HELLO, "{}", 2);
  vmproto_reader_t r = { 0 };
  vmproto_frame_t f;
  int frames = 0;
  for (size_t i = 0; i < b.len; i++)
    {
      vmproto_reader_feed (&r, b.data + i, 1);
      int n = vmproto_reader_next (&r, &f);
      assert_true (n >= 0);
      if (n == 0)
        continue;
      frames++;
      if (frames == 1)
        {
          assert_int_equal (i, VMPROTO_HEADER_LEN + sizeof big - 1);
          assert_int_equal (f.h.session, 7);
          assert_memory_equal (f.payload, big, sizeof big);
        }
      else
        {
          assert_int_equal (f.h.type, VM_HELLO);
          assert_memory_equal (f.payload, "{}", 2);
        }
    }
  assert_int_equal (frames, 2);
  vmproto_reader_free (&r);
  buf_free (&b);
}

/* A long stream through a reader that is drained as it goes keeps its
 * buffer bounded (the consumed prefix is dropped). */
static void
test_reader_stays_bounded (void **state)
{
  arca_buf_t one = { 0 };
  char payload[1000];
  memset (payload, 'x', sizeof payload);
  vmproto_append (&one, 1, VM_STDOUT, payload, sizeof payload);
  vmproto_reader_t r = { 0 };
  vmproto_frame_t f;
  for (int i = 0; i < 2000; i++)
    {
      /* Feed a frame and a half, take what is whole. */
      vmproto_reader_feed (&r, one.data, one.len);
      while (vmproto_reader_next (&r, &f) == 1)
        assert_int_equal (f.h.length, sizeof payload);
    }
  assert_true (r.buf.cap < 256 * 1024);
  assert_int_equal (vmproto_reader_pending (&r), 0);
  vmproto_reader_free (&r);
  buf_free (&one);
}

static void
test_broken_stream_stays_broken (void **state)
{
  arca_buf_t b = { 0 };
  vmproto_append (&b, 1, VM_STDOUT, "ok", 2);
  const uint8_t junk[VMPROTO_HEADER_LEN] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 99, 0, 0, 0 };
  buf_append (&b, junk, sizeof junk);
  vmproto_append (&b, 1, VM_STDOUT, "later", 5);
  vmproto_reader_t r = { 0 };
  vmproto_reader_feed (&r, b.data, b.len);
  vmproto_frame_t f;
  assert_int_equal (vmproto_reader_next (&r, &f), 1);
  assert_int_equal (vmproto_reader_next (&r, &f), -1);
  /* Nothing after garbage can be trusted to be a frame boundary. */
  assert_int_equal (vmproto_reader_next (&r, &f), -1);
  vmproto_reader_feed (&r, b.data, b.len);
  assert_int_equal (vmproto_reader_next (&r, &f), -1);
  vmproto_reader_free (&r);
  buf_free (&b);
}

static void
test_credit_malformed (void **state)
{
  assert_int_equal (vmproto_credit_value ("abc", 3), 0);
  assert_int_equal (vmproto_credit_value ("\x00\x00\x01\x00", 4), 256);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_header_roundtrip),     cmocka_unit_test (test_header_rejects),
    cmocka_unit_test (test_frames_in_one_feed),   cmocka_unit_test (test_byte_at_a_time),
    cmocka_unit_test (test_reader_stays_bounded), cmocka_unit_test (test_broken_stream_stays_broken),
    cmocka_unit_test (test_credit_malformed),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

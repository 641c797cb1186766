/* Restart manager: the policy decision (moby ShouldRestart), the backoff,
 * policy parsing and the cancel state transition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/internal.h"
#include "engine/restart.h"

static arca_restart_policy_t
parse (const char *json)
{
  json_t *rp = json_loads (json, 0, NULL);
  arca_restart_policy_t p;
  restart_policy_from_json (rp, &p);
  json_decref (rp);
  return p;
}

static void
test_policy_parse (void **state)
{
  (void) state;
  arca_restart_policy_t p = parse ("{\"Name\":\"always\",\"MaximumRetryCount\":0}");
  assert_int_equal (p.name, RESTART_ALWAYS);
  p = parse ("{\"Name\":\"unless-stopped\"}");
  assert_int_equal (p.name, RESTART_UNLESS_STOPPED);
  p = parse ("{\"Name\":\"on-failure\",\"MaximumRetryCount\":3}");
  assert_int_equal (p.name, RESTART_ON_FAILURE);
  assert_int_equal (p.max_retry, 3);
  p = parse ("{\"Name\":\"no\"}");
  assert_int_equal (p.name, RESTART_NO);
  p = parse ("{\"Name\":\"\"}"); /* pre-25.0 records */
  assert_int_equal (p.name, RESTART_NO);
  p = parse ("{}");
  assert_int_equal (p.name, RESTART_NO);
  restart_policy_from_json (NULL, &p);
  assert_int_equal (p.name, RESTART_NO);
}

static void
test_should_restart (void **state)
{
  (void) state;
  arca_restart_policy_t no = { RESTART_NO, 0 }, always = { RESTART_ALWAYS, 0 },
                        us = { RESTART_UNLESS_STOPPED, 0 }, of = { RESTART_ON_FAILURE, 0 },
                        of2 = { RESTART_ON_FAILURE, 2 };
  assert_false (restart_policy_should_restart (&no, 1, false, 0));
  assert_false (restart_policy_should_restart (&no, 0, false, 0));

  assert_true (restart_policy_should_restart (&always, 0, false, 0));
  assert_true (restart_policy_should_restart (&always, 1, false, 100));
  assert_true (restart_policy_should_restart (&always, 0, true, 0)); /* manual stop: only the cancel stops it */

  assert_true (restart_policy_should_restart (&us, 0, false, 5));
  assert_false (restart_policy_should_restart (&us, 0, true, 0));
  assert_false (restart_policy_should_restart (&us, 137, true, 0));

  assert_false (restart_policy_should_restart (&of, 0, false, 0));
  assert_true (restart_policy_should_restart (&of, 1, false, 1000)); /* 0 = unlimited */
  assert_true (restart_policy_should_restart (&of, 137, true, 0));   /* manual stop is not looked at */

  assert_true (restart_policy_should_restart (&of2, 1, false, 0));
  assert_true (restart_policy_should_restart (&of2, 1, false, 1));
  assert_false (restart_policy_should_restart (&of2, 1, false, 2));
  assert_false (restart_policy_should_restart (&of2, 0, false, 0));
}

static void
test_backoff (void **state)
{
  (void) state;
  const int64_t quick = 50 * 1000000LL; /* 50 ms runs */
  int64_t d = restart_next_delay_ms (0, quick);
  assert_int_equal (d, 100);
  int64_t expect[] = { 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000 };
  for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
    {
      d = restart_next_delay_ms (d, quick);
      assert_int_equal (d, expect[i]);
    }
  /* A run of 10 s or more starts the backoff over. */
  assert_int_equal (restart_next_delay_ms (60000, 10LL * 1000000000LL), 100);
  assert_int_equal (restart_next_delay_ms (800, 9999LL * 1000000LL), 1600);
  assert_int_equal (restart_next_delay_ms (400, 30LL * 1000000000LL), 100);
}

static void
test_cancel_and_claim (void **state)
{
  (void) state;
  arca_engine_t e;
  memset (&e, 0, sizeof e);
  pthread_mutex_init (&e.lock, NULL);
  pthread_cond_init (&e.changed, NULL);
  arca_container_t c;
  memset (&c, 0, sizeof c);
  c.removed = true; /* keeps container_save (and the DB) out of it */
  c.running = true;
  c.restarting = true;
  c.restart_gen = 7;
  c.exit_code = 3;

  pthread_mutex_lock (&e.lock);
  /* Not a restart thread: an ordinary start. */
  assert_int_equal (restart_claim_start_locked (&c), 0);
  assert_true (restart_cancel_locked (&e, &c));
  pthread_mutex_unlock (&e.lock);
  assert_false (c.running);
  assert_false (c.restarting);
  assert_true (c.manually_stopped);
  assert_true (c.restart_canceled);
  assert_int_equal (c.exit_code, 3);
  assert_int_not_equal (c.restart_gen, 7);

  /* Nothing pending: no state change beyond ExitOnNext. */
  pthread_mutex_lock (&e.lock);
  assert_false (restart_cancel_locked (&e, &c));
  pthread_mutex_unlock (&e.lock);

  c.restart_count = 4;
  c.restart_delay_ms = 800;
  restart_reset_locked (&c);
  assert_int_equal (c.restart_count, 0);
  assert_int_equal (c.restart_delay_ms, 0);
  assert_false (c.restart_canceled);

  /* The daemon closing or restoring: exits are not restarted here. */
  c.removed = false;
  c.host_config_json = strdup ("{\"RestartPolicy\":{\"Name\":\"always\"}}");
  e.restoring = true;
  pthread_mutex_lock (&e.lock);
  assert_false (restart_on_exit_locked (&e, &c));
  e.restoring = false;
  e.closing = true;
  assert_false (restart_on_exit_locked (&e, &c));
  e.closing = false;
  c.restart_canceled = true;
  assert_false (restart_on_exit_locked (&e, &c));
  pthread_mutex_unlock (&e.lock);
  free (c.host_config_json);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_policy_parse),
    cmocka_unit_test (test_should_restart),
    cmocka_unit_test (test_backoff),
    cmocka_unit_test (test_cancel_and_claim),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

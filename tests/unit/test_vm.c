/* VM isolation, daemon side (runtime/vm.h): the "vm" config object, VM
 * sizing from HostConfig, and the initramfs's cpio writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "runtime/vm.h"

#define MIB (1024LL * 1024LL)

static json_t *
J (const char *text)
{
  json_error_t e;
  json_t *j = json_loads (text, 0, &e);
  assert_non_null (j);
  return j;
}

static void
test_options_defaults_and_load (void **state)
{
  arca_vm_options_t o;
  vm_options_defaults (&o);
  assert_string_equal (o.accelerator, "auto");
  assert_string_equal (o.kernel, ARCA_VM_DEFAULT_DIR "/vmlinux");
  assert_int_equal (o.cpus, 1);
  json_t *j = J ("{\"kernelPath\":\"/k\",\"modulesPath\":\"\",\"accelerator\":\"tcg\",\"memory\":\"1g\","
                 "\"memoryOverhead\":33554432,\"cpus\":4,\"bootTimeout\":30,\"qemuPath\":\"qemu-x\","
                 "\"kernelArgs\":\"loglevel=7\"}");
  arca_error_t err = { 0 };
  assert_int_equal (vm_options_load (&o, j, "cfg", &err), 0);
  assert_string_equal (o.kernel, "/k");
  assert_string_equal (o.modules, "");
  assert_string_equal (o.accelerator, "tcg");
  assert_int_equal (o.memory, 1024 * MIB);
  assert_int_equal (o.overhead, 32 * MIB);
  assert_int_equal (o.cpus, 4);
  assert_int_equal (o.boot_timeout_s, 30);
  assert_string_equal (o.qemu, "qemu-x");
  assert_string_equal (o.kernel_args, "loglevel=7");
  json_decref (j);
  vm_options_free (&o);
}

static void
check_refused (const char *text, const char *msg_part)
{
  arca_vm_options_t o;
  vm_options_defaults (&o);
  json_t *j = J (text);
  arca_error_t err = { 0 };
  assert_int_equal (vm_options_load (&o, j, "cfg", &err), -1);
  assert_int_equal (err.kind, ARCA_ERR_INVALID);
  if (strstr (err.msg, msg_part) == NULL)
    fail_msg ("\"%s\" does not mention \"%s\"", err.msg, msg_part);
  json_decref (j);
  vm_options_free (&o);
}

static void
test_options_refused (void **state)
{
  check_refused ("{\"accelerator\":\"hvf\"}", "auto, kvm or tcg");
  check_refused ("{\"kernelPath\":\"relative/vmlinux\"}", "absolute path");
  check_refused ("{\"memory\":\"12q\"}", "\"memory\" must be a size");
  check_refused ("{\"memory\":\"16m\"}", "at least 64 MiB");
  check_refused ("{\"cpus\":0}", "\"cpus\" must be an integer from 1");
  check_refused ("{\"cpus\":\"2\"}", "\"cpus\" must be an integer");
  check_refused ("{\"kernel\":\"/x\"}", "unknown key \"kernel\"");
  check_refused ("[]", "\"vm\" must be an object");
}

static void
test_sizing (void **state)
{
  arca_vm_options_t o;
  vm_options_defaults (&o);
  o.memory = 512 * MIB;
  o.overhead = 64 * MIB;
  o.cpus = 1;
  /* Memory: -m or the default, plus the guest kernel's overhead, rounded
   * up to whole MiB. */
  assert_int_equal (vm_memory_mib (&o, 0), 576);
  assert_int_equal (vm_memory_mib (&o, 160 * MIB), 224);
  assert_int_equal (vm_memory_mib (&o, 100 * MIB + 1), 165);
  /* vCPUs: --cpus rounded up, else the quota over the period, else the default. */
  assert_int_equal (vm_vcpus (&o, 0, 0, 0), 1);
  assert_int_equal (vm_vcpus (&o, 1500000000, 0, 0), 2);
  assert_int_equal (vm_vcpus (&o, 2000000000, 0, 0), 2);
  assert_int_equal (vm_vcpus (&o, 0, 250000, 100000), 3);
  assert_int_equal (vm_vcpus (&o, 0, 50000, 0), 1);
  assert_int_equal (vm_vcpus (&o, 1000000000000LL, 0, 0), 255);
  vm_options_free (&o);
}

/* A minimal newc reader: name and size of each entry, in order. */
static unsigned
hex8 (const char *p)
{
  char b[9];
  memcpy (b, p, 8);
  b[8] = '\0';
  return (unsigned) strtoul (b, NULL, 16);
}

static void
test_cpio_newc (void **state)
{
  char *data = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&data, &len);
  arca_cpio_t c;
  cpio_begin (&c, f);
  cpio_dir (&c, "dev", 0755);
  cpio_chardev (&c, "dev/console", 0600, 5, 1);
  cpio_file (&c, "init", 0755, "abcde", 5);
  cpio_file (&c, "empty", 0644, "", 0);
  assert_int_equal (cpio_end (&c), 0);
  fclose (f);

  struct
  {
    const char *name;
    unsigned mode, size, rmaj, rmin;
  } want[] = {
    { "dev", S_IFDIR | 0755, 0, 0, 0 },        { "dev/console", S_IFCHR | 0600, 0, 5, 1 },
    { "init", S_IFREG | 0755, 5, 0, 0 },       { "empty", S_IFREG | 0644, 0, 0, 0 },
    { "TRAILER!!!", 0, 0, 0, 0 },
  };
  size_t off = 0;
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    {
      assert_true (off + 110 <= len);
      assert_memory_equal (data + off, "070701", 6);
      const char *h = data + off + 6;
      /* ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor
       * rdevminor namesize check: 8 hex digits each */
      unsigned mode = hex8 (h + 8), size = hex8 (h + 48), rmaj = hex8 (h + 72), rmin = hex8 (h + 80),
               namesize = hex8 (h + 88);
      assert_int_equal (mode, want[i].mode);
      assert_int_equal (size, want[i].size);
      assert_int_equal (rmaj, want[i].rmaj);
      assert_int_equal (rmin, want[i].rmin);
      assert_int_equal (namesize, strlen (want[i].name) + 1);
      assert_string_equal (data + off + 110, want[i].name);
      /* Header + name and the data each start on a 4-byte boundary. */
      off += 110 + namesize;
      off = (off + 3) & ~(size_t) 3;
      if (size)
        assert_memory_equal (data + off, "abcde", 5);
      off += size;
      off = (off + 3) & ~(size_t) 3;
    }
  assert_int_equal (off, len);
  free (data);
}

static void
test_initrd_build (void **state)
{
  char dir[] = "/tmp/arca-test-vm.XXXXXX";
  assert_non_null (mkdtemp (dir));
  char agent[256], mods[200], list[300], ko[300], out[256], cmd[600];
  snprintf (agent, sizeof agent, "%s/agent", dir);
  snprintf (mods, sizeof mods, "%s/modules", dir);
  snprintf (list, sizeof list, "%s/modules.list", mods);
  snprintf (ko, sizeof ko, "%s/a.ko", mods);
  snprintf (out, sizeof out, "%s/initrd.img", dir);
  mkdir (mods, 0755);
  FILE *f = fopen (agent, "w");
  fputs ("#!agent", f);
  fclose (f);
  f = fopen (ko, "w");
  fputs ("module", f);
  fclose (f);
  f = fopen (list, "w");
  fputs ("a.ko\n", f);
  fclose (f);
  arca_error_t err = { 0 };
  assert_int_equal (vm_initrd_build (out, agent, mods, &err), 0);
  /* /init, the module and its list are in; a list naming a path is refused. */
  char *data = NULL;
  size_t len = 0;
  f = fopen (out, "r");
  assert_non_null (f);
  data = malloc (1 << 16);
  len = fread (data, 1, 1 << 16, f);
  fclose (f);
  /* "init" + NUL is 5 bytes after the 110-byte header: one pad byte. */
  assert_non_null (memmem (data, len, "init\0\0#!agent", 13));
  assert_non_null (memmem (data, len, "lib/modules/arca/a.ko", 21));
  assert_non_null (memmem (data, len, "lib/modules/arca/modules.list", 29));
  free (data);
  f = fopen (list, "w");
  fputs ("../../etc/shadow\n", f);
  fclose (f);
  assert_int_equal (vm_initrd_build (out, agent, mods, &err), -1);
  assert_non_null (strstr (err.msg, "bad module name"));
  snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal (system (cmd), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_options_defaults_and_load),
    cmocka_unit_test (test_options_refused),
    cmocka_unit_test (test_sizing),
    cmocka_unit_test (test_cpio_newc),
    cmocka_unit_test (test_initrd_build),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

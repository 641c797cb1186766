# Arca: top-level entry points.  `make` builds build/arca and build/arca-shim.
BUILD ?= build
SOCK ?= /tmp/arca.sock
DEV_ROOT ?= /tmp/arca-dev
SRCLIST := $(BUILD)/.srclist

.PHONY: all build deps run stop test unit e2e install clean bench asan tsan soak concurrency fuzz fuzz-build

all: build

deps:
	@scripts/setup.sh

# Reconfigure meson whenever a source file is added or removed.
build: 
	@mkdir -p $(BUILD)
	@ls src/*/*.c tests/unit/*.c tests/fuzz/*.c 2>/dev/null | sort > $(SRCLIST).new
	@if [ ! -f $(BUILD)/build.ninja ]; then \
	  meson setup $(BUILD) $(MESON_ARGS) >/dev/null; \
	elif ! cmp -s $(SRCLIST).new $(SRCLIST); then \
	  meson setup --reconfigure $(BUILD) $(MESON_ARGS) >/dev/null; \
	fi
	@mv $(SRCLIST).new $(SRCLIST)
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)
	@echo "built $(BUILD)/arca $(BUILD)/arca-shim"

run: deps build
	@scripts/run-dev.sh "$(SOCK)" "$(DEV_ROOT)"

stop:
	@$(BUILD)/arca daemon stop --exec-root $(DEV_ROOT)/exec || true

unit: deps build
	@scripts/check-layering.sh
	@scripts/run-unit.sh $(BUILD)

e2e: deps build
	@scripts/run-e2e.sh $(BUILD)

test: deps build
	@scripts/run-tests.sh $(BUILD)

# ASan + UBSan build (build-asan/) running the unit tests and the core e2e
# files; ASAN_E2E=all runs every e2e file.
asan: deps
	@$(MAKE) --no-print-directory build BUILD=build-asan MESON_ARGS="-Db_sanitize=address,undefined -Db_lundef=false"
	@ASAN_OPTIONS=detect_leaks=0 scripts/run-unit.sh build-asan
	@ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  scripts/run-e2e.sh build-asan $(if $(filter all,$(ASAN_E2E)),,tests/e2e/20_containers.bats tests/e2e/30_persistence.bats tests/e2e/40_exec.bats)

# libFuzzer harnesses (tests/fuzz, clang; build-fuzz/ with ASan + UBSan):
# each runs FUZZ_TIME seconds (default 300) from its seed corpus; crashes
# land in build-fuzz/fuzz-artifacts/<harness>/.  FUZZ_ONLY=fuzz_dns picks one.
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 300
fuzz-build: deps
	@CC=clang $(MAKE) --no-print-directory build BUILD=$(FUZZ_BUILD) \
	  MESON_ARGS="-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Dwerror_ci=false -Doptimization=1"

fuzz: fuzz-build
	@scripts/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_ONLY)

# ThreadSanitizer build (build-tsan/) running the core e2e files; reports
# go to build-tsan/tsan.* (one file per process) and fail the run.
tsan: deps
	@$(MAKE) --no-print-directory build BUILD=build-tsan MESON_ARGS="-Db_sanitize=thread -Db_lundef=false"
	@rm -f build-tsan/tsan.*
	@TSAN_OPTIONS="log_path=$(CURDIR)/build-tsan/tsan second_deadlock_stack=1" \
	  scripts/run-e2e.sh build-tsan $(if $(filter all,$(TSAN_E2E)),,tests/e2e/20_containers.bats tests/e2e/30_persistence.bats tests/e2e/40_exec.bats)
	@if ls build-tsan/tsan.* >/dev/null 2>&1; then echo "tsan: reports in build-tsan/tsan.*"; \
	  grep -h '^SUMMARY' build-tsan/tsan.* | sort | uniq -c; exit 1; else echo "tsan: no reports"; fi

# N clients x M mixed requests on one daemon (tests/soak/concurrency.py).
concurrency: deps build
	@[ -s tests/fixtures/out/busybox-save.tar ] || tests/fixtures/build-busybox.sh tests/fixtures/out >/dev/null
	@/usr/bin/python3 tests/soak/concurrency.py --clients $(or $(CLIENTS),64) --requests $(or $(REQUESTS),500)

# Fault-injection soak (tests/soak/soak.py): SOAK_KILLS daemon kill -9s
# (default 200) under mixed traffic, Arca's view checked after each restart.
soak: deps build
	@[ -s tests/fixtures/out/busybox-save.tar ] || tests/fixtures/build-busybox.sh tests/fixtures/out >/dev/null
	@/usr/bin/python3 tests/soak/soak.py --kills $(or $(SOAK_KILLS),200) $(SOAK_ARGS)

# make bench BENCH_ARGS="--with-dockerd -n 20 --scale '10 100'" (bench/README.md)
bench: deps build
	@bench/run.sh $(BENCH_ARGS)

install: build
	install -D -m 0755 $(BUILD)/arca $(DESTDIR)/usr/local/bin/arca
	install -D -m 0755 $(BUILD)/arca-shim $(DESTDIR)/usr/local/bin/arca-shim

clean:
	rm -rf $(BUILD)

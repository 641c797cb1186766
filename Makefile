# Arca: top-level entry points.  `make` builds build/arca and build/arca-shim.
BUILD ?= build
SOCK ?= /tmp/arca.sock
DEV_ROOT ?= /tmp/arca-dev
SRCLIST := $(BUILD)/.srclist

.PHONY: all build deps run stop test unit e2e install clean bench

all: build

deps:
	@scripts/setup.sh

# Reconfigure meson whenever a source file is added or removed.
build: 
	@mkdir -p $(BUILD)
	@ls src/*/*.c tests/unit/*.c 2>/dev/null | sort > $(SRCLIST).new
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
	@scripts/run-unit.sh $(BUILD)

e2e: deps build
	@scripts/run-e2e.sh $(BUILD)

test: deps build
	@scripts/run-tests.sh $(BUILD)

bench: deps build
	@bench/run.sh

install: build
	install -D -m 0755 $(BUILD)/arca $(DESTDIR)/usr/local/bin/arca
	install -D -m 0755 $(BUILD)/arca-shim $(DESTDIR)/usr/local/bin/arca-shim

clean:
	rm -rf $(BUILD)

#!/usr/bin/env bash
# Installs the Debian packages Arca needs to build, run and test.  Idempotent:
# does nothing when everything is already there.
set -euo pipefail

PKGS=(
  # binutils' readelf: scripts/soname.sh (the SONAMEs dlopened at first use)
  gcc binutils make meson ninja-build pkg-config
  # scripts/setup-static-libs.sh: dpkg-dev (dpkg-source, dpkg-buildflags),
  # autotools (libarchive's Debian patches change its configure.ac), and
  # the static archives of libarchive's compressors
  dpkg-dev autoconf automake libtool libbz2-dev liblzma-dev libzstd-dev
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libarchive-dev
  libcurl4-gnutls-dev nettle-dev libnl-3-dev libnl-route-3-dev
  libnftables-dev libcap-dev libcmocka-dev libseccomp-dev
  libldns-dev zlib1g-dev libgnutls28-dev
  runc crun tini nftables
  bats busybox-static docker-registry jq util-linux procps iproute2 tmux
  python3 curl zstd bzip2 xz-utils
  qemu-system-x86
  docker-compose nodejs
  # openssl: tests/e2e/B6_remote.bats makes its TLS certificates with it;
  # clang and compiler-rt: the libFuzzer harnesses (make fuzz, tests/fuzz)
  openssl
  clang libclang-rt-14-dev
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The docker CLI: the tests need a docker client; /usr/local/bin/docker (v28) is
# preferred, Debian's docker.io client is the fallback.
if ! command -v docker >/dev/null 2>&1; then
  missing+=(docker.io)
fi
# npm installs the Node clients of the e2e tests (below); Debian ships it
# apart from nodejs, a machine's own Node.js may carry it already.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install packages" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

"$(dirname "$0")/setup-vm-kernel.sh"
"$(dirname "$0")/setup-static-libs.sh"

# Node clients of the e2e tests (dockerode, testcontainers): installed from
# the npm registry exactly as tests/node/package-lock.json pins them, once
# per version of the lock file (a stamp in node_modules remembers it).
# --ignore-scripts: no native add-on builds (ssh2's optional cpu-features).
node_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/node" && pwd)
lock_sum=$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$node_dir/node_modules/.arca-lock" 2>/dev/null)" != "$lock_sum" ]; then
  echo "setup: npm ci in tests/node" >&2
  (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  echo "$lock_sum" >"$node_dir/node_modules/.arca-lock"
fi

#!/usr/bin/env bash
# Installs the Debian packages Arca needs to build, run and test.  Idempotent:
# does nothing when everything is already there.
set -euo pipefail

PKGS=(
  gcc make meson ninja-build pkg-config
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libarchive-dev
  libcurl4-gnutls-dev nettle-dev libnl-3-dev libnl-route-3-dev
  libnftables-dev libcap-dev libcmocka-dev
  libldns-dev
  runc tini nftables
  bats busybox-static docker-registry jq util-linux procps iproute2 tmux
  python3 curl zstd
  docker-compose nodejs
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

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: need root to install packages" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

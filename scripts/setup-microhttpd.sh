#!/usr/bin/env bash
# libmicrohttpd without HTTPS, linked statically into the daemon (issue 15's
# idle RSS; docs/design.md "Dependencies").  Debian builds it with GnuTLS,
# and loading GnuTLS with its tree (p11-kit, libtasn1, libunistring, libidn2,
# hogweed) costs every daemon ~2 MiB of resident relocations and data, while
# Arca terminates TLS itself (src/http/tls.c) and loads GnuTLS only when a
# TLS listener is configured.  So the source of the very version Debian
# ships as libmicrohttpd-dev is fetched with apt-get source (Debian's own
# patches applied by dpkg-source; the download checked against the signed
# Sources index of the release) and built with --disable-https and
# Debian's hardening flags into $ARCA_MHD_DIR (default
# /var/cache/arca/microhttpd; meson option microhttpd_dir):
#
#   $ARCA_MHD_DIR/lib/libmicrohttpd.a
#   $ARCA_MHD_DIR/include/microhttpd.h
#   $ARCA_MHD_DIR/version           source version and configure options
#
# Idempotent: nothing happens when the build of the installed version is
# there.  apt's source lists for the download are private to this script
# (the host's sources are not changed).
set -euo pipefail

MHD_DIR=${ARCA_MHD_DIR:-/var/cache/arca/microhttpd}
CONFIGURE=(--disable-https --disable-shared --enable-static --disable-doc --disable-examples
           --disable-curl --disable-nls)

version=$(dpkg-query -W -f='${source:Version}' libmicrohttpd-dev)
want="libmicrohttpd $version ${CONFIGURE[*]}"
if [ -f "$MHD_DIR/version" ] && [ "$(cat "$MHD_DIR/version")" = "$want" ] &&
   [ -s "$MHD_DIR/lib/libmicrohttpd.a" ] && [ -s "$MHD_DIR/include/microhttpd.h" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-microhttpd: need root to prepare $MHD_DIR" >&2
  exit 1
fi
echo "setup: building libmicrohttpd $version without HTTPS in $MHD_DIR" >&2
mkdir -p "$(dirname "$MHD_DIR")"
work=$(mktemp -d "$(dirname "$MHD_DIR")/.microhttpd.XXXXXX")
trap 'rm -rf "$work"' EXIT

# deb-src lines for the host's release (its main archive and its security
# archive, where a fixed libmicrohttpd would come from), in lists of our own
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
mkdir -p "$work/apt/lists/partial" "$work/apt/parts"
cat >"$work/apt/sources.list" <<EOF
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $codename main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $codename-updates main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security $codename-security main
EOF
apt_opts=(-o Dir::Etc::SourceList="$work/apt/sources.list" -o Dir::Etc::SourceParts="$work/apt/parts"
          -o Dir::State::Lists="$work/apt/lists" -o APT::Sandbox::User=root -qq)
apt-get "${apt_opts[@]}" update
(cd "$work" && apt-get "${apt_opts[@]}" source --download-only "libmicrohttpd=$version" >/dev/null)
(cd "$work" && dpkg-source --no-check -q -x ./*.dsc src >/dev/null)

cd "$work/src"
# Debian's flags for this package (debian/rules: hardening=+all)
export CFLAGS LDFLAGS CPPFLAGS
CFLAGS=$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get CFLAGS)
LDFLAGS=$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get LDFLAGS)
CPPFLAGS=$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get CPPFLAGS)
./configure --quiet --prefix="$work/out" "${CONFIGURE[@]}" >/dev/null
make -s -j"$(nproc)" -C src/microhttpd >/dev/null 2>&1 || make -C src/microhttpd >&2
make -s -C src/microhttpd install >/dev/null
make -s -C src/include install >/dev/null
if nm "$work/out/lib/libmicrohttpd.a" 2>/dev/null | grep -q ' U gnutls_'; then
  echo "setup-microhttpd: the build still calls GnuTLS" >&2
  exit 1
fi
mkdir -p "$work/final/lib" "$work/final/include"
cp "$work/out/lib/libmicrohttpd.a" "$work/final/lib/"
cp "$work/out/include/microhttpd.h" "$work/final/include/"
echo "$want" >"$work/final/version"
rm -rf "$MHD_DIR.old"
[ -e "$MHD_DIR" ] && mv "$MHD_DIR" "$MHD_DIR.old"
mv "$work/final" "$MHD_DIR"
rm -rf "$MHD_DIR.old"

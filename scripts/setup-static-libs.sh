#!/usr/bin/env bash
# Libraries the daemon links statically, built from Debian's own source
# without the parts that would drag heavy dependency trees into every
# daemon (issue 15's daemon RSS; docs/design.md "Libraries linked
# statically"):
#
#   libmicrohttpd --disable-https: Debian's links GnuTLS, whose tree
#     (p11-kit, libtasn1, libunistring, libidn2, hogweed) costs ~2 MiB
#     resident at load, while Arca terminates TLS itself (src/http/tls.c)
#     and loads GnuTLS only for a TLS listener (src/util/lazy_gnutls.h);
#   libarchive without libxml2 (and with it ICU and libstdc++), libacl,
#     lz4 and a crypto library: ~3 MiB resident once loaded, for formats
#     (xar, zip/7z encryption, lz4) no Docker API carries; tar with gzip,
#     bzip2, xz and zstd, what `docker import`, `load` and build contexts
#     take, stay (their libraries linked statically from Debian's archives).
#
# The source of the very version installed as the -dev package is fetched
# with apt-get source (the download checked against the signed Sources
# index of the release; Debian's patches applied by dpkg-source), built
# with Debian's hardening flags, and installed into
# /var/cache/arca/<library> ($ARCA_STATIC_LIBS_DIR; meson options
# microhttpd_dir, archive_dir):
#
#   <dir>/lib/lib<name>.a, <dir>/include/*.h
#   <dir>/version      source version and configure options
#
# Idempotent: a library whose build of the installed version is there is
# left alone.  apt's source lists for the download are private to this
# script (the host's sources are not changed).
set -euo pipefail

TOP=${ARCA_STATIC_LIBS_DIR:-/var/cache/arca}

MHD_CONFIGURE=(--disable-https --disable-shared --enable-static --disable-doc --disable-examples
               --disable-curl --disable-nls)
ARCHIVE_CONFIGURE=(--disable-shared --enable-static --disable-bsdtar --disable-bsdcpio --disable-bsdcat
                   --disable-acl --without-xml2 --without-expat --without-openssl --without-nettle
                   --without-mbedtls --without-cng --without-lz4 --without-lzo2 --without-libb2
                   --with-zlib --with-bz2lib --with-lzma --with-zstd)

# deb-src lines for the Debian archives apt already uses (its mirrors and
# suites as `apt-cache policy` lists them: the release, its updates and its
# security archive), checked with Debian's archive keyring.
debian_src_lines() {
  apt-cache policy | awk '
    $1 ~ /^[0-9]+$/ && $2 ~ /^(https?|file):/ && $3 ~ /\// { uri = $2; split($3, sc, "/"); next }
    uri != "" && /release / && /o=Debian/ {
      print "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] " uri " " sc[1] " " sc[2]
    }
    { uri = "" }' | sort -u
}

# apt_source SRCPKG VERSION WORK: the unpacked source in WORK/src.
apt_source() {
  local pkg=$1 version=$2 work=$3
  mkdir -p "$work/apt/lists/partial" "$work/apt/parts"
  debian_src_lines >"$work/apt/sources.list"
  if [ ! -s "$work/apt/sources.list" ]; then
    # no package lists yet (a fresh or cleaned image): fetch them first
    apt-get update -qq
    debian_src_lines >"$work/apt/sources.list"
  fi
  if [ ! -s "$work/apt/sources.list" ]; then
    echo "setup-static-libs: apt uses no Debian archive to fetch $pkg's source from" >&2
    exit 1
  fi
  local opts=(-o Dir::Etc::SourceList="$work/apt/sources.list" -o Dir::Etc::SourceParts="$work/apt/parts"
              -o Dir::State::Lists="$work/apt/lists" -o APT::Sandbox::User=root -qq)
  apt-get "${opts[@]}" update
  (cd "$work" && apt-get "${opts[@]}" source --download-only "$pkg=$version" >/dev/null)
  (cd "$work" && dpkg-source --no-check -q -x ./*.dsc src >/dev/null)
}

# build NAME DEVPKG PREPARE MAKEDIRS CONFIGURE...: libNAME.a and its headers
# into $TOP/NAME, unless already there for the installed DEVPKG's source
# version.  PREPARE runs in the source first (Debian's dh_autoreconf step,
# where its patches change configure.ac or Makefile.am); MAKEDIRS (a
# space-separated list) are built and installed in turn.
build() {
  local name=$1 devpkg=$2 prepare=$3 makedirs=$4
  shift 4
  local dir=$TOP/$name src version want work
  src=$(dpkg-query -W -f='${source:Package}' "$devpkg")
  version=$(dpkg-query -W -f='${source:Version}' "$devpkg")
  want="$src $version $*"
  if [ -f "$dir/version" ] && [ "$(cat "$dir/version")" = "$want" ] && [ -s "$dir/lib/lib$name.a" ]; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-static-libs: need root to prepare $dir" >&2
    exit 1
  fi
  echo "setup: building $src $version ($*) in $dir" >&2
  mkdir -p "$TOP"
  work=$(mktemp -d "$TOP/.$name.XXXXXX")
  # shellcheck disable=SC2064 # the path now, not at exit
  trap "rm -rf '$work'" EXIT
  apt_source "$src" "$version" "$work"
  (
    cd "$work/src"
    sh -c "$prepare" >/dev/null 2>&1 || { echo "setup-static-libs: $prepare failed in $src" >&2; exit 1; }
    # Debian's flags for these packages (their debian/rules: hardening=+all)
    export DEB_BUILD_MAINT_OPTIONS=hardening=+all
    CFLAGS=$(dpkg-buildflags --get CFLAGS) LDFLAGS=$(dpkg-buildflags --get LDFLAGS) \
      CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS) ./configure --quiet --prefix="$work/out" "$@" >/dev/null
    local d
    for d in $makedirs; do
      make -s -j"$(nproc)" -C "$d" >/dev/null 2>&1 || make -C "$d" >&2
      make -s -C "$d" install >/dev/null
    done
  )
  mkdir -p "$work/final"
  cp -r "$work/out/lib" "$work/out/include" "$work/final/"
  echo "$want" >"$work/final/version"
  rm -rf "$dir.old"
  if [ -e "$dir" ]; then mv "$dir" "$dir.old"; fi
  mv "$work/final" "$dir"
  rm -rf "$dir.old" "$work"
  trap - EXIT
}

# refuse_calls LIB PREFIX: fail if the archive calls a function named PREFIX* (a
# dependency the configure options were to leave out).
refuse_calls() {
  if nm "$TOP/$1/lib/lib$1.a" 2>/dev/null | grep -q " U $2"; then
    echo "setup-static-libs: lib$1.a still calls $2*" >&2
    exit 1
  fi
}

build microhttpd libmicrohttpd-dev : "src/microhttpd src/include" "${MHD_CONFIGURE[@]}"
refuse_calls microhttpd gnutls_
build archive libarchive-dev "sh build/autogen.sh" . "${ARCHIVE_CONFIGURE[@]}"
refuse_calls archive xml
refuse_calls archive acl_

#!/bin/sh
# The SONAME of the shared library the build links for -lNAME, as the link
# editor would find it in LIBDIR (meson gives the dependency's pkg-config
# libdir): what util/lazy_*.c dlopen, so that the library loaded at run
# time is the one whose headers the build compiled against.
# Usage: scripts/soname.sh LIBDIR NAME   (e.g. /usr/lib/x86_64-linux-gnu archive)
set -eu
so=$1/lib$2.so
[ -e "$so" ] || { echo "soname: no $so" >&2; exit 1; }
name=$(LC_ALL=C readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ -n "$name" ] || { echo "soname: $so has no SONAME" >&2; exit 1; }
printf '%s\n' "$name"

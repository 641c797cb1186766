#!/bin/sh
# Lists the .c files of one source directory for meson (sorted, relative).
cd "$(dirname "$0")/.." && ls "$1"/*.c 2>/dev/null | sort

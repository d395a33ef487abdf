#!/bin/sh
# Rebuild the ELF loader fixtures: every *.c here, for bpfel and bpfeb.
# The objects are committed so tests need no compiler; rerun after editing a
# source.  Needs clang (14+) with the BPF target and libbpf-dev's headers.
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
# <linux/bpf.h> pulls <asm/types.h>, which Debian keeps under the host triplet.
ARCH_INC=/usr/include/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
# Record sources as "./x.c", not this checkout's absolute path (BTF line_info, DWARF).
CFLAGS="-O2 -g -I$ARCH_INC -fdebug-prefix-map=$PWD=."
for src in *.c; do
	base=${src%.c}
	# shellcheck disable=SC2086
	"$CLANG" $CFLAGS -target bpfel -c "$src" -o "$base-el.o"
	# shellcheck disable=SC2086
	"$CLANG" $CFLAGS -target bpfeb -c "$src" -o "$base-eb.o"
done

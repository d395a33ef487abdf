#!/bin/sh
# Rebuild the committed objects that tests/test_disasm_llvm.py compares against
# llvm-objdump.  Needs clang with the BPF target (the committed ones come from
# clang 14).  Usage: tests/data/disasm/build.sh [CLANG]
set -eu
cd "$(dirname "$0")"
CLANG=${1:-clang}
build() { # src out target cpu
	"$CLANG" -O2 -g -target "$3" -mcpu="$4" -c "$1" -o "$2"
}
build maps_helpers.c  maps_helpers.v1.o  bpf   v1
build loops_switch.c  loops_switch.v2.o  bpf   v2
build alu32_atomics.c alu32_atomics.v3.o bpf   v3
build btf_maps.c      btf_maps.v3.o      bpf   v3
build btf_maps.c      btf_maps.bpfeb.o   bpfeb v3

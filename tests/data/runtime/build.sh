#!/bin/sh
# Rebuild the runtime test objects: ./build.sh (clang 14; objects are committed).
set -e
cd "$(dirname "$0")"
for c in *.c; do
    clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c "$c" -o "${c%.c}.o"
done

"""Load an ELF object's program into the running kernel, for differential tests.

The kernel side of the examples' differential tests: every map of the
:class:`~pybpf.elf.ObjectSpec` is created with ``BPF_MAP_CREATE`` (through
:class:`kernel_maps.KernelMap`), the program's map references are bound to
those fds (``ProgramSpec.bind_maps``), it is loaded with
:func:`pybpf.kernel.load_program` and run with ``BPF_PROG_TEST_RUN``.  Map
contents are read back with get_next_key/lookup, ring buffers through their
mmap()ed pages as libbpf's ring_buffer__consume does.  Everything closes its
fds (use it as a context manager).
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path
from types import TracebackType

from kernel_maps import KernelMap, KernelMapError
from pybpf import kernel
from pybpf.elf import ObjectSpec
from pybpf.kernel import TestRun
from pybpf.maps.spec import MapType

__all__ = ["KernelObject", "possible_cpus"]

PERCPU = {MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH}
# Ring buffer record header bits (kernel/bpf/ringbuf.c).
_RINGBUF_BUSY = 1 << 31
_RINGBUF_DISCARD = 1 << 30
_RINGBUF_HDR = 8


def possible_cpus() -> int:
    """The kernel's number of possible CPUs: how many values a per-CPU lookup returns."""
    text = Path("/sys/devices/system/cpu/possible").read_text().strip()
    count = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        count += int(hi or lo) - int(lo) + 1
    return count


class KernelObject:
    """One program of an object, loaded in the kernel with all the object's maps."""

    def __init__(self, spec: ObjectSpec, prog: str) -> None:
        self.spec = spec
        self.prog_spec = spec.program(prog)
        self.maps: dict[str, KernelMap] = {}
        self.prog: kernel.BpfProgram | None = None
        try:
            for name, ms in spec.maps.items():
                self.maps[name] = KernelMap(int(ms.type), ms.key_size, ms.value_size, ms.max_entries,
                                            ms.flags, map_extra=ms.map_extra)
                for key, value in ms.contents:
                    self.maps[name].update(key, value)
            program = self.prog_spec.bind_maps({n: m.fd for n, m in self.maps.items()})
            attach = self.prog_spec.attach_type
            self.prog = kernel.load_program(
                program, int(self.prog_spec.prog_type), license=self.prog_spec.license or spec.license,
                name=self.prog_spec.name, expected_attach_type=int(attach) if attach is not None else 0)
        except BaseException:
            self.close()
            raise

    def test_run(self, data: bytes) -> TestRun:
        assert self.prog is not None
        return self.prog.test_run(data)

    def items(self, name: str) -> dict[bytes, bytes]:
        """Every (key, value) of a map; per-CPU values are all CPUs' slots joined."""
        ms = self.spec.map(name)
        m = self.maps[name]
        size = ms.value_size
        if ms.type in PERCPU:
            size = (ms.value_size + 7) // 8 * 8 * possible_cpus()
        out: dict[bytes, bytes] = {}
        key: bytes | None = None
        while True:
            try:
                key = m.get_next_key(key)
            except KernelMapError as e:
                if e.errno == 2:  # ENOENT: no more keys
                    return out
                raise
            out[key] = m.lookup(key, value_size=size)

    def ringbuf_records(self, name: str) -> list[bytes]:
        """Consume every committed record of a ring buffer map (discarded ones skipped)."""
        ms = self.spec.map(name)
        fd = self.maps[name].fd
        page = mmap.PAGESIZE
        # Consumer position page (read-write), then producer page + data mapped twice (read-only).
        cons = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        prod = mmap.mmap(fd, page + 2 * ms.max_entries, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        try:
            (cons_pos,) = struct.unpack_from("<Q", cons, 0)
            (prod_pos,) = struct.unpack_from("<Q", prod, 0)
            mask = ms.max_entries - 1
            records = []
            while cons_pos < prod_pos:
                base = page + (cons_pos & mask)
                length, _pg_off = struct.unpack_from("<II", prod, base)
                if length & _RINGBUF_BUSY:
                    break
                size = length & ~(_RINGBUF_BUSY | _RINGBUF_DISCARD)
                if not length & _RINGBUF_DISCARD:
                    records.append(bytes(prod[base + _RINGBUF_HDR: base + _RINGBUF_HDR + size]))
                cons_pos += (_RINGBUF_HDR + size + 7) // 8 * 8
            struct.pack_into("<Q", cons, 0, cons_pos)
            return records
        finally:
            prod.close()
            cons.close()

    def close(self) -> None:
        if self.prog is not None:
            self.prog.close()
            self.prog = None
        for m in self.maps.values():
            m.close()
        self.maps.clear()

    def __enter__(self) -> KernelObject:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

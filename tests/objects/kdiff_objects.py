"""Load a whole ObjectSpec into the kernel for differential tests.

Maps are created with :mod:`kernel_maps` (every fd closed by :meth:`KernelObject.close`),
programs are bound to the map fds with ``ProgramSpec.bind_maps`` and loaded
with :func:`pybpf.kernel.load_program`.
"""

from __future__ import annotations

from typing import Any

from kernel_maps import KernelMap, KernelMapError
from pybpf.elf import ObjectSpec
from pybpf.kernel import BpfProgram, load_program, possible_cpus, read_ringbuf
from pybpf.maps import MapType

__all__ = ["KernelObject", "possible_cpus"]


PERCPU = {MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH}


class KernelObject:
    def __init__(self, spec: ObjectSpec) -> None:
        self.spec = spec
        self.maps: dict[str, KernelMap] = {}
        self.programs: dict[str, BpfProgram] = {}
        try:
            for name, m in spec.maps.items():
                km = KernelMap(int(m.type), m.key_size, m.value_size, m.max_entries, m.flags)
                self.maps[name] = km
                for key, value in m.contents:
                    km.update(key, value)
                if m.freeze:
                    km.freeze()
            fds = {name: km.fd for name, km in self.maps.items()}
            for name, p in spec.programs.items():
                prog = p.bind_maps({n: fds[n] for n in p.maps_used})
                self.programs[name] = load_program(prog, int(p.prog_type), license=p.license or "GPL",
                                                   name=name[:15])
        except BaseException:
            self.close()
            raise

    def contents(self, name: str) -> dict[bytes, Any]:
        """Every element; per-CPU values become the list of per-CPU slots."""
        km = self.maps[name]
        m = self.spec.maps[name]
        ncpu = possible_cpus() if m.type in PERCPU else 1
        slot = (m.value_size + 7) // 8 * 8
        size = slot * ncpu if m.type in PERCPU else m.value_size
        out: dict[bytes, Any] = {}
        key: bytes | None = None
        while True:
            try:
                key = km.get_next_key(key)
            except KernelMapError:
                return out
            value = km.lookup(key, value_size=size)
            out[key] = [value[i * slot:i * slot + m.value_size] for i in range(ncpu)] \
                if m.type in PERCPU else value

    def ringbuf_samples(self, name: str) -> list[bytes]:
        """The committed, not discarded samples of a ring buffer map (read through mmap)."""
        return read_ringbuf(self.maps[name], consume=False)

    def close(self) -> None:
        for p in self.programs.values():
            p.close()
        for km in self.maps.values():
            km.close()

    def __enter__(self) -> KernelObject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Load an ELF object's program into the running kernel, for differential tests.

The kernel side of the examples' differential tests: every map of the
:class:`~pybpf.elf.ObjectSpec` is created with ``BPF_MAP_CREATE`` (through
:class:`kernel_maps.KernelMap`), the program's map references are bound to
those fds (``ProgramSpec.bind_maps``), it is loaded with
:func:`pybpf.kernel.load_program` and run with ``BPF_PROG_TEST_RUN``.  Map
contents are read back with get_next_key/lookup, ring buffers with
:func:`pybpf.kernel.read_ringbuf`.  Everything closes its
fds (use it as a context manager).
"""

from __future__ import annotations

from types import TracebackType

from kernel_maps import KernelMap
from pybpf import kernel
from pybpf.elf import ObjectSpec
from pybpf.kernel import TestRun, possible_cpus

__all__ = ["KernelObject", "possible_cpus"]


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
        m = self.maps[name]
        return {key: m.lookup(key, value_size=m.elem_size) for key in m.iter_keys()}

    def ringbuf_records(self, name: str) -> list[bytes]:
        """Consume every committed record of a ring buffer map (discarded ones skipped)."""
        return kernel.read_ringbuf(self.maps[name])

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

"""The Linux kernel as an oracle: ``bpf(2)`` through ctypes, and a program runner.

:func:`run_in_kernel` runs a uBPF-style program (r1 = memory, r2 = length)
in the running kernel and returns the full 64-bit r0 and the memory after;
:class:`KernelRunner` does the same for many programs with reusable maps.
The lower layer (:class:`BpfMap`, :func:`load_program`, :class:`BpfProgram`)
is the syscall itself, with every failure raised as
:class:`~pybpf.errors.KernelError`.

>>> from pybpf import kernel
>>> if kernel.available():                                    # doctest: +SKIP
...     kernel.run_in_kernel(bytes.fromhex("bf20000000000000" "9500000000000000"), bytes(8)).r0
8
"""

from .link import Linker, import_targets, rewrite
from .runner import KernelRun, KernelRunner, run_in_kernel, wrap_memory_program
from .syscall import (
    BPF_MAP_TYPE_ARRAY,
    BPF_PROG_TYPE_SCHED_CLS,
    BPF_PROG_TYPE_SOCKET_FILTER,
    BPF_PROG_TYPE_XDP,
    BPF_PSEUDO_MAP_FD,
    BPF_PSEUDO_MAP_VALUE,
    SYS_BPF,
    XDP_PASS,
    BpfMap,
    BpfProgram,
    KernelBatchError,
    TestRun,
    availability,
    available,
    load_program,
    possible_cpus,
    read_ringbuf,
    unavailable_reason,
)

__all__ = [
    "BPF_MAP_TYPE_ARRAY",
    "BPF_PROG_TYPE_SCHED_CLS",
    "BPF_PROG_TYPE_SOCKET_FILTER",
    "BPF_PROG_TYPE_XDP",
    "BPF_PSEUDO_MAP_FD",
    "BPF_PSEUDO_MAP_VALUE",
    "SYS_BPF",
    "XDP_PASS",
    "BpfMap",
    "BpfProgram",
    "KernelBatchError",
    "KernelRun",
    "KernelRunner",
    "Linker",
    "TestRun",
    "availability",
    "available",
    "import_targets",
    "load_program",
    "possible_cpus",
    "read_ringbuf",
    "rewrite",
    "run_in_kernel",
    "unavailable_reason",
    "wrap_memory_program",
]

"""Run uBPF-style programs (r1 = memory, r2 = length, 64-bit r0) in the kernel.

The kernel has no "memory plus length" program type, so the body is wrapped::

    r1 = &mem_map[0]          ld_imm64 BPF_PSEUDO_MAP_VALUE (r1 = 0 for empty memory)
    r2 = len(mem)
    <body: main function>     every `exit` of the main function becomes `goto EPI`
  EPI:
    r1 = &result_map[0]       ld_imm64 BPF_PSEUDO_MAP_VALUE
    *(u64 *)(r1 + 0) = r0     the full 64-bit r0 (test_run's retval has 32 bits)
    r0 = 2                    XDP_PASS: tells us the epilogue ran
    exit
    <body: subprograms>       unchanged; local calls are relinked

The memory is the whole value of a one-entry array map, so the verifier holds
the body to exactly ``len(mem)`` bytes, as pybpf does.  The epilogue needs no
register or stack slot of the body: ``BPF_PSEUDO_MAP_VALUE`` rematerialises
the result pointer, so the body keeps all registers and its 512-byte stack.
The epilogue goes at the end of the main function because the kernel refuses
jumps from one function into another.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from ..errors import KernelError
from ..isa import Class, Form, Insn, Program, decode
from .link import Linker, import_targets
from .syscall import (
    BPF_PROG_TYPE_XDP,
    BPF_PSEUDO_MAP_VALUE,
    BpfMap,
    BpfProgram,
    load_program,
)

__all__ = ["KernelRun", "KernelRunner", "run_in_kernel", "wrap_memory_program"]

_EPILOGUE = "epilogue"
_BODY = "body"
_DONE = 2  # what the epilogue returns (XDP_PASS); any other retval is a wrapper bug
# BPF_PROG_TEST_RUN of XDP/skb programs wants at least an Ethernet header.
_PACKET = bytes(64)

_LD_IMM64 = Class.LD | 0x18
_MOV64_K = Class.ALU64 | 0xB0
_STX_DW = Class.STX | 0x60 | 0x18
_JA = Class.JMP | 0x00
_EXIT = Class.JMP | 0x90


@dataclass(frozen=True, slots=True)
class KernelRun:
    """The outcome of one kernel run: full 64-bit ``r0``, memory after, verifier log."""

    r0: int
    mem: bytes
    log: str


def _map_value(dst: int, fd: int, offset: int = 0) -> Insn:
    # PSEUDO_MAP_VALUE: first imm = map fd, second imm = offset into the value.
    return Insn(_LD_IMM64, dst, BPF_PSEUDO_MAP_VALUE, 0, (fd & 0xFFFF_FFFF) | offset << 32)


def _subprogram_starts(body: Program) -> list[int]:
    """Indices of instructions that start a subprogram (local call/callback targets)."""
    starts = set()
    for pc, insn in body.items():
        if (insn.form is Form.CALL and insn.src == 1) or (insn.form is Form.LD_IMM64 and insn.src == 4):
            target = insn.jump_target(pc)
            index = body.index_of(target) if target is not None else None
            if index is None:
                raise KernelError(f"pc {pc}: call target {target} is not an instruction", errno=_errno.EINVAL)
            starts.add(index)
    return sorted(starts)


def wrap_memory_program(body: Program, *, mem_fd: int | None, mem_len: int, result_fd: int) -> Program:
    """The body inside the prologue/epilogue described in the module docstring."""
    if not body:
        raise KernelError("empty program", errno=_errno.EINVAL)
    if not 0 <= mem_len < (1 << 31):
        raise KernelError(f"memory of {mem_len} bytes is too large", errno=_errno.E2BIG)
    starts = _subprogram_starts(body)
    if starts and starts[0] == 0:
        raise KernelError("a local call targets the first instruction", errno=_errno.EINVAL)
    main_end = starts[0] if starts else len(body)
    last = body[main_end - 1]
    if last.form is not Form.EXIT and last.form is not Form.JA:
        # The kernel refuses a function that falls off its end; the epilogue
        # must not paper over that.
        raise KernelError("the main function does not end with exit or goto", errno=_errno.EINVAL)
    linker = Linker()
    linker.emit(_map_value(1, mem_fd) if mem_fd is not None else Insn(_MOV64_K, 1))
    linker.emit(Insn(_MOV64_K, 2, imm=mem_len))
    for i, (insn, key) in enumerate(import_targets(body, _BODY)):
        if i == main_end:
            _emit_epilogue(linker, result_fd)
        linker.label((_BODY, i))
        if i < main_end and insn.form is Form.EXIT:
            linker.emit(Insn(_JA), _EPILOGUE)
        else:
            linker.emit(insn, key)
    if main_end == len(body):
        _emit_epilogue(linker, result_fd)
    linker.label((_BODY, len(body)))
    return linker.link(name=body.name)


def _emit_epilogue(linker: Linker, result_fd: int) -> None:
    linker.label(_EPILOGUE)
    linker.emit(_map_value(1, result_fd))
    linker.emit(Insn(_STX_DW, 1, 0, 0, 0))
    linker.emit(Insn(_MOV64_K, 0, imm=_DONE))
    linker.emit(Insn(_EXIT))


class KernelRunner:
    """Runs many programs against reusable maps (one per memory size + one result map).

    >>> with KernelRunner() as k:                              # doctest: +SKIP
    ...     k.run(assemble("mov r0, r2\\nexit"), bytes(16)).r0
    16
    """

    def __init__(self, *, prog_type: int = BPF_PROG_TYPE_XDP, log_level: int = 0) -> None:
        self.prog_type = prog_type
        self.log_level = log_level
        self._mem_maps: dict[int, BpfMap] = {}
        self._result = BpfMap(value_size=8, name="pybpf_r0")

    def _mem_map(self, size: int) -> BpfMap | None:
        if size == 0:
            return None
        m = self._mem_maps.get(size)
        if m is None:
            m = self._mem_maps[size] = BpfMap(value_size=size, name="pybpf_mem")
        return m

    def load(self, program: Program | bytes, mem_len: int, *, log_level: int | None = None) -> BpfProgram:
        """Wrap and load ``program`` for memory of ``mem_len`` bytes (KernelError if rejected)."""
        body = program if isinstance(program, Program) else decode(bytes(program))
        mem_map = self._mem_map(mem_len)
        wrapped = wrap_memory_program(body, mem_fd=mem_map.fd if mem_map else None, mem_len=mem_len,
                                      result_fd=self._result.fd)
        level = self.log_level if log_level is None else log_level
        return load_program(wrapped, self.prog_type, log_level=level, name=body.name or "pybpf")

    def execute(self, loaded: BpfProgram, mem: bytes) -> tuple[int, bytes]:
        """Run an already loaded wrapper on ``mem``: (r0, memory after)."""
        mem_map = self._mem_map(len(mem))
        if mem_map is not None:
            mem_map.update(0, bytes(mem))
        res = loaded.test_run(_PACKET)
        if res.retval != _DONE:
            raise KernelError(f"the wrapper returned {res.retval}, not {_DONE}", errno=_errno.EPROTO)
        raw = self._result.lookup(0)
        after = mem_map.lookup(0) if mem_map is not None else b""
        if raw is None or after is None:
            raise KernelError("array map element 0 is missing", errno=_errno.ENOENT)
        return int.from_bytes(raw, "little"), after

    def run(self, program: Program | bytes, mem: bytes, *, log_level: int | None = None) -> KernelRun:
        """Load, run once, unload; see :func:`run_in_kernel`."""
        with self.load(program, len(mem), log_level=log_level) as loaded:
            r0, after = self.execute(loaded, mem)
            return KernelRun(r0=r0, mem=after, log=loaded.log)

    def close(self) -> None:
        for m in self._mem_maps.values():
            m.close()
        self._mem_maps.clear()
        self._result.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def run_in_kernel(program: Program | bytes, mem: bytes = b"", *, prog_type: int = BPF_PROG_TYPE_XDP,
                  log_level: int = 1) -> KernelRun:
    """Run a uBPF-style program in the real kernel and return r0, memory and log.

    The program sees ``r1`` = pointer to a copy of ``mem`` and ``r2`` =
    ``len(mem)``, as in uBPF and pybpf's interpreter; its result is the full
    64-bit ``r0`` at its (main function's) ``exit``.  The memory lives in the
    value of a one-entry array map, so the kernel verifier checks every access
    against exactly ``len(mem)`` bytes; bpf-to-bpf calls keep working.  The
    verifier log at ``log_level`` is returned on success and carried by the
    :class:`~pybpf.errors.KernelError` on rejection.

    Needs bpf() (root or CAP_BPF); see :func:`pybpf.kernel.available`.  All
    maps and the program are closed before returning.
    """
    with KernelRunner(prog_type=prog_type, log_level=log_level) as runner:
        return runner.run(program, mem)

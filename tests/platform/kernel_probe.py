"""Just enough bpf(BPF_PROG_LOAD) to ask the running kernel's verifier a question.

The platform tests load tiny programs and compare the kernel's accept/reject
(and its message) with pybpf's data.  Every fd is closed before returning.
"""

from __future__ import annotations

import errno
import os
import struct
from dataclasses import dataclass

from pybpf import kernel
from pybpf.errors import KernelError

_LOG_SIZE = 1 << 16


@dataclass(frozen=True)
class LoadResult:
    ok: bool
    errno: int
    log: str


def insn(opcode: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", opcode, (src << 4) | dst, off, imm)


SIZE_BITS = {4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18}
EXIT = insn(0x95)


def mov_imm(dst: int, imm: int) -> bytes:
    return insn(0xB7, dst, imm=imm)


def ldx(size: int, dst: int, src: int, off: int) -> bytes:
    return insn(0x61 | SIZE_BITS[size], dst, src, off)


def stx(size: int, dst: int, src: int, off: int) -> bytes:
    return insn(0x63 | SIZE_BITS[size], dst, src, off)


def call(helper_id: int) -> bytes:
    return insn(0x85, imm=helper_id)


def available() -> str | None:
    """None when bpf() can load programs here, else why not."""
    if kernel.SYS_BPF is None:
        return f"no bpf() syscall number for {os.uname().machine}"
    if os.geteuid() != 0:
        return "needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)"
    r = load(1, mov_imm(0, 0) + EXIT)
    if not r.ok:
        return f"bpf(BPF_PROG_LOAD) fails: {os.strerror(r.errno)}"
    return None


def load(prog_type: int, code: bytes, *, license: str = "GPL", attach: int = 0) -> LoadResult:
    """Load ``code`` (raw instructions), close the fd, and report the verdict and log."""
    for _ in range(5):
        try:
            with kernel.load_program(code, prog_type, license=license, log_level=1, log_size=_LOG_SIZE,
                                     expected_attach_type=attach) as prog:
                return LoadResult(True, 0, prog.log)
        except KernelError as e:
            result = LoadResult(False, e.errno or 0, e.log)
            if e.errno != errno.EAGAIN:
                break
    return result

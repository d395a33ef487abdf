"""Just enough bpf(BPF_PROG_LOAD) to ask the running kernel's verifier a question.

The platform tests load tiny programs and compare the kernel's accept/reject
(and its message) with pybpf's data.  Every fd is closed before returning.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform
import struct
from dataclasses import dataclass

_SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
_PROG_LOAD = 5
_LOG_SIZE = 1 << 16


class _ProgLoadAttr(ctypes.Structure):
    # The prefix of union bpf_attr that BPF_PROG_LOAD reads (up to expected_attach_type).
    _fields_ = [
        ("prog_type", ctypes.c_uint32),
        ("insn_cnt", ctypes.c_uint32),
        ("insns", ctypes.c_uint64),
        ("license", ctypes.c_uint64),
        ("log_level", ctypes.c_uint32),
        ("log_size", ctypes.c_uint32),
        ("log_buf", ctypes.c_uint64),
        ("kern_version", ctypes.c_uint32),
        ("prog_flags", ctypes.c_uint32),
        ("prog_name", ctypes.c_char * 16),
        ("prog_ifindex", ctypes.c_uint32),
        ("expected_attach_type", ctypes.c_uint32),
    ]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


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
    if _SYS_BPF is None:
        return f"no bpf() syscall number for {platform.machine()}"
    if os.geteuid() != 0:
        return "needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)"
    r = load(1, mov_imm(0, 0) + EXIT)
    if not r.ok:
        return f"bpf(BPF_PROG_LOAD) fails: {os.strerror(r.errno)}"
    return None


def load(prog_type: int, code: bytes, *, license: str = "GPL", attach: int = 0) -> LoadResult:
    """Load ``code`` (raw instructions), close the fd, and report the verdict and log."""
    assert _SYS_BPF is not None
    insns = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(license.encode())
    log = ctypes.create_string_buffer(_LOG_SIZE)
    attr = _ProgLoadAttr(
        prog_type=prog_type, insn_cnt=len(code) // 8, insns=ctypes.addressof(insns),
        license=ctypes.addressof(lic), log_level=1, log_size=_LOG_SIZE, log_buf=ctypes.addressof(log),
        expected_attach_type=attach,
    )
    for _ in range(5):
        fd = _libc.syscall(_SYS_BPF, _PROG_LOAD, ctypes.byref(attr), ctypes.sizeof(attr))
        err = ctypes.get_errno() if fd < 0 else 0
        if err != errno.EAGAIN:
            break
    if fd >= 0:
        os.close(fd)
        return LoadResult(True, 0, log.value.decode(errors="replace"))
    return LoadResult(False, err, log.value.decode(errors="replace"))

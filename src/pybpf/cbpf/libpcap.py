"""ctypes binding to the few libpcap functions classic BPF work needs.

``compile_filter`` is ``pcap_open_dead`` + ``pcap_compile`` (the filter a
capture of that link type gets, exactly as tcpdump builds it); ``bpf_filter``
runs a program with libpcap's own interpreter; ``bpf_image`` is the line
``tcpdump -d`` prints.  Only the standard library is imported, so this sits
in cbpf's layer; without libpcap every entry point raises
:class:`LibpcapError`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Sequence
from functools import lru_cache

from ..errors import PyBpfError
from .model import SockFilter

__all__ = ["LibpcapError", "available", "bpf_filter", "bpf_image", "compile_filter", "version",
           "DLT_EN10MB", "DLT_RAW", "LINKTYPE_RAW", "PCAP_NETMASK_UNKNOWN"]

DLT_EN10MB = 1
DLT_RAW = 12  # what pcap_open_dead wants for LINKTYPE_RAW (101) captures
LINKTYPE_RAW = 101
PCAP_NETMASK_UNKNOWN = 0xFFFF_FFFF


class LibpcapError(PyBpfError, RuntimeError):
    """libpcap is missing or refused the request (``pcap_geterr`` text in the message)."""


class _BpfInsn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32)]


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_BpfInsn))]


@lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL | None:
    for name in (ctypes.util.find_library("pcap"), "libpcap.so.1", "libpcap.so.0.8", "libpcap.so"):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.pcap_open_dead.restype = ctypes.c_void_p
        lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.pcap_close.argtypes = [ctypes.c_void_p]
        lib.pcap_compile.restype = ctypes.c_int
        lib.pcap_compile.argtypes = [ctypes.c_void_p, ctypes.POINTER(_BpfProgram), ctypes.c_char_p,
                                     ctypes.c_int, ctypes.c_uint32]
        lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
        lib.pcap_geterr.restype = ctypes.c_char_p
        lib.pcap_geterr.argtypes = [ctypes.c_void_p]
        lib.bpf_filter.restype = ctypes.c_uint
        lib.bpf_filter.argtypes = [ctypes.POINTER(_BpfInsn), ctypes.c_char_p, ctypes.c_uint, ctypes.c_uint]
        lib.bpf_image.restype = ctypes.c_char_p
        lib.bpf_image.argtypes = [ctypes.POINTER(_BpfInsn), ctypes.c_int]
        lib.pcap_lib_version.restype = ctypes.c_char_p
        return lib
    return None


def available() -> bool:
    """Whether libpcap could be loaded."""
    return _lib() is not None


def _need() -> ctypes.CDLL:
    lib = _lib()
    if lib is None:
        raise LibpcapError("libpcap is not installed (install libpcap, e.g. libpcap0.8)")
    return lib


def version() -> str:
    return (_need().pcap_lib_version() or b"").decode()


def _dlt(linktype: int) -> int:
    # pcap_open_dead takes a DLT; LINKTYPE_RAW (101) is DLT_RAW (12 on Linux).
    return DLT_RAW if linktype == LINKTYPE_RAW else linktype


def compile_filter(expression: str, linktype: int = DLT_EN10MB, *, snaplen: int = 262144,
                   optimize: bool = True, netmask: int = PCAP_NETMASK_UNKNOWN) -> list[SockFilter]:
    """``pcap_compile`` of ``expression`` for captures of ``linktype`` (tcpdump's program)."""
    lib = _need()
    handle = lib.pcap_open_dead(_dlt(linktype), snaplen)
    if not handle:
        raise LibpcapError(f"pcap_open_dead failed for link type {linktype}")
    try:
        prog = _BpfProgram()
        if lib.pcap_compile(handle, ctypes.byref(prog), expression.encode(), int(optimize), netmask) != 0:
            err = (lib.pcap_geterr(handle) or b"").decode(errors="replace")
            raise LibpcapError(f"cannot compile filter {expression!r}: {err}")
        try:
            return [SockFilter(prog.bf_insns[i].code, prog.bf_insns[i].jt, prog.bf_insns[i].jf,
                               prog.bf_insns[i].k) for i in range(prog.bf_len)]
        finally:
            lib.pcap_freecode(ctypes.byref(prog))
    finally:
        lib.pcap_close(handle)


class Compiled:
    """A program copied into C memory once, for many :func:`bpf_filter` calls."""

    def __init__(self, prog: Sequence[SockFilter]) -> None:
        self.array = (_BpfInsn * len(prog))(*[_BpfInsn(f.code, f.jt, f.jf, f.k) for f in prog])

    def run(self, data: bytes, wirelen: int | None = None) -> int:
        lib = _need()
        return int(lib.bpf_filter(self.array, data, len(data) if wirelen is None else wirelen, len(data)))


def bpf_filter(prog: Sequence[SockFilter] | Compiled, data: bytes, wirelen: int | None = None) -> int:
    """libpcap's interpreter: the program's return value for one packet."""
    compiled = prog if isinstance(prog, Compiled) else Compiled(prog)
    return compiled.run(data, wirelen)


def bpf_image(insn: SockFilter, pc: int) -> str:
    """libpcap's text for one instruction (a ``tcpdump -d`` line)."""
    lib = _need()
    one = _BpfInsn(insn.code, insn.jt, insn.jf, insn.k)
    return (lib.bpf_image(ctypes.byref(one), pc) or b"").decode()

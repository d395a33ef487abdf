"""Argument, return and register kinds, exactly as include/linux/bpf.h numbers them.

The kernel packs a *base type* into the low 8 bits (``BPF_BASE_TYPE_BITS``)
and modifier flags (``enum bpf_type_flag``) above them, so ``ARG_PTR_TO_UNINIT_MEM``
is ``ARG_PTR_TO_MEM | MEM_UNINIT | MEM_WRITE``.  pybpf keeps the two apart
(:class:`ArgSpec` has ``type`` and ``flags``) so the verifier can test a flag
without masking, while :attr:`ArgSpec.raw` still gives the kernel's number and
:attr:`ArgSpec.kernel_name` its spelling.

Member names are the kernel's own (``ArgType.ARG_PTR_TO_MEM``), because the
verifier reproduces the kernel's log and reviewers compare against C source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

__all__ = [
    "ARG_NAMES",
    "ARG_PTR_TO_INT",
    "ARG_PTR_TO_LONG",
    "BPF_BASE_TYPE_BITS",
    "RET_NAMES",
    "ArgSpec",
    "ArgType",
    "RegType",
    "RetSpec",
    "RetType",
    "TypeFlag",
    "reg_type_str",
]

BPF_BASE_TYPE_BITS = 8
"""Bits of a kernel arg/ret/reg type value that hold the base type."""


class TypeFlag(IntFlag):
    """``enum bpf_type_flag``: modifiers shared by arg, return and register types."""

    NONE = 0
    PTR_MAYBE_NULL = 1 << (0 + BPF_BASE_TYPE_BITS)
    MEM_RDONLY = 1 << (1 + BPF_BASE_TYPE_BITS)
    MEM_RINGBUF = 1 << (2 + BPF_BASE_TYPE_BITS)
    MEM_USER = 1 << (3 + BPF_BASE_TYPE_BITS)
    MEM_PERCPU = 1 << (4 + BPF_BASE_TYPE_BITS)
    OBJ_RELEASE = 1 << (5 + BPF_BASE_TYPE_BITS)
    PTR_UNTRUSTED = 1 << (6 + BPF_BASE_TYPE_BITS)
    MEM_UNINIT = 1 << (7 + BPF_BASE_TYPE_BITS)
    DYNPTR_TYPE_LOCAL = 1 << (8 + BPF_BASE_TYPE_BITS)
    DYNPTR_TYPE_RINGBUF = 1 << (9 + BPF_BASE_TYPE_BITS)
    MEM_FIXED_SIZE = 1 << (10 + BPF_BASE_TYPE_BITS)
    MEM_ALLOC = 1 << (11 + BPF_BASE_TYPE_BITS)
    PTR_TRUSTED = 1 << (12 + BPF_BASE_TYPE_BITS)
    MEM_RCU = 1 << (13 + BPF_BASE_TYPE_BITS)
    NON_OWN_REF = 1 << (14 + BPF_BASE_TYPE_BITS)
    DYNPTR_TYPE_SKB = 1 << (15 + BPF_BASE_TYPE_BITS)
    DYNPTR_TYPE_XDP = 1 << (16 + BPF_BASE_TYPE_BITS)
    MEM_ALIGNED = 1 << (17 + BPF_BASE_TYPE_BITS)
    MEM_WRITE = 1 << (18 + BPF_BASE_TYPE_BITS)
    DYNPTR_TYPE_SKB_META = 1 << (19 + BPF_BASE_TYPE_BITS)
    DYNPTR_TYPE_FILE = 1 << (20 + BPF_BASE_TYPE_BITS)


class ArgType(IntEnum):
    """Base values of ``enum bpf_arg_type`` (what a helper argument must be)."""

    ARG_DONTCARE = 0
    ARG_CONST_MAP_PTR = 1
    ARG_PTR_TO_MAP_KEY = 2
    ARG_PTR_TO_MAP_VALUE = 3
    ARG_PTR_TO_MEM = 4
    ARG_PTR_TO_ARENA = 5
    ARG_CONST_SIZE = 6
    ARG_CONST_SIZE_OR_ZERO = 7
    ARG_PTR_TO_CTX = 8
    ARG_ANYTHING = 9
    ARG_PTR_TO_SPIN_LOCK = 10
    ARG_PTR_TO_SOCK_COMMON = 11
    ARG_PTR_TO_SOCKET = 12
    ARG_PTR_TO_BTF_ID = 13
    ARG_PTR_TO_RINGBUF_MEM = 14
    ARG_CONST_ALLOC_SIZE_OR_ZERO = 15
    ARG_PTR_TO_BTF_ID_SOCK_COMMON = 16
    ARG_PTR_TO_PERCPU_BTF_ID = 17
    ARG_PTR_TO_FUNC = 18
    ARG_PTR_TO_STACK = 19
    ARG_PTR_TO_CONST_STR = 20
    ARG_PTR_TO_TIMER = 21
    ARG_KPTR_XCHG_DEST = 22
    ARG_PTR_TO_DYNPTR = 23


class RetType(IntEnum):
    """Base values of ``enum bpf_return_type``."""

    RET_INTEGER = 0
    RET_VOID = 1
    RET_PTR_TO_MAP_VALUE = 2
    RET_PTR_TO_SOCKET = 3
    RET_PTR_TO_TCP_SOCK = 4
    RET_PTR_TO_SOCK_COMMON = 5
    RET_PTR_TO_MEM = 6
    RET_PTR_TO_MEM_OR_BTF_ID = 7
    RET_PTR_TO_BTF_ID = 8


class RegType(IntEnum):
    """Base values of ``enum bpf_reg_type`` (what a register holds, for the verifier)."""

    NOT_INIT = 0
    SCALAR_VALUE = 1
    PTR_TO_CTX = 2
    CONST_PTR_TO_MAP = 3
    PTR_TO_MAP_VALUE = 4
    PTR_TO_MAP_KEY = 5
    PTR_TO_STACK = 6
    PTR_TO_PACKET_META = 7
    PTR_TO_PACKET = 8
    PTR_TO_PACKET_END = 9
    PTR_TO_FLOW_KEYS = 10
    PTR_TO_SOCKET = 11
    PTR_TO_SOCK_COMMON = 12
    PTR_TO_TCP_SOCK = 13
    PTR_TO_TP_BUFFER = 14
    PTR_TO_XDP_SOCK = 15
    PTR_TO_BTF_ID = 16
    PTR_TO_MEM = 17
    PTR_TO_ARENA = 18
    PTR_TO_BUF = 19
    PTR_TO_FUNC = 20
    PTR_TO_INSN = 21
    CONST_PTR_TO_DYNPTR = 22


# The kernel's composite names (the "Extended" members of the enums), keyed by
# (base, flags); anything else is spelled "BASE | FLAG | ...".
ARG_NAMES: dict[tuple[ArgType, TypeFlag], str] = {
    (ArgType.ARG_PTR_TO_MAP_VALUE, TypeFlag.PTR_MAYBE_NULL): "ARG_PTR_TO_MAP_VALUE_OR_NULL",
    (ArgType.ARG_PTR_TO_MEM, TypeFlag.PTR_MAYBE_NULL): "ARG_PTR_TO_MEM_OR_NULL",
    (ArgType.ARG_PTR_TO_CTX, TypeFlag.PTR_MAYBE_NULL): "ARG_PTR_TO_CTX_OR_NULL",
    (ArgType.ARG_PTR_TO_SOCKET, TypeFlag.PTR_MAYBE_NULL): "ARG_PTR_TO_SOCKET_OR_NULL",
    (ArgType.ARG_PTR_TO_STACK, TypeFlag.PTR_MAYBE_NULL): "ARG_PTR_TO_STACK_OR_NULL",
    (ArgType.ARG_PTR_TO_BTF_ID, TypeFlag.PTR_MAYBE_NULL): "ARG_PTR_TO_BTF_ID_OR_NULL",
    (ArgType.ARG_PTR_TO_MEM, TypeFlag.MEM_UNINIT | TypeFlag.MEM_WRITE): "ARG_PTR_TO_UNINIT_MEM",
    (ArgType.ARG_PTR_TO_MEM, TypeFlag.MEM_FIXED_SIZE): "ARG_PTR_TO_FIXED_SIZE_MEM",
}

RET_NAMES: dict[tuple[RetType, TypeFlag], str] = {
    (RetType.RET_PTR_TO_MAP_VALUE, TypeFlag.PTR_MAYBE_NULL): "RET_PTR_TO_MAP_VALUE_OR_NULL",
    (RetType.RET_PTR_TO_SOCKET, TypeFlag.PTR_MAYBE_NULL): "RET_PTR_TO_SOCKET_OR_NULL",
    (RetType.RET_PTR_TO_TCP_SOCK, TypeFlag.PTR_MAYBE_NULL): "RET_PTR_TO_TCP_SOCK_OR_NULL",
    (RetType.RET_PTR_TO_SOCK_COMMON, TypeFlag.PTR_MAYBE_NULL): "RET_PTR_TO_SOCK_COMMON_OR_NULL",
    (RetType.RET_PTR_TO_MEM, TypeFlag.PTR_MAYBE_NULL | TypeFlag.MEM_RINGBUF):
        "RET_PTR_TO_RINGBUF_MEM_OR_NULL",
    (RetType.RET_PTR_TO_MEM, TypeFlag.PTR_MAYBE_NULL): "RET_PTR_TO_DYNPTR_MEM_OR_NULL",
    (RetType.RET_PTR_TO_BTF_ID, TypeFlag.PTR_MAYBE_NULL): "RET_PTR_TO_BTF_ID_OR_NULL",
    (RetType.RET_PTR_TO_BTF_ID, TypeFlag.PTR_TRUSTED): "RET_PTR_TO_BTF_ID_TRUSTED",
}


def _spell(base: str, flags: TypeFlag) -> str:
    parts = [base]
    parts += [f.name for f in TypeFlag if f and f in flags and f.name]
    return " | ".join(parts)


class _KernelType:
    """What ArgSpec and RetSpec share: a base kind plus modifier flags, named as the kernel names them."""

    __slots__ = ()
    type: ArgType | RetType
    flags: TypeFlag

    def _names(self) -> Mapping[tuple[Any, TypeFlag], str]:
        raise NotImplementedError

    @property
    def raw(self) -> int:
        """The kernel's enum value (base | flags)."""
        return int(self.type) | int(self.flags)

    @property
    def kernel_name(self) -> str:
        known = self._names().get((self.type, self.flags))
        return known if known is not None else _spell(self.type.name, self.flags)

    @property
    def may_be_null(self) -> bool:
        return TypeFlag.PTR_MAYBE_NULL in self.flags

    def __str__(self) -> str:
        return self.kernel_name


@dataclass(frozen=True, slots=True)
class ArgSpec(_KernelType):
    """One helper argument: the kernel's ``argN_type`` plus ``argN_size``/``argN_btf_id``.

    ``size`` is the fixed byte size of an ``ARG_PTR_TO_FIXED_SIZE_MEM``
    argument (``.argN_size``), 0 otherwise.  ``btf_id`` names the kernel type
    an ``ARG_PTR_TO_BTF_ID...`` argument must point to (``"sock_common"``,
    ``"task_struct"`` ...), or ``"poison"`` where the kernel puts
    ``BPF_PTR_POISON`` (the verifier works the type out itself).
    """

    type: ArgType
    flags: TypeFlag = TypeFlag.NONE
    size: int = 0
    btf_id: str | None = None

    def _names(self) -> Mapping[tuple[Any, TypeFlag], str]:
        return ARG_NAMES

    @property
    def is_release(self) -> bool:
        """``arg_type_is_release``: the helper releases the reference passed here."""
        return TypeFlag.OBJ_RELEASE in self.flags

    @property
    def is_raw_mem(self) -> bool:
        """``arg_type_is_raw_mem``: memory the helper fills, so it may be uninitialized."""
        return self.type is ArgType.ARG_PTR_TO_MEM and TypeFlag.MEM_UNINIT in self.flags

    @property
    def is_mem_size(self) -> bool:
        """``arg_type_is_mem_size``: the size paired with the preceding memory argument."""
        return self.type in (ArgType.ARG_CONST_SIZE, ArgType.ARG_CONST_SIZE_OR_ZERO)


@dataclass(frozen=True, slots=True)
class RetSpec(_KernelType):
    """A helper's ``ret_type`` (and ``ret_btf_id`` where it returns a BTF pointer)."""

    type: RetType
    flags: TypeFlag = TypeFlag.NONE
    btf_id: str | None = None

    def _names(self) -> Mapping[tuple[Any, TypeFlag], str]:
        return RET_NAMES

    @property
    def is_ringbuf_mem(self) -> bool:
        """The result is a ringbuf record whose size is the helper's ARG_CONST_ALLOC_SIZE_OR_ZERO."""
        return self.type is RetType.RET_PTR_TO_MEM and TypeFlag.MEM_RINGBUF in self.flags


# ARG_PTR_TO_LONG / ARG_PTR_TO_INT no longer exist: Linux 6.12 replaced them by
# fixed-size, aligned, write-only memory (what bpf_strtol's ``res`` is now).
# These spell the modern equivalent for code written against older kernels.
ARG_PTR_TO_LONG = ArgSpec(
    ArgType.ARG_PTR_TO_MEM,
    TypeFlag.MEM_FIXED_SIZE | TypeFlag.MEM_UNINIT | TypeFlag.MEM_WRITE | TypeFlag.MEM_ALIGNED, size=8)
ARG_PTR_TO_INT = ArgSpec(
    ArgType.ARG_PTR_TO_MEM,
    TypeFlag.MEM_FIXED_SIZE | TypeFlag.MEM_UNINIT | TypeFlag.MEM_WRITE | TypeFlag.MEM_ALIGNED, size=4)


# kernel/bpf/log.c reg_type_str(): the short names the verifier log prints.
_REG_STR: dict[RegType, str] = {
    RegType.NOT_INIT: "?",
    RegType.SCALAR_VALUE: "scalar",
    RegType.PTR_TO_CTX: "ctx",
    RegType.CONST_PTR_TO_MAP: "map_ptr",
    RegType.PTR_TO_MAP_VALUE: "map_value",
    RegType.PTR_TO_STACK: "fp",
    RegType.PTR_TO_PACKET: "pkt",
    RegType.PTR_TO_PACKET_META: "pkt_meta",
    RegType.PTR_TO_PACKET_END: "pkt_end",
    RegType.PTR_TO_FLOW_KEYS: "flow_keys",
    RegType.PTR_TO_SOCKET: "sock",
    RegType.PTR_TO_SOCK_COMMON: "sock_common",
    RegType.PTR_TO_TCP_SOCK: "tcp_sock",
    RegType.PTR_TO_TP_BUFFER: "tp_buffer",
    RegType.PTR_TO_XDP_SOCK: "xdp_sock",
    RegType.PTR_TO_BTF_ID: "ptr_",
    RegType.PTR_TO_MEM: "mem",
    RegType.PTR_TO_ARENA: "arena",
    RegType.PTR_TO_BUF: "buf",
    RegType.PTR_TO_FUNC: "func",
    RegType.PTR_TO_MAP_KEY: "map_key",
    RegType.PTR_TO_INSN: "insn",
    RegType.CONST_PTR_TO_DYNPTR: "dynptr_ptr",
}

_REG_PREFIXES: tuple[tuple[TypeFlag, str], ...] = (
    (TypeFlag.MEM_RDONLY, "rdonly_"),
    (TypeFlag.MEM_RINGBUF, "ringbuf_"),
    (TypeFlag.MEM_USER, "user_"),
    (TypeFlag.MEM_PERCPU, "percpu_"),
    (TypeFlag.MEM_RCU, "rcu_"),
    (TypeFlag.PTR_UNTRUSTED, "untrusted_"),
    (TypeFlag.PTR_TRUSTED, "trusted_"),
)


def reg_type_str(base: RegType, flags: TypeFlag = TypeFlag.NONE) -> str:
    """The verifier log's name of a register type, as kernel/bpf/log.c spells it.

    >>> reg_type_str(RegType.PTR_TO_PACKET_END)
    'pkt_end'
    >>> reg_type_str(RegType.PTR_TO_SOCK_COMMON, TypeFlag.PTR_MAYBE_NULL)
    'sock_common_or_null'
    """
    postfix = ""
    if TypeFlag.PTR_MAYBE_NULL in flags:
        # btf pointers print as "ptr_or_null_<struct>", the rest append "_or_null".
        postfix = "or_null_" if base is RegType.PTR_TO_BTF_ID else "_or_null"
    prefix = "".join(text for flag, text in _REG_PREFIXES if flag in flags)
    return f"{prefix}{_REG_STR[base]}{postfix}"

"""The verifier log in the kernel's format (kernel/bpf/log.c, Linux 6.18).

:class:`VerifierLog` is the text buffer with the kernel's tricks: it can be
rewound (``bpf_vlog_reset``, used at level 1 to keep only the failing path)
and the state of the registers an instruction touched is appended to its
line after a ``;`` aligned as ``vlog_alignment()`` does::

    0: (61) r0 = *(u32 *)(r1 +76)         ; R0=pkt(r=0) R1=ctx()

:func:`reg_str` prints one register as ``print_reg_state()``:
``R0=scalar(umax=255,var_off=(0x0; 0xff))``, ``R1=ctx()``, ``R10=fp0``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..platform.types import RegType, TypeFlag, reg_type_str
from .bounds import S32_MAX, S32_MIN, S64_MAX, S64_MIN
from .regstate import RegState
from .stack import SLOT_CHARS, SlotKind, StackState
from .tnum import U32, U64

__all__ = ["VerifierLog", "reg_str", "type_str", "snum", "unum", "scalar_ranges", "stack_str"]


def unum(v: int) -> str:
    """verbose_unum(): decimal up to U16_MAX, hex above."""
    v &= U64
    return str(v) if v <= 0xFFFF else f"{v:#x}"


def snum(v: int) -> str:
    """verbose_snum(): decimal within s16, hex (two's complement) outside."""
    if -0x8000 <= v <= 0x7FFF:
        return str(v)
    return f"{v & U64:#x}"


def type_str(reg: RegState) -> str:
    return reg_type_str(reg.type, reg.flags)


def scalar_ranges(reg: RegState) -> list[str]:
    """print_scalar_ranges(): bounds that say something, equal ones merged (``smin=smin32=0``)."""
    items: list[list[object]] = [
        ["smin", reg.smin, reg.smin == S64_MIN],
        ["smax", reg.smax, reg.smax == S64_MAX],
        ["umin", reg.umin, reg.umin == 0],
        ["umax", reg.umax, reg.umax == U64],
        ["smin32", reg.s32_min, reg.s32_min == S32_MIN],
        ["smax32", reg.s32_max, reg.s32_max == S32_MAX],
        ["umin32", reg.u32_min, reg.u32_min == 0],
        ["umax32", reg.u32_max, reg.u32_max == U32],
    ]
    out: list[str] = []
    for i, (name1, val1, omit1) in enumerate(items):
        if omit1:
            continue
        assert isinstance(name1, str) and isinstance(val1, int)
        neg1 = name1[0] == "s" and val1 < 0
        text = f"{name1}="
        for j in range(i + 2, len(items), 2):
            name2, val2, omit2 = items[j]
            assert isinstance(name2, str) and isinstance(val2, int)
            # The kernel compares the u64 images ((u64)(s64)s32 for the 32-bit signed ones).
            if omit2 or (val2 & U64) != (val1 & U64):
                continue
            neg2 = name2[0] == "s" and val2 < 0
            if neg2 != neg1:
                continue
            items[j][2] = True
            text += f"{name2}="
        text += snum(val1) if name1[0] == "s" else unum(val1)
        out.append(text)
    return out


def reg_str(reg: RegState, frameno: int = 0) -> str:
    """print_reg_state()."""
    t = reg.type
    prefix = "P" if t is RegType.SCALAR_VALUE and reg.precise else ""
    if t is RegType.SCALAR_VALUE and reg.var_off.is_const:
        return prefix + snum(_s64(reg.var_off.value))
    name = prefix + type_str(reg)
    if t is RegType.PTR_TO_STACK:
        fr = f"[{reg.frameno}]" if reg.frameno != frameno else ""
        if reg.var_off.is_const:
            return f"{name}{fr}{snum(_s64(reg.var_off.value) + reg.off)}"
        name += fr
    parts: list[str] = []
    if reg.id:
        parts.append(f"id={reg.id}")
    if reg.ref_obj_id:
        parts.append(f"ref_obj_id={reg.ref_obj_id}")
    map_types = (RegType.CONST_PTR_TO_MAP, RegType.PTR_TO_MAP_VALUE, RegType.PTR_TO_MAP_KEY)
    if t in map_types and reg.map is not None:
        if reg.map.name:
            parts.append(f"map={reg.map.name}")
        parts.append(f"ks={reg.map.key_size},vs={reg.map.value_size}")
    if t is not RegType.SCALAR_VALUE and reg.off:
        parts.append(f"off={snum(reg.off)}")
    if reg.is_pkt:
        parts.append(f"r={unum(reg.range)}")
    if t is RegType.PTR_TO_MEM:
        parts.append(f"sz={unum(reg.mem_size)}")
    if reg.var_off.is_const:
        if reg.var_off.value:
            parts.append(f"imm={snum(_s64(reg.var_off.value))}")
    else:
        parts += scalar_ranges(reg)
        if not reg.var_off.is_unknown:
            parts.append(f"var_off={reg.var_off}")
    return f"{name}({','.join(parts)})"


def _s64(v: int) -> int:
    v &= U64
    return v - (1 << 64) if v >> 63 else v


def stack_str(stack: StackState, spis: Iterable[int] | None, frameno: int) -> str:
    """The stack part of print_verifier_state(): `` fp-8=mmmmmmmm``, `` fp-16=ctx()``..."""
    out = []
    for spi, slot in enumerate(stack.slots):
        if spis is not None and spi not in spis:
            continue
        if not slot.valid:
            continue
        chars = "".join(SLOT_CHARS[k] for k in slot.kinds)
        off = (-spi - 1) * 8
        if slot.kinds[7] is SlotKind.SPILL:
            first = slot.kinds.index(SlotKind.SPILL)
            out.append(f" fp{off}={chars[:first]}{reg_str(slot.spilled, frameno)}")
        else:
            out.append(f" fp{off}={chars}")
    return "".join(out)


_ = TypeFlag  # re-export convenience for callers formatting flags


class VerifierLog:
    """The log buffer with level, rewind and the aligned ``;`` state suffix."""

    def __init__(self, level: int) -> None:
        self.level = level
        self.buf: list[str] = []
        self.length = 0
        self.prev_log_pos = 0
        self.prev_insn_print_pos = 0

    @property
    def end_pos(self) -> int:
        return self.length

    def write(self, text: str) -> None:
        if not self.level:
            return
        self.buf.append(text)
        self.length += len(text)

    def text(self) -> str:
        return "".join(self.buf)

    def reset(self, pos: int) -> None:
        """bpf_vlog_reset(): drop everything after ``pos`` (cheap for the usual small rewinds)."""
        while self.length > pos and self.buf:
            last = self.buf.pop()
            self.length -= len(last)
            if self.length < pos:
                keep = last[: pos - self.length]
                self.buf.append(keep)
                self.length += len(keep)

    @staticmethod
    def alignment(pos: int) -> int:
        """vlog_alignment()."""
        return -(-max(pos + 4, 40) // 8) * 8 - pos - 1

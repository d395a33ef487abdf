"""The stack of one frame: per-byte slot kinds and spilled registers.

As ``struct bpf_stack_state``: the stack is cut into 8-byte slots (``spi``
0 is fp-8..fp-1); each byte has a kind and a slot may hold a spilled
register.  Byte ``fp+off`` lives in slot ``(-off-1)//8`` at index
``(-off-1)%8`` -- the kernel's order, which the log prints as is
(``fp-8=mmmm????``).
"""

from __future__ import annotations

import enum

from .regstate import RegState

__all__ = ["SlotKind", "StackSlot", "StackState", "MAX_BPF_STACK", "SLOT_CHARS"]

MAX_BPF_STACK = 512


class SlotKind(enum.IntEnum):
    INVALID = 0
    SPILL = 1
    MISC = 2
    ZERO = 3


SLOT_CHARS = {SlotKind.INVALID: "?", SlotKind.SPILL: "r", SlotKind.MISC: "m", SlotKind.ZERO: "0"}


class StackSlot:
    __slots__ = ("kinds", "spilled")

    def __init__(self) -> None:
        self.kinds: list[SlotKind] = [SlotKind.INVALID] * 8
        self.spilled: RegState = RegState()

    def copy(self) -> StackSlot:
        s = StackSlot()
        s.kinds = list(self.kinds)
        s.spilled = self.spilled.copy()
        return s

    @property
    def is_spill(self) -> bool:
        """is_spilled_reg(): the top byte holds a spilled register."""
        return self.kinds[7] is SlotKind.SPILL

    @property
    def is_spilled_scalar(self) -> bool:
        return self.is_spill and self.spilled.is_scalar

    @property
    def valid(self) -> bool:
        return any(k is not SlotKind.INVALID for k in self.kinds)


class StackState:
    """``allocated_stack`` bytes of slots (grown in steps of 8, as grow_stack_state())."""

    __slots__ = ("slots",)

    def __init__(self) -> None:
        self.slots: list[StackSlot] = []

    @property
    def allocated(self) -> int:
        return len(self.slots) * 8

    def copy(self) -> StackState:
        s = StackState()
        s.slots = [x.copy() for x in self.slots]
        return s

    def grow(self, size: int) -> None:
        n = (size + 7) // 8
        while len(self.slots) < n:
            self.slots.append(StackSlot())

    def slot(self, spi: int) -> StackSlot:
        self.grow((spi + 1) * 8)
        return self.slots[spi]

    def kind_at(self, off: int) -> SlotKind:
        """Kind of byte fp+off (off < 0); INVALID beyond the allocated stack."""
        spi, idx = divmod(-off - 1, 8)
        if spi >= len(self.slots):
            return SlotKind.INVALID
        return self.slots[spi].kinds[idx]

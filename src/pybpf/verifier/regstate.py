"""Register state: ``struct bpf_reg_state`` as the verifier tracks it.

A register is NOT_INIT, a SCALAR_VALUE (numbers in :class:`~.bounds.Bounds`)
or a pointer: ``type`` is the kernel's base :class:`~pybpf.platform.RegType`
and ``flags`` its modifiers (``PTR_MAYBE_NULL`` makes ``map_value_or_null``,
``MEM_RINGBUF`` a ring buffer record).  Pointers carry a fixed offset
``off`` and a variable offset in the bounds; ``id`` links copies of one
pointer (null checks, packet ranges), ``ref_obj_id`` names an acquired
reference, ``range`` is the checked packet length.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..maps.spec import MapSpec
from ..platform.types import RegType, TypeFlag
from .bounds import Bounds

__all__ = ["RegState", "AT_PKT_END", "BEYOND_PKT_END", "PKT_TYPES", "MAX_PACKET_OFF"]

# The kernel stores these negative markers in reg->range (mark_pkt_end()).
AT_PKT_END = -1
BEYOND_PKT_END = -2
MAX_PACKET_OFF = 0xFFFF
PKT_TYPES = (RegType.PTR_TO_PACKET, RegType.PTR_TO_PACKET_META)


@dataclass(slots=True)
class RegState(Bounds):
    type: RegType = RegType.NOT_INIT
    flags: TypeFlag = TypeFlag.NONE
    off: int = 0
    id: int = 0
    ref_obj_id: int = 0
    range: int = 0
    map: MapSpec | None = None
    mem_size: int = 0
    frameno: int = 0

    def copy(self) -> RegState:
        r = RegState()
        r.copy_from(self)
        return r

    def copy_from(self, o: RegState) -> None:
        """copy_register_state()."""
        self.copy_bounds_from(o)
        self.precise = o.precise
        self.type, self.flags, self.off, self.id = o.type, o.flags, o.off, o.id
        self.ref_obj_id, self.range, self.map, self.mem_size, self.frameno = (
            o.ref_obj_id, o.range, o.map, o.mem_size, o.frameno)

    # -- markings ---------------------------------------------------------------------------
    def mark_not_init(self) -> None:
        """__mark_reg_not_init()."""
        self._clear()
        self.mark_unknown_scalar()
        self.type = RegType.NOT_INIT

    def mark_unknown(self) -> None:
        """__mark_reg_unknown(): any 64-bit number."""
        self._clear()
        self.mark_unknown_scalar()
        self.type = RegType.SCALAR_VALUE

    def mark_const(self, value: int) -> None:
        """A scalar with a known value (__mark_reg_known on a fresh scalar)."""
        self._clear()
        self.type = RegType.SCALAR_VALUE
        self.mark_known(value)
        self.precise = False

    def mark_known_zero_ptr(self, type_: RegType, flags: TypeFlag = TypeFlag.NONE) -> None:
        """mark_reg_known_zero() then a pointer type: offset 0, no variable part."""
        self._clear()
        self.mark_known(0)
        self.type, self.flags = type_, flags

    def _clear(self) -> None:
        self.flags = TypeFlag.NONE
        self.off = self.id = self.ref_obj_id = self.range = self.mem_size = self.frameno = 0
        self.map = None
        self.precise = False

    # -- questions ---------------------------------------------------------------------------
    @property
    def is_scalar(self) -> bool:
        return self.type is RegType.SCALAR_VALUE

    @property
    def is_pointer(self) -> bool:
        return self.type not in (RegType.SCALAR_VALUE, RegType.NOT_INIT)

    @property
    def may_be_null(self) -> bool:
        return TypeFlag.PTR_MAYBE_NULL in self.flags

    @property
    def is_null(self) -> bool:
        """register_is_null(): a scalar known to be 0."""
        return self.type is RegType.SCALAR_VALUE and self.var_off.is_const and self.var_off.value == 0

    @property
    def is_pkt(self) -> bool:
        """reg_is_pkt_pointer()."""
        return self.type in PKT_TYPES

    @property
    def is_pkt_any(self) -> bool:
        """reg_is_pkt_pointer_any()."""
        return self.type in PKT_TYPES or self.type is RegType.PTR_TO_PACKET_END

    def not_null(self) -> bool:
        """reg_not_null(): a pointer that cannot be NULL."""
        if self.may_be_null:
            return False
        # Linux 6.18 lists these only: a stack, ctx or packet pointer compared with 0
        # still explores both branches.
        return self.type in (RegType.PTR_TO_SOCKET, RegType.PTR_TO_TCP_SOCK, RegType.PTR_TO_MAP_VALUE,
                             RegType.PTR_TO_MAP_KEY, RegType.PTR_TO_SOCK_COMMON, RegType.PTR_TO_MEM,
                             RegType.CONST_PTR_TO_MAP)

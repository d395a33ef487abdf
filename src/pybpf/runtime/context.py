"""Contexts and packets per program type, as BPF_PROG_TEST_RUN builds them.

The kernel rewrites a ctx load of ``data``/``data_end``/``data_meta`` into a
load of the real packet pointer (convert_ctx_access).  pybpf gets the same
result without rewriting: packet regions are always mapped below 4 GiB, so
the ctx buffer simply holds the 32-bit packet addresses and a 32-bit load
yields the full pointer, zero-extended, exactly as the kernel's rewritten
64-bit load would.  Helpers that move the packet (adjust_head, change_tail
...) re-map it and refresh those fields, as the kernel invalidates packet
pointers after them.

Which ctx accesses are legal is decided before running, as the verifier does:
:func:`check_ctx_accesses` follows the ctx pointer through registers and
stack spills and checks each access with :func:`pybpf.platform.check_ctx_access`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import PyBpfError
from ..isa import OPCODES, CallSrc, Class, Form, Program
from ..platform import ProgType
from ..platform.contexts import ACCESS_CHECKS, SK_BUFF, XDP_MD, check_ctx_access, invalid_access_message
from .memory import Memory, Region

__all__ = ["CtxAccessError", "Packet", "check_ctx_accesses"]

ADDR_LIMIT = 1 << 32


class CtxAccessError(PyBpfError, ValueError):
    """A ctx access the program type's rules refuse (the verifier's load-time error)."""


class Packet:
    """The run's packet: the frame from ``data_hard_start`` to ``data_end``.

    Only ``[data_meta, data_end)`` is mapped (``region``), so an access before
    the metadata or past the end faults; the headroom before ``data_meta``
    is kept aside for adjust_head/meta to grow into.  ``head`` and ``meta``
    are the frame offsets of ``data`` and ``data_meta``; for skb programs the
    frame starts at ``data`` (no headroom, no metadata).  ``limit`` is how
    long the frame may grow (XDP's hard end).
    """

    def __init__(self, memory: Memory, frame: bytes, *, head: int = 0, meta: int | None = None,
                 limit: int = 1 << 16, name: str = "packet",
                 on_change: Callable[[Packet], None] | None = None) -> None:
        self.memory = memory
        self.name = name
        self.limit = limit
        self.on_change = on_change
        self.head = head
        self.meta = head if meta is None else meta
        self._pre = bytearray(frame[:self.meta])
        self.region: Region = self._map(bytearray(frame[self.meta:]))

    def _map(self, buffer: bytearray) -> Region:
        region = self.memory.add(self.name, buffer, kind="packet")
        if region.end >= ADDR_LIMIT:
            self.memory.remove(region)
            raise PyBpfError("cannot map the packet below 4 GiB (too much memory mapped)")
        return region

    # -- pointers -------------------------------------------------------------------------
    @property
    def data(self) -> int:
        return self.region.base + self.head - self.meta

    @property
    def data_end(self) -> int:
        return self.region.end

    @property
    def data_meta(self) -> int:
        return self.region.base

    @property
    def length(self) -> int:
        """``data_end - data``: the skb's ``len``."""
        return len(self.region.buffer) - (self.head - self.meta)

    @property
    def frame_len(self) -> int:
        """Frame offset of ``data_end``."""
        return self.meta + len(self.region.buffer)

    def index(self, off: int) -> int:
        """Index into ``region.buffer`` of the byte ``off`` bytes after ``data``."""
        return self.head - self.meta + off

    def payload(self) -> bytes:
        """``data .. data_end``."""
        return bytes(self.region.buffer[self.head - self.meta:])

    def with_meta(self) -> bytes:
        """``data_meta .. data_end``."""
        return bytes(self.region.buffer)

    def frame(self) -> bytearray:
        """A copy of ``data_hard_start .. data_end``."""
        return self._pre + self.region.buffer

    # -- changes --------------------------------------------------------------------------
    def replace(self, frame: bytes | bytearray, head: int, meta: int | None = None) -> None:
        """Re-map the packet from ``frame``; pointers into the old mapping become invalid.

        The new region is mapped before the old one goes, so it gets a new
        address and a stale pointer can never reach the new packet.
        """
        meta = head if meta is None else meta
        old = self.region
        self.region = self._map(bytearray(frame[meta:]))
        self.memory.remove(old)
        self._pre = bytearray(frame[:meta])
        self.head = head
        self.meta = meta
        self.changed()

    def move(self, head: int, meta: int) -> None:
        """Move ``data``/``data_meta`` within the frame (XDP adjust_head/meta)."""
        self.replace(self.frame(), head, meta)

    def changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)

    def release(self) -> None:
        if self.memory.find(self.region.base) is self.region:
            self.memory.remove(self.region)


# -- ctx field helpers ---------------------------------------------------------------------

def put_u32(buf: bytearray, off: int, value: int) -> None:
    buf[off:off + 4] = (value & 0xFFFF_FFFF).to_bytes(4, "little")


def get_u32(buf: bytes | bytearray, off: int) -> int:
    return int.from_bytes(buf[off:off + 4], "little")


def sync_skb_ctx(ctx: bytearray, pkt: Packet, *, pointers: bool) -> None:
    """Refresh ``len`` and (tc, cgroup_skb ...) ``data``/``data_end``/``data_meta`` in a __sk_buff."""
    put_u32(ctx, SK_BUFF.offsetof("len"), pkt.length)
    if pointers:
        put_u32(ctx, SK_BUFF.offsetof("data"), pkt.data)
        put_u32(ctx, SK_BUFF.offsetof("data_end"), pkt.data_end)
        put_u32(ctx, SK_BUFF.offsetof("data_meta"), pkt.data_meta)


def sync_xdp_ctx(ctx: bytearray, pkt: Packet) -> None:
    put_u32(ctx, XDP_MD.offsetof("data"), pkt.data)
    put_u32(ctx, XDP_MD.offsetof("data_end"), pkt.data_end)
    put_u32(ctx, XDP_MD.offsetof("data_meta"), pkt.data_meta)


# -- load-time ctx access check -----------------------------------------------------------

@dataclass(frozen=True)
class _Where:
    regs: frozenset[int]
    slots: frozenset[int]  # r10-relative offsets of 8-byte spills of the ctx pointer


def check_ctx_accesses(program: Program, prog_type: int, *, attach: int | None = None,
                       name: str = "") -> None:
    """Raise :class:`CtxAccessError` for the first ctx access the program type forbids.

    The ctx pointer is followed as the verifier does, in a simplified form: it
    starts in r1, moves with ``mov``, survives 8-byte stack spills and fills,
    and is lost by any other write (arithmetic on it makes an ordinary value
    here, which the verifier would reject as "modified ctx ptr" anyway).  A
    register holds ctx at a pc only if it does on every path there.
    """
    if ProgType(prog_type) not in ACCESS_CHECKS:
        return
    states: dict[int, _Where] = {0: _Where(frozenset({1}), frozenset())}
    work = [0]
    prefix = f"program {name!r}: " if name else ""
    while work:
        pc = work.pop()
        st = states[pc]
        insn = program.at(pc)
        info = OPCODES[insn.opcode]
        form = info.form
        regs, slots = set(st.regs), set(st.slots)
        succ = [pc + insn.width]
        if form in (Form.LDX, Form.ST, Form.STX, Form.ATOMIC):
            base = insn.src if form is Form.LDX else insn.dst
            write = form is not Form.LDX
            if base in regs:
                verdict = check_ctx_access(prog_type, insn.off, info.nbytes, write, attach=attach)
                if not verdict.ok or form is Form.ATOMIC:
                    raise CtxAccessError(prefix + invalid_access_message(insn.off, info.nbytes), pc=pc)
            if base == 10 and write:
                for s in [s for s in slots if s < insn.off + info.nbytes and insn.off < s + 8]:
                    slots.discard(s)
                if form is Form.STX and info.nbytes == 8 and insn.src in regs:
                    slots.add(insn.off)
            if form is Form.LDX:
                regs.discard(insn.dst)
                if insn.src == 10 and info.nbytes == 8 and insn.off in st.slots:
                    regs.add(insn.dst)
            elif form is Form.ATOMIC and insn.imm & 1:
                regs.discard(0 if insn.imm == 0xF1 else insn.src)
        elif form is Form.ALU and info.cls is Class.ALU64 and insn.opcode & 0xF0 == 0xB0 \
                and insn.source and not insn.off:
            if insn.src in regs:
                regs.add(insn.dst)
            else:
                regs.discard(insn.dst)
        elif form in (Form.ALU, Form.NEG, Form.END, Form.LD_IMM64):
            regs.discard(insn.dst)
        elif form in (Form.LD_ABS, Form.LD_IND):
            regs.discard(0)
        elif form in (Form.CALL, Form.CALLX):
            if form is Form.CALL and insn.src == CallSrc.LOCAL:
                target = insn.jump_target(pc)
                assert target is not None
                _merge(states, work, target, _Where(frozenset(regs & {1, 2, 3, 4, 5}), frozenset()))
            regs -= {0, 1, 2, 3, 4, 5}
        elif form is Form.JA:
            target = insn.jump_target(pc)
            assert target is not None
            succ = [target]
        elif form is Form.JCOND:
            target = insn.jump_target(pc)
            assert target is not None
            succ.append(target)
        elif form is Form.EXIT:
            succ = []
        new = _Where(frozenset(regs), frozenset(slots))
        for nxt in succ:
            if program.index_of(nxt) is not None:
                _merge(states, work, nxt, new)


def _merge(states: dict[int, _Where], work: list[int], pc: int, st: _Where) -> None:
    old = states.get(pc)
    if old is None:
        states[pc] = st
        work.append(pc)
        return
    joined = _Where(old.regs & st.regs, old.slots & st.slots)
    if joined != old:
        states[pc] = joined
        work.append(pc)

"""Ahead-of-time translation of a program into Python source, compiled once.

Why: a per-instruction Python loop spends most of its time on dispatch
(290-500 ns per eBPF instruction).  Here each subprogram becomes one Python
function in which

* registers are local variables ``r0``-``r10`` (always unsigned 64-bit ints);
* basic blocks are dispatched by a block number ``b`` in a ``while True`` loop
  through a binary if-tree; code between jump targets is straight-line, and a
  conditional jump is an ``if`` that leaves the block (the fall-through path
  continues inline);
* the if-then and if-else shapes compilers emit for ``?:`` and small ``if``s
  (a forward jump over straight code, possibly ending in ``ja`` over the else
  part) become nested Python ``if`` statements, so their targets cost no
  dispatch at all (log2 goes from 47 to 32 ns per instruction);
* the instruction budget is counted per *segment* (the run of instructions up
  to a conditional jump or call): ``n += k`` then one compare.  When a segment
  would cross the budget, the stepper replays just its first instructions, so
  a fault before the limit still wins and the error names the exact pc;
* every memory instruction has its own inline cache of the last region
  (``base``, ``last valid address``, ``buffer``) in locals, so a hit costs one
  chained comparison plus a pre-bound ``Struct`` method; a miss first tries
  the region of the last miss of the same size and direction, then calls
  :meth:`RunState.region`, which raises the exact error or refills the cache
  (the shared step took memops, whose unrolled memcpy touches one buffer from
  hundreds of instructions, from 190 to 52 ns per instruction).

The generated code only ever handles Python ints and the regions' bytearrays,
so a program cannot crash or corrupt the host.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from ..isa import OPCODES, AluOp, Class, Form, Insn, JmpOp, Mode, OpInfo
from ..runtime.loader import Loaded, Subprog
from . import semantics as sem
from .state import RunState, Stop, callx_id

__all__ = ["SubprogFn", "compile_program", "generate_source"]

SubprogFn = Callable[..., tuple[int, ...]]

M64 = sem.M64
M32 = sem.M32
S64 = 1 << 63
S32 = 1 << 31

STRUCTURED_IFS = True  # turn if-then/if-else shapes into Python ifs (off: every target is a block)

_REGS = ", ".join(f"r{i}" for i in range(11))
_RESET_MARK = "#reset-caches#"
_ARGS = ", ".join(f"r{i}" for i in range(10))

# name -> value, available to generated code as default arguments (fast locals)
_STRUCT_NAMES = {
    (2, False, "u"): "_UH", (4, False, "u"): "_UI", (8, False, "u"): "_UQ",
    (1, True, "u"): "_Ub", (2, True, "u"): "_Uh", (4, True, "u"): "_Ui",
    (2, False, "p"): "_PH", (4, False, "p"): "_PI", (8, False, "p"): "_PQ",
}
_GLOBALS: dict[str, Any] = {
    "_UH": struct.Struct("<H").unpack_from, "_UI": struct.Struct("<I").unpack_from,
    "_UQ": struct.Struct("<Q").unpack_from, "_Ub": struct.Struct("<b").unpack_from,
    "_Uh": struct.Struct("<h").unpack_from, "_Ui": struct.Struct("<i").unpack_from,
    "_PH": struct.Struct("<H").pack_into, "_PI": struct.Struct("<I").pack_into,
    "_PQ": struct.Struct("<Q").pack_into,
    "_sdiv": sem.sdiv, "_smod": sem.smod, "_bswap": sem.bswap, "_Stop": Stop, "_callx_id": callx_id,
    "_NOBUF": bytearray(),
}

_CMP = {
    JmpOp.JEQ: "==", JmpOp.JNE: "!=", JmpOp.JGT: ">", JmpOp.JGE: ">=", JmpOp.JLT: "<", JmpOp.JLE: "<=",
    JmpOp.JSGT: ">", JmpOp.JSGE: ">=", JmpOp.JSLT: "<", JmpOp.JSLE: "<=",
}
_SIGNED = frozenset({JmpOp.JSGT, JmpOp.JSGE, JmpOp.JSLT, JmpOp.JSLE})


class _SubprogGen:
    """Generates the function of one subprogram."""

    def __init__(self, loaded: Loaded, sp: Subprog) -> None:
        self.loaded = loaded
        self.program = loaded.program
        self.sp = sp
        self.lines: list[str] = []
        self.caches: list[int] = []
        self.shared: set[str] = set()  # per (size, direction) last-miss caches
        self.used: set[str] = set()
        self.uses: set[str] = set()  # RunState methods used
        self.pcs = [pc for pc, _ in self.program.items() if sp.start <= pc < sp.end]
        self.pos = {pc: i for i, pc in enumerate(self.pcs)}
        jumps_to: dict[int, list[int]] = {}
        for pc in self.pcs:
            insn = self.program.at(pc)
            if OPCODES[insn.opcode].form in (Form.JA, Form.JCOND):
                target = insn.jump_target(pc)
                assert target is not None
                jumps_to.setdefault(target, []).append(pc)
        self.jumps_to = jumps_to
        # Structured if-then / if-else shapes become Python if statements, so their
        # targets need no dispatch (see _find_structured).
        self.structured: dict[int, tuple[int, ...]] = {}  # cond jump pc -> (T,) or (E, q, J)
        self.skip_ja: set[int] = set()  # the `ja J` ending the then-part of an if-else
        merged: set[int] = set()
        for pc in self.pcs if STRUCTURED_IFS else ():
            shape = self._find_structured(pc)
            if shape is not None:
                self.structured[pc] = shape
                if len(shape) == 3:
                    self.skip_ja.add(shape[1])
                    merged.update((shape[0], shape[2]))
                else:
                    merged.add(shape[0])
        leaders = {sp.start} | (set(jumps_to) - merged)
        self.leaders = sorted(leaders)
        self.block_id = {pc: i for i, pc in enumerate(self.leaders)}

    def _straight(self, lo: int, hi: int) -> bool:
        """Whether pcs in [lo, hi) are straight-line code that nothing jumps into but at ``lo``."""
        i = self.pos.get(lo)
        if i is None:
            return lo == hi
        while i < len(self.pcs) and self.pcs[i] < hi:
            pc = self.pcs[i]
            insn = self.program.at(pc)
            form = OPCODES[insn.opcode].form
            if (pc in self.jumps_to and pc != lo) or form in (Form.JA, Form.JCOND, Form.EXIT) or (
                    form is Form.CALL and insn.src == 1):
                return False
            i += 1
        return True

    def _find_structured(self, p: int) -> tuple[int, ...] | None:
        """The if-then ``(T,)`` or if-else ``(E, q, J)`` shape of the cond jump at ``p``, if any.

        if-then:  ``p: if c goto T; X; T:`` with straight X and p the only jump to T.
        if-else:  ``p: if c goto E; X; q: ja J; E: Y; J:`` with straight X and Y, p the
        only jump to E and q the only jump to J.
        """
        insn = self.program.at(p)
        if OPCODES[insn.opcode].form is not Form.JCOND:
            return None
        target = insn.jump_target(p)
        assert target is not None
        if target <= p or self.jumps_to.get(target) != [p]:
            return None
        if p + 1 not in self.jumps_to and self._straight(p + 1, target):
            return (target,)
        # if-else: the instruction just before E must be `ja J`, J after E
        i = self.pos.get(target)
        if i is None or i == 0:
            return None
        q = self.pcs[i - 1]
        ja = self.program.at(q)
        if q <= p or OPCODES[ja.opcode].form is not Form.JA or q in self.jumps_to:
            return None
        join = ja.jump_target(q)
        assert join is not None
        if join <= target or self.jumps_to.get(join) != [q] or join not in self.pos:
            return None
        if p + 1 not in self.jumps_to and self._straight(p + 1, q) and self._straight(target, join):
            return (target, q, join)
        return None

    # -- emission helpers -------------------------------------------------------------
    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def block_insns(self, leader: int) -> list[int]:
        """The reachable pcs of the block starting at ``leader``."""
        out: list[int] = []
        i = self.pos[leader]
        while i < len(self.pcs):
            pc = self.pcs[i]
            if pc != leader and pc in self.block_id:
                break
            out.append(pc)
            form = OPCODES[self.program.at(pc).opcode].form
            if form is Form.EXIT or (form is Form.JA and pc not in self.skip_ja):
                break
            i += 1
        return out

    def generate(self) -> str:
        body: list[str] = []
        self.lines = body
        self.tree(0, len(self.leaders), 2)
        head = [f"def _sub{self.sp.index}({_ARGS}, r10, n, S{self.defaults()}):"]
        head.append("    B = S.budget")
        for name in sorted(self.uses):
            head.append(f"    _{name} = S.{name}")
        for name in sorted(self.shared):
            head.append(f"    {name}b = 1; {name}l = 0; {name}m = _NOBUF")
        for c in self.caches:
            head.append(f"    c{c}b = 1; c{c}l = 0; c{c}m = _NOBUF")
        if "mem" in self.uses:
            head.append("    g = _mem.generation")
        head.append("    b = 0")
        head.append("    while True:")
        empty = [f"{c}b = 1; {c}l = 0" for c in [*sorted(self.shared), *(f"c{c}" for c in self.caches)]]
        reset = "; ".join(["g = _mem.generation", *empty])
        body = [line.replace(_RESET_MARK, reset) for line in body]
        return "\n".join(head + body) + "\n"

    def defaults(self) -> str:
        names = sorted(self.used)
        return "".join(f", {n}={n}" for n in names)

    def tree(self, lo: int, hi: int, indent: int) -> None:
        if hi - lo == 1:
            self.block(self.leaders[lo], indent)
            return
        mid = (lo + hi) // 2
        self.emit(indent, f"if b < {mid}:")
        self.tree(lo, mid, indent + 1)
        self.emit(indent, "else:")
        self.tree(mid, hi, indent + 1)

    def block(self, leader: int, ind: int) -> None:
        pcs = self.block_insns(leader)
        self.emit(ind, f"# block {self.block_id[leader]} at pc {leader}")
        self.body(pcs, ind)
        last = self.program.at(pcs[-1])
        if OPCODES[last.opcode].form not in (Form.JA, Form.EXIT):
            nxt = pcs[-1] + last.width
            self.emit(ind, f"b = {self.block_id[nxt]}")
            self.emit(ind, "continue")

    def body(self, pcs: list[int], ind: int) -> None:
        """Emit straight-line ``pcs`` as counted segments; structured ifs nest."""
        index = {pc: i for i, pc in enumerate(pcs)}
        i = 0
        while i < len(pcs):
            # a segment ends after a conditional jump or a local call
            j = i
            while j < len(pcs):
                insn = self.program.at(pcs[j])
                form = OPCODES[insn.opcode].form
                j += 1
                if form is Form.JCOND or (form is Form.CALL and insn.src == 1):
                    break
            seg = pcs[i:j]
            k = len(seg)
            self.emit(ind, f"n += {k}")
            self.emit(ind, f"if n > B: _budget(S, {seg[0]}, n - {k}, locals())")
            for off, pc in enumerate(seg):
                if pc not in self.structured:
                    self.insn(pc, self.program.at(pc), ind, k - 1 - off)
            i = j
            shape = self.structured.get(seg[-1])
            if shape is None:
                continue
            cond = self.cond(self.program.at(seg[-1]), self.program.at(seg[-1]).cls is Class.JMP)
            if len(shape) == 1:  # if-then: the fall-through part runs when the jump is not taken
                inner = pcs[j:index[shape[0]]]
                if inner:
                    self.emit(ind, f"if not ({cond}):")
                    self.body(inner, ind + 1)
                i = index[shape[0]]
            else:  # if-else
                target, _, join = shape
                self.emit(ind, f"if {cond}:")
                self.body(pcs[index[target]:index[join]], ind + 1)
                self.emit(ind, "else:")
                self.body(pcs[j:index[target]], ind + 1)  # ends with the (counted) ja
                i = index[join]

    # -- instructions -----------------------------------------------------------------
    def insn(self, pc: int, insn: Insn, ind: int, after: int) -> None:
        """Emit one instruction through :data:`_EMIT`, the table keyed by its form.

        ``after`` is how many instructions of the segment follow this one (for
        the exact count when the instruction stops the run).
        """
        info = OPCODES[insn.opcode]
        _EMIT[info.form](self, pc, insn, info, ind, after)

    def _emit_alu(self, pc: int, insn: Insn, info: OpInfo, ind: int, after: int) -> None:
        self.alu(insn, info.cls is Class.ALU64, ind)

    def _emit_neg(self, pc: int, insn: Insn, info: OpInfo, ind: int, after: int) -> None:
        d = f"r{insn.dst}"
        self.emit(ind, f"{d} = -{d} & {M64 if info.cls is Class.ALU64 else M32:#x}")

    def _emit_end(self, pc: int, insn: Insn, info: OpInfo, ind: int, after: int) -> None:
        self.endian(insn, ind)

    def _emit_ld_imm64(self, pc: int, insn: Insn, info: OpInfo, ind: int, after: int) -> None:
        const = self.loaded.imm64(pc, insn)
        self.emit(ind, f"r{insn.dst} = {const:#x}")

    def _emit_ld_packet(self, pc: int, insn: Insn, info: OpInfo, ind: int, after: int) -> None:
        """LD_ABS and LD_IND: the legacy packet loads."""
        self.uses.add("packet_load")
        off = f"r{insn.src} + {insn.imm}" if info.form is Form.LD_IND else f"{insn.imm}"
        self.emit(ind, f"t = _packet_load({off}, {info.nbytes})")
        self.emit(ind, "if t is None:")
        self.emit(ind + 1, f"raise _Stop((0, {', '.join(f'r{i}' for i in range(1, 11))}), n - {after})")
        self.emit(ind, "r0 = t")

    def _emit_ldx(self, pc: int, insn: Insn, info: OpInfo, ind: int, after: int) -> None:
        c = self.cache(ind, f"r{insn.src}", insn.off, info.nbytes, False, pc)
        size = info.nbytes
        if size == 1 and info.mode is Mode.MEM:
            expr = f"c{c}m[a - c{c}b]"
        else:
            fn = self.struct_fn(size, info.mode is Mode.MEMSX, "u")
            expr = f"{fn}(c{c}m, a - c{c}b)[0]"
            if info.mode is Mode.MEMSX:
                expr = f"{expr} & {M64:#x}"
        self.emit(ind, f"r{insn.dst} = {expr}")

    def _emit_store(self, pc: int, insn: Insn, info: OpInfo, ind: int, after: int) -> None:
        """ST and STX: the stored value is the immediate or the source register."""
        s = f"r{insn.src}"
        size = info.nbytes
        mask = (1 << (8 * size)) - 1
        value = f"{insn.imm & mask:#x}" if info.form is Form.ST else s if size == 8 else f"{s} & {mask:#x}"
        c = self.cache(ind, f"r{insn.dst}", insn.off, size, True, pc)
        if size == 1:
            self.emit(ind, f"c{c}m[a - c{c}b] = {value}")
        else:
            self.emit(ind, f"{self.struct_fn(size, False, 'p')}(c{c}m, a - c{c}b, {value})")

    def _emit_atomic(self, pc: int, insn: Insn, info: OpInfo, ind: int, after: int) -> None:
        self.atomic(insn, info.nbytes, pc, ind)

    def _emit_ja(self, pc: int, insn: Insn, info: OpInfo, ind: int, after: int) -> None:
        if pc in self.skip_ja:
            return  # the end of a structured then-part: counted, nothing to do
        target = insn.jump_target(pc)
        assert target is not None
        self.emit(ind, f"b = {self.block_id[target]}")
        self.emit(ind, "continue")

    def _emit_jcond(self, pc: int, insn: Insn, info: OpInfo, ind: int, after: int) -> None:
        target = insn.jump_target(pc)
        assert target is not None
        self.emit(ind, f"if {self.cond(insn, info.cls is Class.JMP)}:")
        self.emit(ind + 1, f"b = {self.block_id[target]}")
        self.emit(ind + 1, "continue")

    def _emit_call(self, pc: int, insn: Insn, info: OpInfo, ind: int, after: int) -> None:
        if insn.src == 1:  # bpf-to-bpf call
            target = insn.jump_target(pc)
            assert target is not None
            callee = self.loaded.subprog_at(target).index
            self.uses.update(("push_frame", "pop_frame"))
            self.emit(ind, f"t = _sub{callee}({_ARGS}, _push_frame({pc}), n, S)")
            self.emit(ind, "_pop_frame()")
            self.reset_caches(ind)
            self.emit(ind, "r0 = t[0]")
            self.emit(ind, "n = t[11]")
            return
        self.helper_call(pc, str(insn.imm), self.loaded.helpers[insn.imm].unwind, "r0 == 0", ind, after)

    def _emit_callx(self, pc: int, insn: Insn, info: OpInfo, ind: int, after: int) -> None:
        self.uses.add("call")
        self.emit(ind, f"h = _callx_id(r{insn.dst}, {pc})")
        unwind = any(h.unwind for h in self.loaded.helpers.values())
        self.helper_call(pc, "h", unwind, "r0 == 0 and S.is_unwind(h)", ind, after)

    def _emit_exit(self, pc: int, insn: Insn, info: OpInfo, ind: int, after: int) -> None:
        self.emit(ind, f"return ({_REGS}, n)")

    def helper_call(self, pc: int, hid: str, unwind: bool, stop: str, ind: int, after: int) -> None:
        """A helper call by id expression ``hid``; ``stop`` tests for an unwinding helper."""
        self.uses.add("call")
        self.emit(ind, f"r0 = _call({hid}, {pc}, r1, r2, r3, r4, r5)")
        self.reset_caches(ind)
        if unwind:
            self.emit(ind, f"if {stop}:")
            self.emit(ind + 1, f"raise _Stop(({_REGS}), n - {after})")

    def reset_caches(self, ind: int) -> None:
        """After a call: drop every region cache if the call unmapped a region.

        A helper (map delete, ring buffer discard) or a returning callee (its
        stack frame) can unmap a region, and a later region may reuse its
        addresses; a stale cache would then read or write the dead buffer.
        The marker is replaced by the resets once all of the function's caches
        are known (:meth:`generate`).
        """
        self.uses.add("mem")
        self.emit(ind, "if _mem.generation != g:")
        self.emit(ind + 1, _RESET_MARK)

    def struct_fn(self, size: int, signed: bool, kind: str) -> str:
        name = _STRUCT_NAMES[(size, signed, kind)]
        self.used.add(name)
        return name

    def cache(self, ind: int, base: str, off: int, size: int, write: bool, pc: int) -> int:
        """Emit the address computation and cache check; ``a`` holds the address."""
        c = len(self.caches)
        self.caches.append(c)
        self.uses.add("region")
        self.emit(ind, f"a = {base} + {off}" if off else f"a = {base}")
        # A miss first tries the region the last miss of the same kind found (one
        # per access size and direction): straight-line code touching one buffer
        # from many instructions then calls the slow path once per run, not once
        # per instruction.
        shared = f"s{size}{'w' if write else 'r'}"
        self.shared.add(shared)
        self.emit(ind, f"if not c{c}b <= a <= c{c}l:")
        self.emit(ind + 1, f"if {shared}b <= a <= {shared}l: c{c}b = {shared}b; c{c}l = {shared}l; "
                           f"c{c}m = {shared}m")
        self.emit(ind + 1, f"else: c{c}b, c{c}l, c{c}m = {shared}b, {shared}l, {shared}m = "
                           f"_region(a, {size}, {write}, {pc})")
        return c

    def alu(self, insn: Insn, is64: bool, ind: int) -> None:
        op = insn.opcode & 0xF0
        d = f"r{insn.dst}"
        mask = M64 if is64 else M32
        bits = 64 if is64 else 32
        reg = bool(insn.source)
        x = f"r{insn.src}" if reg else f"{insn.imm & mask:#x}"
        emit = self.emit
        if op == AluOp.ADD:
            emit(ind, f"{d} = ({d} + {x}) & {mask:#x}")
        elif op == AluOp.SUB:
            emit(ind, f"{d} = ({d} - {x}) & {mask:#x}")
        elif op == AluOp.MUL:
            emit(ind, f"{d} = ({d} * {x}) & {mask:#x}")
        elif op in (AluOp.DIV, AluOp.MOD) and insn.off == 1:
            fn = "_sdiv" if op == AluOp.DIV else "_smod"
            emit(ind, f"{d} = {fn}({d}, {x}, {bits})")
        elif op == AluOp.DIV:
            dv = d if is64 else f"({d} & {M32:#x})"
            if not reg:
                emit(ind, f"{d} = {dv} // {x}" if insn.imm & mask else f"{d} = 0")
            elif is64:
                emit(ind, f"{d} = {d} // {x} if {x} else 0")
            else:
                emit(ind, f"t = {x} & {M32:#x}")
                emit(ind, f"{d} = {dv} // t if t else 0")
        elif op == AluOp.MOD:
            dv = d if is64 else f"({d} & {M32:#x})"
            if not reg:
                emit(ind, f"{d} = {dv} % {x}" if insn.imm & mask else f"{d} = {dv}")
            elif is64:
                emit(ind, f"if {x}: {d} %= {x}")
            else:
                emit(ind, f"t = {x} & {M32:#x}")
                emit(ind, f"{d} = {dv} % t if t else {dv}")
        elif op in (AluOp.OR, AluOp.AND, AluOp.XOR):
            sym = {AluOp.OR: "|", AluOp.AND: "&", AluOp.XOR: "^"}[AluOp(op)]
            if is64:
                emit(ind, f"{d} {sym}= {x}")
            else:
                emit(ind, f"{d} = ({d} {sym} {x}) & {M32:#x}")
        elif op in (AluOp.LSH, AluOp.RSH, AluOp.ARSH):
            amount = f"({x} & {bits - 1})" if reg else str(insn.imm & (bits - 1))
            dv = d if is64 else f"({d} & {M32:#x})"
            if op == AluOp.LSH:
                emit(ind, f"{d} = ({d} << {amount}) & {mask:#x}")
            elif op == AluOp.RSH:
                emit(ind, f"{d} = {dv} >> {amount}")
            else:
                sign = S64 if is64 else S32
                emit(ind, f"{d} = ((({dv} ^ {sign:#x}) - {sign:#x}) >> {amount}) & {mask:#x}")
        elif op == AluOp.MOV:
            if insn.off:  # movsx
                w = insn.off
                emit(ind, f"{d} = ((({x} & {(1 << w) - 1:#x}) ^ {1 << (w - 1):#x}) - {1 << (w - 1):#x}) "
                          f"& {mask:#x}")
            elif reg and not is64:
                emit(ind, f"{d} = {x} & {M32:#x}")
            else:
                emit(ind, f"{d} = {x}")
        else:  # pragma: no cover - NEG and END have their own forms
            raise AssertionError(op)

    def endian(self, insn: Insn, ind: int) -> None:
        d = f"r{insn.dst}"
        width = insn.imm
        if insn.opcode == 0xD4:  # le on a little-endian host: truncate only
            if width != 64:
                self.emit(ind, f"{d} &= {(1 << width) - 1:#x}")
            else:
                self.emit(ind, "pass")
        elif width == 16:
            self.emit(ind, f"{d} = (({d} & 0xff) << 8) | (({d} >> 8) & 0xff)")
        else:
            self.used.add("_bswap")
            self.emit(ind, f"{d} = _bswap({d}, {width})")

    def cond(self, insn: Insn, is64: bool) -> str:
        op = JmpOp(insn.opcode & 0xF0)
        mask = M64 if is64 else M32
        sign = S64 if is64 else S32
        a = f"r{insn.dst}" if is64 else f"(r{insn.dst} & {M32:#x})"
        if insn.source:
            b = f"r{insn.src}" if is64 else f"(r{insn.src} & {M32:#x})"
            bconst = None
        else:
            bconst = insn.imm & mask
            b = f"{bconst:#x}"
        if op == JmpOp.JSET:
            if is64 or bconst is not None:
                return f"r{insn.dst} & {b}"
            return f"r{insn.dst} & r{insn.src} & {M32:#x}"
        if op in _SIGNED:
            # flipping the sign bit maps signed order onto unsigned order
            bs = f"{bconst ^ sign:#x}" if bconst is not None else f"({b} ^ {sign:#x})"
            return f"({a} ^ {sign:#x}) {_CMP[op]} {bs}"
        return f"{a} {_CMP[op]} {b}"

    def atomic(self, insn: Insn, size: int, pc: int, ind: int) -> None:
        mask = (1 << (8 * size)) - 1
        s = f"r{insn.src}"
        c = self.cache(ind, f"r{insn.dst}", insn.off, size, True, pc)
        unpack = self.struct_fn(size, False, "u")
        pack = self.struct_fn(size, False, "p")
        self.emit(ind, f"o = a - c{c}b")
        self.emit(ind, f"t = {unpack}(c{c}m, o)[0]")
        imm = insn.imm
        if imm == 0xE1:  # xchg
            self.emit(ind, f"{pack}(c{c}m, o, {s} & {mask:#x})")
            self.emit(ind, f"{s} = t")
        elif imm == 0xF1:  # cmpxchg
            self.emit(ind, f"if t == (r0 & {mask:#x}): {pack}(c{c}m, o, {s} & {mask:#x})")
            self.emit(ind, "r0 = t")
        else:
            base = imm & ~0x01
            expr = {AluOp.ADD: f"(t + {s})", AluOp.OR: f"(t | {s})", AluOp.AND: f"(t & {s})",
                    AluOp.XOR: f"(t ^ {s})"}[AluOp(base)]
            self.emit(ind, f"{pack}(c{c}m, o, {expr} & {mask:#x})")
            if imm & 0x01:
                self.emit(ind, f"{s} = t")


_Emitter = Callable[[_SubprogGen, int, Insn, OpInfo, int, int], None]

# One code generator per instruction form (design notes 2-3): 32/64-bit, imm/reg
# and access size are decoded inside the handler, never separate entries.
# tests/test_tables.py checks the keys are exactly the forms in OPCODES.
_EMIT: dict[Form, _Emitter] = {
    Form.ALU: _SubprogGen._emit_alu,
    Form.NEG: _SubprogGen._emit_neg,
    Form.END: _SubprogGen._emit_end,
    Form.LD_IMM64: _SubprogGen._emit_ld_imm64,
    Form.LD_ABS: _SubprogGen._emit_ld_packet,
    Form.LD_IND: _SubprogGen._emit_ld_packet,
    Form.LDX: _SubprogGen._emit_ldx,
    Form.ST: _SubprogGen._emit_store,
    Form.STX: _SubprogGen._emit_store,
    Form.ATOMIC: _SubprogGen._emit_atomic,
    Form.JA: _SubprogGen._emit_ja,
    Form.JCOND: _SubprogGen._emit_jcond,
    Form.CALL: _SubprogGen._emit_call,
    Form.CALLX: _SubprogGen._emit_callx,
    Form.EXIT: _SubprogGen._emit_exit,
}

def generate_source(loaded: Loaded) -> str:
    """The Python source of every subprogram function (for inspection and tests)."""
    parts = [_SubprogGen(loaded, sp).generate() for sp in loaded.subprogs]
    return "\n\n".join(parts)


def compile_program(loaded: Loaded,
                    budget_slow: Callable[[RunState, int, int, dict[str, int]], None]
                    ) -> list[SubprogFn]:
    """Compile ``loaded`` into one function per subprogram (index = subprogram index)."""
    source = generate_source(loaded)
    namespace: dict[str, Any] = dict(_GLOBALS)
    namespace["_budget"] = budget_slow
    code = compile(source, f"<pybpf:{loaded.program.name or 'program'}>", "exec")
    exec(code, namespace)
    return [namespace[f"_sub{sp.index}"] for sp in loaded.subprogs]

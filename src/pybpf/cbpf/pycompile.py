"""Classic programs compiled to Python functions: the fast path of ``pybpf filter``.

Classic jumps only go forward, so a program is a DAG.  Each basic block that
more than one edge reaches becomes a module-level function that returns the
filter's result; every other block is emitted inline inside its only
predecessor's ``if``/``else``.  Code size stays linear in the program, and a
packet runs as a handful of Python comparisons instead of one dispatch per
instruction.  Semantics are :func:`~pybpf.cbpf.interp.run_filter`'s exactly
(the tests run both on the same programs).

>>> from pybpf.cbpf import parse_asm
>>> f = compile_program(parse_asm("ldh [12]\\njeq #0x800, yes, no\\nyes: ret #1\\nno: ret #0"))
>>> f(bytes(12) + b"\\x08\\x00", 14), f(bytes(14), 14)
(1, 0)
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..errors import VmError
from .checker import LDX_W_ABS, check
from .interp import PacketMeta, _ancillary, packet_load, run_filter
from .model import CODES, SKF_AD_OFF, Anc, SockFilter, ancillary

__all__ = ["CompiledFilter", "Scanner", "compile_program", "compile_scanner"]

M32 = 0xFFFF_FFFF
_SMALL = 2  # straight-line blocks this short (plus their RET) are copied, not called

CompiledFilter = Callable[..., int]


def _s32(v: int) -> int:
    v &= M32
    return v - (1 << 32) if v >> 31 else v


class _Gen:
    """Python source for a classic program.

    In function mode the packet is ``p`` (its own bytes object).  In scan mode
    the packet is ``p[b:b + n]`` inside a whole capture file and the main body
    sits in a per-record loop, so a RET sets ``r`` and leaves the loop body.
    """

    def __init__(self, prog: Sequence[SockFilter], scan: bool = False) -> None:
        self.prog = prog
        self.scan = scan
        self.in_main = False
        n = len(prog)
        indeg = [0] * (n + 1)
        indeg[0] = 1
        for pc, f in enumerate(prog):
            cls, op = f.code & 7, f.code & 0xF0
            if cls == 6:
                continue
            if cls == 5 and op == 0:
                indeg[pc + 1 + f.k] += 1
            elif cls == 5:
                indeg[pc + 1 + f.jt] += 1
                indeg[pc + 1 + f.jf] += 1
            else:
                indeg[pc + 1] += 1
        self.funcs = {pc for pc in range(1, n) if indeg[pc] > 1 and not self._copyable(pc)}
        self.uses_mem = any(f.code in (0x02, 0x03, 0x60, 0x61) for f in prog)
        self.lines: list[str] = []

    def _copyable(self, pc: int) -> bool:
        """A few straight-line instructions ending in RET: cheap to copy, and copying
        them cannot multiply (they branch nowhere)."""
        for _ in range(_SMALL + 1):
            cls = self.prog[pc].code & 7
            if cls == 6:
                return True
            if cls == 5:
                return False
            pc += 1
        return False

    def _terminal(self, pc: int) -> bool:
        """Whether the code at ``pc`` is one line: a RET or a call of a block function."""
        return pc in self.funcs or self.prog[pc].code & 7 == 6

    def args(self) -> str:
        return f"p, {'b, ' if self.scan else ''}n, wirelen, meta, A, X{', M' if self.uses_mem else ''}"

    def ret(self, expr: str, ind: str) -> list[str]:
        if self.scan and self.in_main:
            return [f"{ind}r = {expr}", f"{ind}break"]
        return [f"{ind}return {expr}"]

    def at(self, k: int) -> str:
        """The index of packet byte ``k``."""
        return f"b + {k}" if self.scan else str(k)

    def call(self, pc: int, ind: str) -> list[str]:
        return self.ret(f"_b{pc}({self.args()})", ind)

    def emit_from(self, pc: int, ind: str, entry: bool = False) -> None:
        """Straight-line code from ``pc`` to the block's end (RET, jump or a called block)."""
        out = self.lines
        while True:
            if pc in self.funcs and not entry:
                out += self.call(pc, ind)
                return
            entry = False
            f = self.prog[pc]
            code, k = f.code, f.k
            cls = code & 7
            if cls == 6:
                out += self.ret("A" if code & 0x18 == 0x10 else str(k), ind)
                return
            if cls == 5:
                op = code & 0xF0
                if op == 0:
                    pc = pc + 1 + k
                    continue
                src = "X" if code & 8 else str(k)
                test = {0x10: f"A == {src}", 0x20: f"A > {src}", 0x30: f"A >= {src}", 0x40: f"A & {src}"}[op]
                t, e = pc + 1 + f.jt, pc + 1 + f.jf
                if t == e:
                    pc = t
                    continue
                if self._terminal(e) and not self._terminal(t):
                    # Nest the short branch and keep the long one at this level, so
                    # chains of tests do not nest ever deeper.
                    out.append(f"{ind}if not ({test}):")
                    self.emit_from(e, ind + "    ")
                    pc = t
                    continue
                out.append(f"{ind}if {test}:")
                self.emit_from(t, ind + "    ")
                pc = e  # the false branch continues at this level
                continue
            self.emit_insn(f, pc, ind)
            pc += 1

    def load(self, off: str, size: int) -> str:
        """A checked load at a computed or negative offset (None: the filter gives 0)."""
        if self.scan:
            return f"_ldr(p, b, n, {off}, {size})"
        return f"_ld(p, meta, {off}, {size})"

    def emit_insn(self, f: SockFilter, pc: int, ind: str) -> None:
        out = self.lines
        code, k = f.code, f.k
        cls = code & 7
        info = CODES.get(code)
        fail = "; ".join(self.ret("0", "")).replace("\n", "")  # one-line "give up with 0"
        at = self.at
        if code == LDX_W_ABS:
            out += [f"{ind}if {k + 4} > n: {fail}", f"{ind}A = _LW(p, {at(k)})[0]"]
            return
        if info is None:
            raise VmError(f"unknown classic opcode {code:#06x}", pc=pc)
        dst = "A" if cls == 0 else "X"
        mode = code & 0xE0
        if cls in (0, 1):
            if mode == 0x00:
                out.append(f"{ind}{dst} = {k}")
            elif mode == 0x60:
                out.append(f"{ind}{dst} = M[{k}]")
            elif mode == 0x80:
                out.append(f"{ind}{dst} = wirelen")
            elif mode == 0x20 and k >= (SKF_AD_OFF & M32):
                anc = ancillary(k)
                pkt = "p[b:b + n]" if self.scan else "p"
                out.append(f"{ind}A = _anc(_ANC[{anc.value if anc else 0}], {pkt}, meta, A, X)")
            elif mode == 0x20 and k >> 31:
                out += [f"{ind}t = {self.load(str(_s32(k)), info.size)}", f"{ind}if t is None: {fail}",
                        f"{ind}A = t"]
            elif mode == 0x20:
                out.append(f"{ind}if {k + info.size} > n: {fail}")
                out.append(ind + {4: f"A = _BW(p, {at(k)})[0]", 2: f"A = p[{at(k)}] << 8 | p[{at(k + 1)}]",
                                  1: f"A = p[{at(k)}]"}[info.size])
            elif mode == 0x40:
                out += [f"{ind}t = {self.load(f'_s32(X + {k})', info.size)}", f"{ind}if t is None: {fail}",
                        f"{ind}A = t"]
            elif mode == 0xA0:
                if k >> 31:
                    out += [f"{ind}t = {self.load(str(_s32(k)), 1)}", f"{ind}if t is None: {fail}",
                            f"{ind}X = (t & 15) << 2"]
                else:
                    out += [f"{ind}if {k} >= n: {fail}", f"{ind}X = (p[{at(k)}] & 15) << 2"]
        elif cls in (2, 3):
            out.append(f"{ind}M[{k}] = {'A' if cls == 2 else 'X'}")
        elif cls == 7:
            out.append(ind + ("A = X" if code & 0x80 else "X = A"))
        elif cls == 4:
            op = code & 0xF0
            src = "X" if code & 8 else str(k)
            if op == 0x80:
                out.append(f"{ind}A = -A & {M32}")
            elif op in (0x30, 0x90):
                if code & 8:
                    out.append(f"{ind}if X == 0: {fail}")
                out.append(f"{ind}A {'//' if op == 0x30 else '%'}= {src}")
            elif op in (0x00, 0x10, 0x20):
                sym = {0x00: "+", 0x10: "-", 0x20: "*"}[op]
                out.append(f"{ind}A = (A {sym} {src}) & {M32}")
            elif op in (0x40, 0x50, 0xA0):
                sym = {0x40: "|", 0x50: "&", 0xA0: "^"}[op]
                out.append(f"{ind}A {sym}= {src}")
            elif op == 0x60:
                out.append(f"{ind}A = (A << {'(X & 31)' if code & 8 else k}) & {M32}")
            elif op == 0x70:
                out.append(f"{ind}A >>= {'X & 31' if code & 8 else k}")


def compile_program(prog: Sequence[SockFilter], meta: PacketMeta | None = None) -> CompiledFilter:
    """A function ``f(data, wirelen) -> int`` with the result of ``run_filter`` on ``prog``.

    ``meta`` supplies ancillary values and the header offsets for negative
    loads; ``wirelen`` is what ``ld #len`` reads (``meta.len`` is ignored).
    The program is checked first (:class:`~pybpf.cbpf.checker.FilterError`).
    """
    if not any(f.code == LDX_W_ABS for f in prog):  # seccomp's rewrite is checked already
        check(prog)
    try:
        return _generate(prog, meta)
    except (RecursionError, SyntaxError, MemoryError):  # pragma: no cover - CPython's parser limits
        fallback = meta or PacketMeta()

        def interpret(data: bytes, wirelen: int, meta: PacketMeta = fallback) -> int:
            return run_filter(prog, data, _with_len(meta, wirelen))

        return interpret


def _with_len(meta: PacketMeta, wirelen: int) -> PacketMeta:
    return replace(meta, len=wirelen)


def _namespace(meta: PacketMeta | None) -> dict[str, Any]:
    return {
        "_BW": struct.Struct(">I").unpack_from, "_LW": struct.Struct("<I").unpack_from,
        "_REC": struct.Struct("<II").unpack_from, "_anc": _ancillary, "_ANC": {a.value: a for a in Anc},
        "_ld": packet_load, "_ldr": _load_in_record, "_s32": _s32, "_META": meta or PacketMeta(),
    }


def _load_in_record(p: bytes, b: int, n: int, off: int, size: int) -> int | None:
    # A capture record has no headers outside it: negative offsets fail, as in libpcap.
    if off < 0 or off + size > n:
        return None
    return int.from_bytes(p[b + off:b + off + size], "big")


def _block_functions(gen: _Gen) -> None:
    for pc in sorted(gen.funcs):
        gen.lines.append(f"def _b{pc}({gen.args()}):")
        gen.emit_from(pc, "    ", entry=True)


def _generate(prog: Sequence[SockFilter], meta: PacketMeta | None) -> CompiledFilter:
    gen = _Gen(prog)
    _block_functions(gen)
    gen.lines.append("def _filter(p, wirelen, meta=_META):")
    gen.lines.append("    n = len(p)")
    gen.lines.append("    A = X = 0")
    if gen.uses_mem:
        gen.lines.append("    M = [0] * 16")
    gen.emit_from(0, "    ", entry=True)
    namespace = _namespace(meta)
    source = "\n".join(gen.lines) + "\n"
    exec(compile(source, "<cbpf>", "exec"), namespace)
    fn: CompiledFilter = namespace["_filter"]
    fn.__doc__ = source  # the generated code, for the curious
    return fn


Scanner = Callable[[bytes, int, int], tuple[list[bytes], int, int]]


def compile_scanner(prog: Sequence[SockFilter], meta: PacketMeta | None = None) -> Scanner:
    """A function ``scan(buf, pos, end) -> (accepted records, stop, seen)`` over a little-endian pcap body.

    ``buf[pos:end]`` holds pcap records (16-byte header, then the data); every
    record the filter accepts is returned whole (header included), ready to be
    written to a pcap with the same file header.  ``stop`` is where scanning
    ended: ``end``, or the start of a record cut short; ``seen`` counts the
    records filtered.  The filter runs inline
    in the loop, without a call or a copy per packet.
    """
    check(prog)
    gen = _Gen(prog, scan=True)
    _block_functions(gen)
    gen.in_main = True
    lines = gen.lines
    lines += ["def _scan(p, pos, end, meta=_META):",
              "    acc = []",
              "    seen = 0",
              "    keep = acc.append",
              "    while pos + 16 <= end:",
              "        n, wirelen = _REC(p, pos + 8)",
              "        b = pos + 16",
              "        nxt = b + n",
              "        if nxt > end: break",
              "        A = X = 0"]
    if gen.uses_mem:
        lines.append("        M = [0] * 16")
    lines.append("        while True:")
    gen.emit_from(0, "            ", entry=True)
    lines += ["        if r: keep(p[pos:nxt])",
              "        seen += 1",
              "        pos = nxt",
              "    return acc, pos, seen"]
    namespace = _namespace(meta)
    source = "\n".join(lines) + "\n"
    exec(compile(source, "<cbpf-scan>", "exec"), namespace)
    fn: Scanner = namespace["_scan"]
    return fn

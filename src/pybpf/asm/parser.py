"""Assembly text to instructions: one line at a time, labels resolved afterwards.

Two grammars share this module:

* the C-like one of ``llvm-objdump`` and of the kernel verifier log (they
  differ in spacing, number bases and call names, which the regular
  expressions below accept side by side), and
* the mnemonic-first uBPF / bpf_conformance one.

Each line becomes a :class:`Stmt`: an instruction whose jump field may still
name a label, plus where it came from so errors point at line and column.
:mod:`pybpf.asm.assembler` resolves the labels.

Accepted decoration around instructions (so a listing can be pasted back):
``;``, ``//`` and ``#`` comments (``#`` only at the start or after a space,
since the kernel writes ``call bpf_map_lookup_elem#1``), the address column
``   12:`` of llvm-objdump and the verifier log, llvm-objdump's raw-byte column,
the verifier's ``(b7)`` opcode column, llvm-objdump header lines, and
``0000000000000070 <LBB0_2>:`` symbol headers (label definitions).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import AsmError
from ..isa.helper_ids import HelperId
from ..isa.insn import MAX_REG, Insn
from ..isa.opcodes import (
    END_WIDTHS,
    MOVSX_OFFSETS,
    AluOp,
    AtomicOp,
    CallSrc,
    Class,
    JmpOp,
    Mode,
    PseudoSrc,
    Size,
    Source,
)
from .syntax import (
    ALU_SYMBOL,
    ATOMIC_NAME,
    JMP_SYMBOL,
    SIGNED_ALU_SYMBOL,
    SIZE_TYPE,
    UbpfVariant,
    all_ubpf_variants,
)

__all__ = ["Stmt", "detect_syntax", "is_label_name", "parse_line", "split_line"]

_LABEL_RE = re.compile(r"[A-Za-z_.$][\w.$@]*")


def is_label_name(name: str) -> bool:
    """True if ``name`` can be written as a label in every syntax."""
    return bool(_LABEL_RE.fullmatch(name)) and name not in ("pc",)


@dataclass
class Stmt:
    """One parsed instruction, maybe with an unresolved label target.

    ``target`` names a label; ``target_field`` says which field takes the
    relative offset (``"off"`` or ``"imm"``).
    """

    insn: Insn
    line: int
    column: int
    text: str
    target: str | None = None
    target_field: str = "off"
    target_column: int = 0
    extra: dict[str, object] = field(default_factory=dict)


_Make = Callable[..., Stmt]


class _Err(Exception):
    """Internal: a parse problem at a column of the instruction text."""

    def __init__(self, reason: str, pos: int) -> None:
        self.reason = reason
        self.pos = pos
        super().__init__(reason)


# -- line splitting ----------------------------------------------------------------------
_ADDR_RE = re.compile(r"\s*\d+:(?=\s|$)")
_RAW_BYTES_TAB_RE = re.compile(r"\s*(?:[0-9a-f]{2}[ \t])+\s*")
_OPCODE_COL_RE = re.compile(r"\s*\(([0-9a-fA-F]{2})\)\s")
_HEADER_RE = re.compile(r"\s*[0-9a-fA-F]+ <([^>]+)>:\s*$")
_SKIP_RE = re.compile(r"\s*(?:.*:\s+file format |Disassembly of section |[0-9a-f]+:\s+R_BPF)")
_LABEL_DEF_RE = re.compile(r"\s*([A-Za-z_.$][\w.$@]*)\s*:(?!\S)")


@dataclass
class SplitLine:
    """What one source line holds, with the column where the instruction starts."""

    labels: list[tuple[str, int]]
    insn_text: str
    insn_col: int  # 0-based offset of insn_text in the line
    opcode_hint: int | None = None


def split_line(line: str) -> SplitLine:
    """Strip comments and listing columns; find label definitions."""
    code = _strip_comment(line)
    labels: list[tuple[str, int]] = []
    if not code.strip() or _SKIP_RE.match(code):
        return SplitLine([], "", 0)
    m = _HEADER_RE.match(code)
    if m:
        return SplitLine([(m.group(1), m.start(1))], "", 0)
    pos = 0
    hint = None
    m = _ADDR_RE.match(code)
    if m:
        pos = m.end()
        rb = _RAW_BYTES_TAB_RE.match(code, pos)
        # llvm-objdump separates raw bytes from the text with a tab
        if rb and "\t" in code[pos:]:
            tab = code.index("\t", pos + 1) if code[pos] == "\t" else code.index("\t", pos)
            candidate = code[pos:tab].strip()
            if candidate and re.fullmatch(r"(?:[0-9a-f]{2} ?)+", candidate):
                pos = tab
        oc = _OPCODE_COL_RE.match(code, pos)
        if oc:
            hint = int(oc.group(1), 16)
            pos = oc.end()
    else:
        while True:
            lm = _LABEL_DEF_RE.match(code, pos)
            if not lm:
                break
            labels.append((lm.group(1), lm.start(1)))
            pos = lm.end()
        oc = _OPCODE_COL_RE.match(code, pos)
        if oc:
            hint = int(oc.group(1), 16)
            pos = oc.end()
    rest = code[pos:]
    stripped = rest.lstrip()
    col = pos + (len(rest) - len(stripped))
    return SplitLine(labels, stripped.rstrip(), col, hint)


def _strip_comment(line: str) -> str:
    cut = len(line)
    for marker in (";", "//"):
        i = line.find(marker)
        if i >= 0:
            cut = min(cut, i)
    for m in re.finditer("#", line):
        i = m.start()
        if i == 0 or line[i - 1].isspace():
            cut = min(cut, i)
            break
    return line[:cut].rstrip("\r")


# -- numbers and registers -----------------------------------------------------------------
def _int(text: str, pos: int) -> int:
    t = text.replace(" ", "")
    try:
        return int(t, 0) if not re.fullmatch(r"[+-]?0\d+", t) else int(t, 10)
    except ValueError:
        raise _Err(f"invalid number {text!r}", pos) from None


def _check_range(value: int, lo: int, hi: int, what: str, pos: int) -> int:
    if not lo <= value <= hi:
        raise _Err(f"{what} {value} out of range [{lo}, {hi}]", pos)
    return value


def _imm32(text: str, pos: int) -> int:
    return _check_range(_int(text, pos), -(1 << 31), (1 << 32) - 1, "immediate", pos)


def _off16(value: int, pos: int) -> int:
    return _check_range(value, -(1 << 15), (1 << 15) - 1, "offset", pos)


def _reg(num: str, pos: int, limit: int = MAX_REG) -> int:
    n = int(num)
    if n > limit:
        raise _Err(f"invalid register r{num} (r0-r10 exist)", pos)
    return n


# -- C-like grammar (llvm-objdump and kernel log) -----------------------------------------------
_N = r"[+-]?\s*(?:0x[0-9a-fA-F]+|\d+)"
_R = r"([rw])(\d+)"
_T = r"(u8|u16|u32|u64|s8|s16|s32)"
_MEM = r"\(\s*r(\d+)\s*(?:([+-])\s*(0x[0-9a-fA-F]+|\d+))?\s*\)"
_TGT = r"(?:(pc)?([+-]\s*\d+)|([A-Za-z_.$][\w.$@]*))(?:\s*<[^>]*>)?"

_ALU_OPS = sorted({*ALU_SYMBOL.values(), *SIGNED_ALU_SYMBOL.values()}, key=len, reverse=True)
_JMP_OPS = sorted(JMP_SYMBOL.values(), key=len, reverse=True)
_ALU_BY_SYMBOL = {sym: (op, 0) for op, sym in ALU_SYMBOL.items()} | {
    sym: (op, 1) for op, sym in SIGNED_ALU_SYMBOL.items()}
_JMP_BY_SYMBOL = {sym: op for op, sym in JMP_SYMBOL.items()}
_SIZE_BY_TYPE = {t: s for s, t in SIZE_TYPE.items()}
_SX_SIZE = {"s8": Size.B, "s16": Size.H, "s32": Size.W}
_ATOMIC_BY_NAME = {name: op for op, name in ATOMIC_NAME.items()}
_HELPER_BY_NAME = {f"bpf_{h.name}": int(h) for h in HelperId}


def _alt(items: list[str]) -> str:
    return "|".join(re.escape(i) for i in items)


_C_PATTERNS: list[tuple[str, re.Pattern[str]]] = [(name, re.compile(rx + r"\s*$")) for name, rx in [
    ("exit", r"exit"),
    ("goto", r"(gotol|goto)\s+" + _TGT),
    ("jcond", r"if\s+" + _R + r"\s*(" + _alt(_JMP_OPS) + r")\s*(?:" + _R + r"|(" + _N + r"))\s+goto\s+"
     + _TGT),
    ("call_kernel", r"call\s+([A-Za-z_][\w-]*)#(" + _N + r")(?:\s+off:(" + _N + r"))?"),
    ("call_kfunc", r"call\s+kfunc\s+(" + _N + r")(?:\s*,\s*(" + _N + r"))?"),
    ("call_local", r"call\s+(?:(pc)?([+-]\s*\d+)|([A-Za-z_.$][\w.$@]*))(?:\s*<[^>]*>)?"),
    ("call_local_label", r"call\s+(\d+)\s*<[^>]*>"),  # llvm-objdump: local call with its target symbol
    ("call", r"call\s+(0x[0-9a-fA-F]+|\d+)"),
    ("callx", r"callx\s+" + _R),
    ("lock", r"lock\s+\*\(\s*" + _T + r"\s*\*\)\s*" + _MEM + r"\s*(" + _alt(_ALU_OPS) + r")\s*" + _R),
    ("afetch", _R + r"\s*=\s*atomic(64)?_fetch_(add|and|or|xor)\(\s*\(\s*" + _T + r"\s*\*\)\s*" + _MEM
     + r"\s*,\s*" + _R + r"\s*\)"),
    ("kxchg", _R + r"\s*=\s*atomic(64)?_xchg\(\s*\(\s*" + _T + r"\s*\*\)\s*" + _MEM + r"\s*,\s*" + _R
     + r"\s*\)"),
    ("kcmpxchg", _R + r"\s*=\s*atomic(64)?_cmpxchg\(\s*\(\s*" + _T + r"\s*\*\)\s*" + _MEM
     + r"\s*,\s*" + _R + r"\s*,\s*" + _R + r"\s*\)"),
    ("lxchg", _R + r"\s*=\s*xchg(32)?_(64|32)\(\s*r(\d+)\s*([+-])\s*(\d+)\s*,\s*" + _R + r"\s*\)"),
    ("lcmpxchg", _R + r"\s*=\s*cmpxchg(32)?_(64|32)\(\s*r(\d+)\s*([+-])\s*(\d+)\s*,\s*" + _R + r"\s*,\s*"
     + _R + r"\s*\)"),
    ("store", r"\*\(\s*" + _T + r"\s*\*\)\s*" + _MEM + r"\s*=\s*(?:" + _R + r"|(" + _N + r"))"),
    ("ldabs", r"r0\s*=\s*\*\(\s*" + _T + r"\s*\*\)\s*skb\[\s*(" + _N + r")\s*\]"),
    ("ldind", r"r0\s*=\s*\*\(\s*" + _T + r"\s*\*\)\s*skb\[\s*r(\d+)\s*(?:\+\s*(" + _N + r"))?\s*\]"),
    ("load", _R + r"\s*=\s*\*\(\s*" + _T + r"\s*\*\)\s*" + _MEM),
    ("lddw", _R + r"\s*=\s*(" + _N + r")\s+ll"),
    ("map", _R + r"\s*=\s*map\[(fd|idx):(\d+)\](?:(\[0\])?\+(\d+))?"),
    ("subprog", _R + r"\s*=\s*subprog\[(" + _N + r")\]"),
    ("btf", _R + r"\s*=\s*btf_id\[(\d+)\]"),
    ("pseudo", r"ld_pseudo\s+%?" + _R + r"\s*,\s*(\d+)\s*,\s*(" + _N + r")"),
    ("movsx", _R + r"\s*=\s*\(\s*(s8|s16|s32)\s*\)\s*" + _R),
    ("neg", _R + r"\s*=\s*-\s*" + _R),
    ("end", _R + r"\s*=\s*(be|le|bswap)(\d+)\s+" + _R),
    ("alu", _R + r"\s*(" + _alt(_ALU_OPS) + r")\s*(?:" + _R + r"|(" + _N + r"))"),
    ("raw", r"\.insn\s+(" + _N + r")\s*,\s*(" + _N + r")\s*,\s*(" + _N + r")\s*,\s*(" + _N + r")\s*,\s*("
     + _N + r")"),
]]


def _mem_off(sign: str | None, num: str | None, pos: int) -> int:
    if num is None:
        return 0
    v = int(num, 0)
    return _off16(-v if sign == "-" else v, pos)


def _width_regs(m: re.Match[str], *groups: int) -> str:
    """The common register prefix (r/w) of several operands; mixing is an error."""
    kinds = {m.group(g) for g in groups if m.group(g) is not None}
    if len(kinds) > 1:
        raise _Err("cannot mix 32-bit (w) and 64-bit (r) registers", m.start(groups[-1]))
    return kinds.pop() if kinds else "r"


_C_BY_KEYWORD: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _name, _rx in _C_PATTERNS:
    _kw = {"exit": "exit", "goto": "goto", "jcond": "if", "callx": "callx", "lock": "lock", "store": "*",
           "pseudo": "ld_pseudo", "raw": ".insn"}.get(_name, "call" if _name.startswith("call") else "")
    _C_BY_KEYWORD.setdefault(_kw, []).append((_name, _rx))


def _c_candidates(text: str) -> list[tuple[str, re.Pattern[str]]]:
    """Only the patterns that can match, chosen by the first word (parsing speed)."""
    if text.startswith("*"):
        return _C_BY_KEYWORD["*"]
    word = re.match(r"[\w.]*", text).group(0)  # type: ignore[union-attr]
    if word in ("gotol",):
        word = "goto"
    return _C_BY_KEYWORD.get(word) or _C_BY_KEYWORD[""]


def _parse_c(text: str, line: int, col: int, kernel: bool, hint: int | None) -> Stmt:
    for name, rx in _c_candidates(text):
        m = rx.match(text)
        if m:
            return _build_c(name, m, text, line, col, kernel, hint)
    bad = re.search(r"\b[rw](1[1-9]|[2-9]\d|\d{3,})\b", text)
    if bad:
        raise _Err(f"invalid register {bad.group(0)} (r0-r10 exist)", bad.start())
    raise _Err(f"cannot parse instruction {text!r}", 0)


def _rel(m: re.Match[str], g_pc: int, g_num: int, g_label: int) -> tuple[int, str | None, int]:
    """(relative offset, label name, column) of a jump target."""
    if m.group(g_num) is not None:
        return int(m.group(g_num).replace(" ", "")), None, m.start(g_num)
    return 0, m.group(g_label), m.start(g_label)


def _build_c(name: str, m: re.Match[str], text: str, line: int, col: int, kernel: bool,
             hint: int | None) -> Stmt:
    def stmt(insn: Insn, target: str | None = None, field_: str = "off", tcol: int = 0) -> Stmt:
        return Stmt(insn, line, col, text, target, field_, tcol)

    def reg(g: int) -> int:  # g is the digits group; errors point at the "r"/"w" before it
        return _reg(m.group(g), m.start(g) - 1)

    g = m.group
    if name == "exit":
        return stmt(Insn(Class.JMP | JmpOp.EXIT))
    if name == "goto":
        rel, label, tcol = _rel(m, 2, 3, 4)
        if g(1) == "gotol":
            return stmt(Insn(Class.JMP32 | JmpOp.JA, imm=_imm32(str(rel), tcol)), label, "imm", tcol)
        return stmt(Insn(Class.JMP | JmpOp.JA, off=_off16(rel, tcol)), label, "off", tcol)
    if name == "jcond":
        kind = _width_regs(m, 1, 4)
        cls = Class.JMP32 if kind == "w" else Class.JMP
        jop = _JMP_BY_SYMBOL[g(3)]
        rel, label, tcol = _rel(m, 7, 8, 9)
        off = _off16(rel, tcol)
        if g(5) is not None:
            return stmt(Insn(cls | jop | Source.X, reg(2), reg(5), off), label, "off", tcol)
        return stmt(Insn(cls | jop | Source.K, reg(2), 0, off, _imm32(g(6), m.start(6))), label, "off", tcol)
    if name == "call_kernel":
        fname, num = g(1), _imm32(g(2), m.start(2))
        if fname == "kernel-function":
            off = _off16(_int(g(3), m.start(3)), m.start(3)) if g(3) else 0
            return stmt(Insn(Class.JMP | JmpOp.CALL, src=CallSrc.KFUNC, off=off, imm=num))
        if fname != "unknown" and _HELPER_BY_NAME.get(fname, num) != num:
            raise _Err(f"helper {fname} is #{_HELPER_BY_NAME[fname]}, not #{num}", m.start(2))
        return stmt(Insn(Class.JMP | JmpOp.CALL, imm=num))
    if name == "call_kfunc":
        off = _off16(_int(g(2), m.start(2)), m.start(2)) if g(2) else 0
        return stmt(Insn(Class.JMP | JmpOp.CALL, src=CallSrc.KFUNC, off=off, imm=_imm32(g(1), m.start(1))))
    if name == "call_local":
        if g(3) is not None and g(3) in _HELPER_BY_NAME:
            return stmt(Insn(Class.JMP | JmpOp.CALL, imm=_HELPER_BY_NAME[g(3)]))
        rel, label, tcol = _rel(m, 1, 2, 3)
        return stmt(Insn(Class.JMP | JmpOp.CALL, src=CallSrc.LOCAL, imm=_imm32(str(rel), tcol)),
                    label, "imm", tcol)
    if name == "call_local_label":
        return stmt(Insn(Class.JMP | JmpOp.CALL, src=CallSrc.LOCAL, imm=_imm32(g(1), m.start(1))))
    if name == "call":
        return stmt(Insn(Class.JMP | JmpOp.CALL, imm=_imm32(g(1), m.start(1))))
    if name == "callx":
        return stmt(Insn(Class.JMP | JmpOp.CALL | Source.X, reg(2)))
    if name == "lock":
        size = _mem_size(g(1), m.start(1))
        sym = g(5)
        aop = _ALU_BY_SYMBOL.get(sym, (None, 0))[0]
        if aop not in (AluOp.ADD, AluOp.OR, AluOp.AND, AluOp.XOR):
            raise _Err(f"no atomic {sym!r}", m.start(5))
        return stmt(Insn(Class.STX | Mode.ATOMIC | size, reg(2), reg(7), _mem_off(g(3), g(4), m.start(4)),
                         int(aop)))
    if name == "afetch":
        size = _mem_size(g(5), m.start(5))
        imm = _ATOMIC_BY_NAME[g(4)] | AtomicOp.FETCH_ADD
        if reg(2) != reg(10):
            raise _Err("atomic fetch must load into its source register", m.start(10) - 1)
        return stmt(Insn(Class.STX | Mode.ATOMIC | size, reg(6), reg(10), _mem_off(g(7), g(8), m.start(8)),
                         imm))
    if name == "kxchg":
        size = _mem_size(g(4), m.start(4))
        if reg(2) != reg(9):
            raise _Err("xchg must load into its source register", m.start(9) - 1)
        return stmt(Insn(Class.STX | Mode.ATOMIC | size, reg(5), reg(9), _mem_off(g(6), g(7), m.start(7)),
                         AtomicOp.XCHG))
    if name == "kcmpxchg":
        size = _mem_size(g(4), m.start(4))
        if reg(2) != 0 or reg(9) != 0:
            raise _Err("cmpxchg compares with and loads into r0", m.start(1))
        return stmt(Insn(Class.STX | Mode.ATOMIC | size, reg(5), reg(11), _mem_off(g(6), g(7), m.start(7)),
                         AtomicOp.CMPXCHG))
    if name == "lxchg":
        size = Size.DW if g(4) == "64" else Size.W
        if reg(2) != reg(9):
            raise _Err("xchg must load into its source register", m.start(9) - 1)
        return stmt(Insn(Class.STX | Mode.ATOMIC | size, reg(5), reg(9), _mem_off(g(6), g(7), m.start(7)),
                         AtomicOp.XCHG))
    if name == "lcmpxchg":
        size = Size.DW if g(4) == "64" else Size.W
        if reg(2) != 0 or reg(9) != 0:
            raise _Err("cmpxchg compares with and loads into r0", m.start(1))
        return stmt(Insn(Class.STX | Mode.ATOMIC | size, reg(5), reg(11), _mem_off(g(6), g(7), m.start(7)),
                         AtomicOp.CMPXCHG))
    if name == "store":
        size = _mem_size(g(1), m.start(1))
        off = _mem_off(g(3), g(4), m.start(4))
        if g(5) is not None:
            return stmt(Insn(Class.STX | Mode.MEM | size, reg(2), reg(6), off))
        return stmt(Insn(Class.ST | Mode.MEM | size, reg(2), 0, off, _imm32(g(7), m.start(7))))
    if name == "ldabs":
        size = _mem_size(g(1), m.start(1), ld=True)
        return stmt(Insn(Class.LD | Mode.ABS | size, imm=_imm32(g(2), m.start(2))))
    if name == "ldind":
        imm = _imm32(g(3), m.start(3)) if g(3) else 0
        return stmt(Insn(Class.LD | Mode.IND | _mem_size(g(1), m.start(1), ld=True), 0, reg(2), imm=imm))
    if name == "load":
        t = g(3)
        if t in _SX_SIZE:
            return stmt(Insn(Class.LDX | Mode.MEMSX | _SX_SIZE[t], reg(2), reg(4),
                             _mem_off(g(5), g(6), m.start(6))))
        return stmt(Insn(Class.LDX | Mode.MEM | _mem_size(t, m.start(3)), reg(2), reg(4),
                         _mem_off(g(5), g(6), m.start(6))))
    if name == "lddw":
        v = _check_range(_int(g(3), m.start(3)), -(1 << 63), (1 << 64) - 1, "immediate", m.start(3))
        return stmt(Insn(0x18, reg(2), 0, 0, v))
    if name == "map":
        lo = int(g(4))
        hi = int(g(6)) if g(6) is not None else None
        if g(3) == "fd":
            src = PseudoSrc.MAP_VALUE if g(5) else PseudoSrc.MAP_FD
        else:
            src = PseudoSrc.MAP_IDX_VALUE if hi is not None else PseudoSrc.MAP_IDX
        if src == PseudoSrc.MAP_VALUE and hi is None:
            raise _Err("map value needs +offset", m.end())
        return stmt(Insn(0x18, reg(2), src, 0, _u32(lo, m.start(4)) | _u32(hi or 0, m.start(0)) << 32))
    if name == "subprog":
        return stmt(Insn(0x18, reg(2), PseudoSrc.FUNC, 0, _imm32(g(3), m.start(3)) & 0xFFFF_FFFF))
    if name == "btf":
        return stmt(Insn(0x18, reg(2), PseudoSrc.BTF_ID, 0, _u32(int(g(3)), m.start(3))))
    if name == "pseudo":
        return _pseudo(reg(2), g(3), g(4), m.start(3), m.start(4), stmt)
    if name == "movsx":
        kind = _width_regs(m, 1, 4)
        cls = Class.ALU if kind == "w" else Class.ALU64
        bits = int(g(3)[1:])
        if bits not in MOVSX_OFFSETS[cls]:
            raise _Err(f"no {kind}-register sign extension from {bits} bits", m.start(3))
        return stmt(Insn(cls | AluOp.MOV | Source.X, reg(2), reg(5), bits))
    if name == "neg":
        kind = _width_regs(m, 1, 3)
        if reg(2) != reg(4):
            raise _Err("negation works in place (rX = -rX)", m.start(4) - 1)
        return stmt(Insn((Class.ALU if kind == "w" else Class.ALU64) | AluOp.NEG, reg(2)))
    if name == "end":
        width = int(g(4))
        if width not in END_WIDTHS:
            raise _Err(f"byte swap width must be 16, 32 or 64, not {width}", m.start(4))
        if reg(2) != reg(6):
            raise _Err("byte swaps work in place (rX = be16 rX)", m.start(6) - 1)
        kind = g(3)
        opcode = {"le": Class.ALU | AluOp.END | Source.K, "be": Class.ALU | AluOp.END | Source.X,
                  "bswap": Class.ALU64 | AluOp.END}[kind]
        return stmt(Insn(opcode, reg(2), imm=width))
    if name == "alu":
        kind = _width_regs(m, 1, 4)
        cls = Class.ALU if kind == "w" else Class.ALU64
        op, off = _ALU_BY_SYMBOL[g(3)]
        if g(4) is not None:
            return stmt(Insn(cls | op | Source.X, reg(2), reg(5), off))
        # The verifier log prints LD_IMM64 constants as "r1 = 0x..." (hex) and
        # mov as "r1 = 5" (decimal); the "(18)" opcode column settles it too.
        is_hex = g(6).lstrip("+- ").startswith("0x")
        if op is AluOp.MOV and cls is Class.ALU64 and (hint == 0x18 or (kernel and hint is None and is_hex)):
            v = _check_range(_int(g(6), m.start(6)), -(1 << 63), (1 << 64) - 1, "immediate", m.start(6))
            return stmt(Insn(0x18, reg(2), 0, 0, v))
        return stmt(Insn(cls | op | Source.K, reg(2), 0, off, _imm32(g(6), m.start(6))))
    if name == "raw":
        return _raw_insn([g(i) for i in range(1, 6)], [m.start(i) for i in range(1, 6)], stmt)
    raise AssertionError(name)  # pragma: no cover


def _u32(v: int, pos: int) -> int:
    return _check_range(v, 0, 0xFFFF_FFFF, "value", pos)


def _mem_size(t: str, pos: int, *, ld: bool = False) -> Size:
    size = _SIZE_BY_TYPE.get(t)
    if size is None or (ld and size is Size.DW):
        raise _Err(f"invalid access type {t}", pos)
    return size


def _pseudo(dst: int, src_text: str, imm_text: str, spos: int, ipos: int, stmt: _Make) -> Stmt:
    src = int(src_text)
    if src > 15:
        raise _Err(f"pseudo source {src} does not fit 4 bits", spos)
    v = _int(imm_text, ipos)
    if -(1 << 31) <= v < 0:
        v &= 0xFFFF_FFFF
    v = _check_range(v, 0, (1 << 64) - 1, "immediate", ipos)
    return stmt(Insn(0x18, dst, src, 0, v))


def _raw_insn(texts: list[str], poss: list[int], stmt: _Make) -> Stmt:
    vals = [_int(t, p) for t, p in zip(texts, poss, strict=True)]
    opcode, dst, src, off, imm = vals
    _check_range(opcode, 0, 0xFF, "opcode", poss[0])
    _check_range(dst, 0, 15, "register field", poss[1])
    _check_range(src, 0, 15, "register field", poss[2])
    _check_range(off, -(1 << 15), (1 << 16) - 1, "offset", poss[3])
    hi = (1 << 64) - 1 if opcode == 0x18 else (1 << 32) - 1
    _check_range(imm, -(1 << 63) if opcode == 0x18 else -(1 << 31), hi, "immediate", poss[4])
    return stmt(Insn(opcode, dst, src, off, imm))


# -- uBPF grammar -------------------------------------------------------------------------------
_UBPF: dict[str, list[UbpfVariant]] = {}
for _v in all_ubpf_variants():
    _UBPF.setdefault(_v.mnemonic, []).append(_v)
for _bits in sorted(END_WIDTHS):  # bpf_conformance alias
    _UBPF[f"swap{_bits}"] = _UBPF[f"bswap{_bits}"]
UBPF_MNEMONICS = frozenset(_UBPF) | {"lock", "ld_pseudo", ".insn"}

_UBPF_MAX_REG = 15
_UREG_RE = re.compile(r"%r(\d+)$")
_UMEM_RE = re.compile(r"\[\s*%r(\d+)\s*(?:([+-])\s*(0x[0-9a-fA-F]+|\d+))?\s*\]$")
_UTGT_RE = re.compile(r"(?:([+-]?\d+)|([A-Za-z_.$][\w.$@]*))$")


def _operands(text: str, start: int) -> list[tuple[str, int]]:
    """Operands split on commas and blanks, each with its column."""
    out = []
    for m in re.finditer(r"\[[^\]]*\]|[^\s,]+", text[start:]):
        out.append((m.group(0), start + m.start()))
    return out


def _ureg(tok: tuple[str, int]) -> int:
    m = _UREG_RE.match(tok[0])
    if not m:
        raise _Err(f"expected a register like %r1, not {tok[0]!r}", tok[1])
    # Like bpf_conformance, accept %r11-%r15 (they encode) so that tests of
    # invalid registers can be written; the decoder rejects them.
    return _reg(m.group(1), tok[1], _UBPF_MAX_REG)


def _umem(tok: tuple[str, int]) -> tuple[int, int]:
    m = _UMEM_RE.match(tok[0])
    if not m:
        raise _Err(f"expected a memory operand like [%r1+8], not {tok[0]!r}", tok[1])
    reg = _reg(m.group(1), tok[1], _UBPF_MAX_REG)
    return reg, _mem_off(m.group(2), m.group(3), tok[1])


def _utarget(tok: tuple[str, int]) -> tuple[int, str | None]:
    m = _UTGT_RE.match(tok[0])
    if not m:
        raise _Err(f"expected a jump target (+N, -N or a label), not {tok[0]!r}", tok[1])
    if m.group(1) is not None:
        return int(m.group(1)), None
    return 0, m.group(2)


def _nops(ops: list[tuple[str, int]], n: int, mnemonic: str, end: int) -> None:
    if len(ops) != n:
        pos = ops[n][1] if len(ops) > n else end
        raise _Err(f"{mnemonic} takes {n} operand{'s' if n != 1 else ''}, got {len(ops)}", pos)


def _parse_ubpf(text: str, line: int, col: int) -> Stmt:
    toks = _operands(text, 0)
    mnemonic, mpos = toks[0]
    mnemonic = mnemonic.lower()
    i = 1
    if mnemonic == "lock":
        if len(toks) > 1 and toks[1][0].lower() == "fetch":
            i = 2
            mnemonic = "lock fetch"
        if len(toks) <= i:
            raise _Err("lock needs an operation", len(text))
        mnemonic += " " + toks[i][0].lower()
        i += 1
    ops = toks[i:]
    end = len(text)

    def stmt(insn: Insn, target: str | None = None, field_: str = "off", tcol: int = 0) -> Stmt:
        return Stmt(insn, line, col, text, target, field_, tcol)

    if mnemonic == ".insn":
        _nops(ops, 5, mnemonic, end)
        return _raw_insn([o[0] for o in ops], [o[1] for o in ops], stmt)
    if mnemonic == "ld_pseudo":
        _nops(ops, 3, mnemonic, end)
        return _pseudo(_ureg(ops[0]), ops[1][0], ops[2][0], ops[1][1], ops[2][1], stmt)
    if mnemonic == "call":
        return _ubpf_call(ops, stmt, end)
    variants = _UBPF.get(mnemonic)
    if variants is None:
        raise _Err(f"unknown mnemonic {mnemonic!r}", mpos)
    v = variants[0]
    shape = v.shape
    if shape in ("alu", "alu_reg"):
        _nops(ops, 2, mnemonic, end)
        dst = _ureg(ops[0])
        if ops[1][0].startswith("%"):
            src = _ureg(ops[1])
            vx = [x for x in variants if x.opcode & Source.X]
            if not vx:
                raise _Err(f"{mnemonic} takes no register source", ops[1][1])
            return stmt(Insn(vx[0].opcode, dst, src, vx[0].off or 0))
        vk = [x for x in variants if not x.opcode & Source.X]
        if not vk:
            raise _Err(f"{mnemonic} needs a register source", ops[1][1])
        return stmt(Insn(vk[0].opcode, dst, 0, vk[0].off or 0, _imm32(*ops[1])))
    if shape == "unary":
        _nops(ops, 1, mnemonic, end)
        return stmt(Insn(v.opcode, _ureg(ops[0]), imm=v.imm or 0))
    if shape == "callx":
        _nops(ops, 1, mnemonic, end)
        return stmt(Insn(v.opcode, _ureg(ops[0])))
    if shape == "none":
        _nops(ops, 0, mnemonic, end)
        return stmt(Insn(v.opcode))
    if shape == "jcond":
        _nops(ops, 3, mnemonic, end)
        dst = _ureg(ops[0])
        rel, label = _utarget(ops[2])
        off = _off16(rel, ops[2][1])
        if ops[1][0].startswith("%"):
            jx = next(x for x in variants if x.opcode & Source.X)
            return stmt(Insn(jx.opcode, dst, _ureg(ops[1]), off), label, "off", ops[2][1])
        jk = next(x for x in variants if not x.opcode & Source.X)
        return stmt(Insn(jk.opcode, dst, 0, off, _imm32(*ops[1])), label, "off", ops[2][1])
    if shape == "ja":
        _nops(ops, 1, mnemonic, end)
        rel, label = _utarget(ops[0])
        if v.opcode & 0x07 == Class.JMP32:
            return stmt(Insn(v.opcode, imm=_imm32(str(rel), ops[0][1])), label, "imm", ops[0][1])
        return stmt(Insn(v.opcode, off=_off16(rel, ops[0][1])), label, "off", ops[0][1])
    if shape == "lddw":
        _nops(ops, 2, mnemonic, end)
        val = _check_range(_int(*ops[1]), -(1 << 63), (1 << 64) - 1, "immediate", ops[1][1])
        return stmt(Insn(v.opcode, _ureg(ops[0]), 0, 0, val))
    if shape == "ld_abs":
        _nops(ops, 1, mnemonic, end)
        return stmt(Insn(v.opcode, imm=_imm32(*ops[0])))
    if shape == "ld_ind":
        _nops(ops, 2, mnemonic, end)
        return stmt(Insn(v.opcode, 0, _ureg(ops[0]), imm=_imm32(*ops[1])))
    if shape == "ldx":
        _nops(ops, 2, mnemonic, end)
        src, off = _umem(ops[1])
        return stmt(Insn(v.opcode, _ureg(ops[0]), src, off))
    if shape == "st":
        _nops(ops, 2, mnemonic, end)
        dst, off = _umem(ops[0])
        return stmt(Insn(v.opcode, dst, 0, off, _imm32(*ops[1])))
    if shape in ("stx", "atomic"):
        _nops(ops, 2, mnemonic, end)
        dst, off = _umem(ops[0])
        return stmt(Insn(v.opcode, dst, _ureg(ops[1]), off, v.imm or 0))
    raise _Err(f"cannot parse {mnemonic!r}", mpos)  # pragma: no cover


def _ubpf_call(ops: list[tuple[str, int]], stmt: _Make, end: int) -> Stmt:
    call = Class.JMP | JmpOp.CALL
    make = stmt  # typed loosely to share the closure style
    if not ops:
        raise _Err("call needs a target", end)
    kind = ops[0][0].lower()
    if kind in ("local", "runtime", "helper"):
        ops = ops[1:]
        if not ops:
            raise _Err(f"call {kind} needs a target", end)
    else:
        kind = "helper"
    if kind == "local":
        _nops(ops, 1, "call local", end)
        rel, label = _utarget(ops[0])
        return make(Insn(call, src=CallSrc.LOCAL, imm=_imm32(str(rel), ops[0][1])),
                    label, "imm", ops[0][1])
    if ops[0][0].startswith("%"):
        _nops(ops, 1, "callx", end)
        return make(Insn(call | Source.X, _ureg(ops[0])))
    if kind == "runtime":
        if len(ops) not in (1, 2):
            _nops(ops, 1, "call runtime", end)
        off = _off16(_int(*ops[1]), ops[1][1]) if len(ops) == 2 else 0
        return make(Insn(call, src=CallSrc.KFUNC, off=off, imm=_imm32(*ops[0])))
    _nops(ops, 1, "call", end)
    return make(Insn(call, imm=_imm32(*ops[0])))


# -- entry points -------------------------------------------------------------------------------
_SHARED_WORDS = frozenset({"call", "callx", "exit", "ld_pseudo", ".insn"})  # not proof of uBPF syntax
_KERNEL_HINT_RE = re.compile(r"\bgoto\s+pc[+-]|\bcall\s+pc[+-]|#\d|\(r\d+ [+-]\d|\bgotol\s+pc[+-]")


def detect_syntax(text: str) -> str:
    """Guess ``ubpf``, ``kernel`` or ``llvm`` for ``text`` (see :func:`pybpf.asm.assemble`).

    uBPF when a line uses a ``%r`` register or starts with a uBPF mnemonic;
    kernel when a line has the verifier's ``(xx)`` opcode column or its
    ``pc+N`` / ``name#id`` spellings; llvm otherwise.
    """
    kernel = False
    for raw in text.splitlines():
        sl = split_line(raw)
        t = sl.insn_text
        if not t:
            continue
        if "%r" in t:
            return "ubpf"
        words = t.lower().split()
        first = words[0]
        if first in UBPF_MNEMONICS and first not in _SHARED_WORDS and "=" not in t:
            return "ubpf"
        if first == "call" and len(words) > 1 and words[1] in ("local", "runtime", "helper"):
            return "ubpf"  # uBPF's call kinds; the C-like syntaxes have no such word
        if sl.opcode_hint is not None or _KERNEL_HINT_RE.search(t):
            kernel = True
    return "kernel" if kernel else "llvm"


def parse_line(sl: SplitLine, syntax: str, line: int, source: str) -> Stmt:
    """Parse the instruction part of one split line; raise AsmError with the position."""
    try:
        if syntax == "ubpf":
            st = _parse_ubpf(sl.insn_text, line, sl.insn_col + 1)
        else:
            st = _parse_c(sl.insn_text, line, sl.insn_col + 1, syntax == "kernel", sl.opcode_hint)
    except _Err as e:
        raise AsmError(e.reason, line=line, column=sl.insn_col + e.pos + 1, text=source) from None
    except ValueError as e:  # a field the Insn constructor refuses
        raise AsmError(str(e), line=line, column=sl.insn_col + 1, text=source) from None
    if st.target is not None:
        st.target_column = sl.insn_col + st.target_column + 1
    return st

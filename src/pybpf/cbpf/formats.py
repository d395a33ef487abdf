"""Classic programs as text: tcpdump's ``-dd``, ``-ddd`` and ``-d``, and bpf_asm.

Each format has a writer and a reader, and ``parse_X(format_X(p)) == p`` for
every program whose unused fields are zero (jt/jf of non-jumps, k of
``neg``/``tax``/``txa``/``ret a``/``#len``):

* ``dd``: the C array ``tcpdump -dd`` prints (``{ 0x28, 0, 0, 0x0000000c },``);
  the reader also takes ``bpf_asm -c`` output;
* ``ddd``: the count then ``code jt jf k`` in decimal (``tcpdump -ddd``); the
  reader also takes ``bpf_asm``'s one-line ``4,40 0 0 12,...`` form;
* ``listing``: ``tcpdump -d``, libpcap's ``bpf_image`` line for line (one
  deliberate difference: libpcap 1.10 prints ``ldx #len`` as ``unimp 0x81``;
  this writer prints ``ldx #pktlen``, and the reader takes both);
* ``asm``: the kernel's ``bpf_asm`` syntax (tools/bpf/bpf_exp.y): labels,
  ``jeq #k, Lt, Lf``, ``jneq/jne/jlt/jle``, ``ldxb 4*([k]&0xf)``, ``#len`` and
  the extensions ``#proto``, ``#vlan_tci`` ... (plus ``#xor_x``, which only
  pybpf reads; the writer prints that one as ``[-4056]``); ``;`` starts a comment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ..errors import AsmError
from .model import (
    ANC_NAMES,
    BPF_ABS,
    BPF_IND,
    BPF_JMP,
    BPF_LD,
    CODES,
    SKF_AD_OFF,
    Anc,
    SockFilter,
    ancillary,
)

__all__ = ["format_dd", "parse_dd", "format_ddd", "parse_ddd", "format_listing", "parse_listing",
           "format_asm", "parse_asm", "format_insn", "parse_any", "FORMATS", "LISTING_ANC_NAMES"]

M32 = 0xFFFF_FFFF

# libpcap's bpf_image names for ancillary loads (they differ from bpf_asm's in places).
LISTING_ANC_NAMES: dict[Anc, str] = {**ANC_NAMES, Anc.VLAN_TAG_PRESENT: "vlanp", Anc.RANDOM: "random"}
_ASM_ANC = {name: anc for anc, name in ANC_NAMES.items()} | {"vlan_pr": Anc.VLAN_TAG_PRESENT,
                                                           "len": None}
_LISTING_ANC = {name: anc for anc, name in LISTING_ANC_NAMES.items()}
_HEX_ALU = {0x40, 0x50, 0xA0}  # or/and/xor print k in hex in bpf_image; the others signed decimal


def _s32(k: int) -> int:
    k &= M32
    return k - (1 << 32) if k >> 31 else k


def _error(reason: str, line: int, text: str, column: int = 1) -> AsmError:
    return AsmError(reason, line=line, column=column, text=text)


# -- dd / ddd ---------------------------------------------------------------------------
def format_dd(prog: Sequence[SockFilter]) -> str:
    """``tcpdump -dd``: one C initializer per line."""
    return "".join(f"{{ 0x{f.code:x}, {f.jt}, {f.jf}, 0x{f.k:08x} }},\n" for f in prog)


_DD_RE = re.compile(r"\{\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*\}\s*,?")


def _int_field(tok: str, line: int, text: str) -> int:
    try:
        return int(tok, 0)
    except ValueError:
        raise _error(f"{tok!r} is not a number", line, text) from None


def _make(fields: Sequence[int], line: int, text: str) -> SockFilter:
    try:
        return SockFilter(*fields)
    except ValueError as exc:
        raise _error(str(exc), line, text) from None


def parse_dd(text: str) -> list[SockFilter]:
    """Read ``tcpdump -dd`` / ``bpf_asm -c`` output (comments and blank lines ignored)."""
    prog: list[SockFilter] = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"/\*.*?\*/|//.*$", "", raw).strip()
        if not line:
            continue
        pos = 0
        while pos < len(line):
            m = _DD_RE.match(line, pos)
            if m is None:
                raise _error("expected '{ code, jt, jf, k },'", no, raw, pos + 1)
            prog.append(_make([_int_field(t, no, raw) for t in m.groups()], no, raw))
            pos = m.end()
            while pos < len(line) and line[pos].isspace():
                pos += 1
    return prog


def format_ddd(prog: Sequence[SockFilter]) -> str:
    """``tcpdump -ddd``: the count, then ``code jt jf k`` in decimal."""
    return f"{len(prog)}\n" + "".join(f"{f.code} {f.jt} {f.jf} {f.k}\n" for f in prog)


def parse_ddd(text: str) -> list[SockFilter]:
    """Read ``tcpdump -ddd`` output or bpf_asm's ``N,c t f k,...`` line."""
    body = text.strip()
    if "," in body and "\n" not in body:
        records = [r.strip() for r in body.split(",") if r.strip()]
    else:
        records = [r.strip() for r in body.splitlines() if r.strip()]
    if not records:
        raise _error("empty program text", 1, text)
    count = _int_field(records[0], 1, records[0])
    prog = []
    for no, rec in enumerate(records[1:], 2):
        parts = rec.split()
        if len(parts) != 4:
            raise _error("expected 'code jt jf k'", no, rec)
        prog.append(_make([_int_field(p, no, rec) for p in parts], no, rec))
    if count != len(prog):
        raise _error(f"count says {count} instructions, {len(prog)} follow", 1, records[0])
    return prog


# -- listing (tcpdump -d) ------------------------------------------------------------------
def _image_operand(f: SockFilter, pc: int) -> tuple[str, str]:
    info = CODES.get(f.code)
    if info is None:
        return "unimp", f"0x{f.code:x}"
    op, k = info.operand, f.k
    if op == "[k]":
        anc = ancillary(k) if k >= (SKF_AD_OFF & M32) else None
        return info.name, f"[{LISTING_ANC_NAMES[anc]}]" if anc is not None else f"[{_s32(k)}]"
    if op == "[x+k]":
        return info.name, f"[x + {_s32(k)}]"
    if op == "M[k]":
        return info.name, f"M[{_s32(k)}]"
    if op == "#len":
        return info.name, "#pktlen"
    if op == "4*([k]&0xf)":
        return info.name, f"4*([{_s32(k)}]&0xf)"
    if op == "#k":
        if info.cls == 4:  # ALU
            return info.name, f"#0x{k:x}" if info.op in _HEX_ALU else f"#{_s32(k)}"
        if info.cls == 6:  # RET
            return info.name, f"#{_s32(k)}"
        return info.name, f"#0x{k:x}"
    if op == "ja":
        return info.name, f"{_s32(pc + 1 + k)}"
    if op == "#k,jt,jf":
        return info.name, f"#0x{k:x}"
    if op == "x,jt,jf" or op == "x":
        return info.name, "x"
    return info.name, ""  # neg, tax, txa, ret a


def format_insn(f: SockFilter, pc: int = 0) -> str:
    """One instruction as ``tcpdump -d`` shows it, without the ``(pc)`` prefix."""
    name, operand = _image_operand(f, pc)
    if f.code & 0x07 == BPF_JMP and f.code & 0xF0 and f.code in CODES:
        return f"{name:<8} {operand:<16} jt {pc + 1 + f.jt}\tjf {pc + 1 + f.jf}"
    return f"{name:<8} {operand}"


def format_listing(prog: Sequence[SockFilter]) -> str:
    """``tcpdump -d``: libpcap's ``bpf_image`` line for each instruction."""
    return "".join(f"({pc:03d}) {format_insn(f, pc)}\n" for pc, f in enumerate(prog))


_LISTING_RE = re.compile(r"^\((\d+)\)\s+(\S+)\s*(.*?)\s*$")
_JT_JF_RE = re.compile(r"^(.*?)\s+jt\s+(\d+)\s+jf\s+(\d+)$")
_BY_NAME: dict[tuple[str, str], list[int]] = {}
for _code, _info in CODES.items():
    _BY_NAME.setdefault((_info.name, _info.operand), []).append(_code)


def _lookup(name: str, operand: str, line: int, text: str) -> int:
    codes = _BY_NAME.get((name, operand))
    if not codes:
        raise _error(f"'{name}' does not take the operand form {operand}", line, text)
    return codes[0]


def _num(tok: str, line: int, text: str) -> int:
    tok = tok.strip()
    try:
        if re.fullmatch(r"-?0[0-7]+", tok):
            return int(tok.replace("0", "0o", 1), 0)
        return int(tok, 0) & M32
    except ValueError:
        raise _error(f"{tok!r} is not a number", line, text) from None


def parse_listing(text: str) -> list[SockFilter]:
    """Read ``tcpdump -d`` output back into instructions."""
    prog: list[SockFilter] = []
    for no, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        m = _LISTING_RE.match(raw)
        if m is None:
            raise _error("expected '(NNN) op operand'", no, raw)
        pc, name, rest = int(m.group(1)), m.group(2), m.group(3)
        if pc != len(prog):
            raise _error(f"line numbered ({pc:03d}) where ({len(prog):03d}) was expected", no, raw)
        jt = jf = 0
        jm = _JT_JF_RE.match(rest)
        if jm:
            rest = jm.group(1).strip()
            jt, jf = int(jm.group(2)) - pc - 1, int(jm.group(3)) - pc - 1
            if not (0 <= jt <= 255 and 0 <= jf <= 255):
                raise _error("jump targets must be 1..256 instructions ahead", no, raw)
            form = "x,jt,jf" if rest == "x" else "#k,jt,jf"
            k = 0 if rest == "x" else _num(rest.lstrip("#"), no, raw)
            prog.append(_make((_lookup(name, form, no, raw), jt, jf, k), no, raw))
            continue
        prog.append(_make(_listing_operand(name, rest, pc, no, raw), no, raw))
    return prog


def _listing_operand(name: str, rest: str, pc: int, no: int, raw: str) -> tuple[int, int, int, int]:
    if name == "unimp":
        return (_num(rest, no, raw), 0, 0, 0)
    if name == "ja":
        return (_lookup("ja", "ja", no, raw), 0, 0, (_num(rest, no, raw) - pc - 1) & M32)
    if rest == "":
        form = "a" if name == "ret" else ""
        return (_lookup(name, form, no, raw), 0, 0, 0)
    if rest == "x":
        return (_lookup(name, "x", no, raw), 0, 0, 0)
    if rest == "#pktlen":
        return (_lookup(name, "#len", no, raw), 0, 0, 0)
    if m := re.fullmatch(r"\[x \+ (-?\w+)\]", rest):
        return (_lookup(name, "[x+k]", no, raw), 0, 0, _num(m.group(1), no, raw))
    if m := re.fullmatch(r"4\*\(\[(-?\w+)\]&0xf\)", rest):
        return (_lookup(name, "4*([k]&0xf)", no, raw), 0, 0, _num(m.group(1), no, raw))
    if m := re.fullmatch(r"M\[(-?\w+)\]", rest):
        return (_lookup(name, "M[k]", no, raw), 0, 0, _num(m.group(1), no, raw))
    if m := re.fullmatch(r"\[(-?\w+)\]", rest):
        tok = m.group(1)
        k = _LISTING_ANC[tok].k if tok in _LISTING_ANC else _num(tok, no, raw)
        return (_lookup(name, "[k]", no, raw), 0, 0, k)
    if rest.startswith("#"):
        return (_lookup(name, "#k", no, raw), 0, 0, _num(rest[1:], no, raw))
    raise _error(f"cannot read operand {rest!r}", no, raw)


# -- bpf_asm --------------------------------------------------------------------------------
def _asm_k(k: int) -> str:
    return f"{k:#x}" if k > 0xFFFF else str(k)


def _asm_operand(f: SockFilter, labels: dict[int, str], pc: int) -> str:
    info = CODES[f.code]
    op, k = info.operand, f.k
    if op == "[k]":
        anc = ancillary(k) if k >= (SKF_AD_OFF & M32) else None
        # bpf_asm has no keyword for SKF_AD_ALU_XOR_X: it is written as its offset.
        if anc is not None and anc is not Anc.ALU_XOR_X:
            return f"#{ANC_NAMES[anc]}"
        return f"[{_s32(k)}]" if k >> 31 else f"[{_asm_k(k)}]"
    if op == "[x+k]":
        return f"[x + {_s32(k)}]" if k >> 31 else f"[x + {_asm_k(k)}]"
    if op == "M[k]":
        return f"M[{k}]"
    if op == "#len":
        return "#len"
    if op == "4*([k]&0xf)":
        return f"4*([{_s32(k)}]&0xf)" if k >> 31 else f"4*([{_asm_k(k)}]&0xf)"
    if op == "#k":
        return f"#{k:#x}"
    if op == "ja":
        return labels[pc + 1 + k]
    if op in ("#k,jt,jf", "x,jt,jf"):
        src = "x" if op.startswith("x") else f"#{k:#x}"
        return f"{src}, {labels[pc + 1 + f.jt]}, {labels[pc + 1 + f.jf]}"
    return {"a": "a", "x": "x"}.get(op, "")


def format_asm(prog: Sequence[SockFilter]) -> str:
    """bpf_asm source for ``prog``: a label ``lN`` on every jump target."""
    targets: set[int] = set()
    for pc, f in enumerate(prog):
        info = CODES.get(f.code)
        if info is None:
            raise _error(f"pc {pc}: opcode {f.code:#06x} has no bpf_asm form", pc + 1, "")
        if info.operand == "ja":
            targets.add(pc + 1 + f.k)
        elif info.is_cond_jump:
            targets.update((pc + 1 + f.jt, pc + 1 + f.jf))
    labels = {t: f"l{t}" for t in targets}
    out = []
    for pc, f in enumerate(prog):
        if pc in labels:
            out.append(f"{labels[pc]}:")
        operand = _asm_operand(f, labels, pc)
        out.append(f"\t{f.name} {operand}".rstrip())
    return "\n".join(out) + "\n"


_ALU_NAMES = {"add", "sub", "mul", "div", "mod", "and", "or", "xor", "lsh", "rsh"}
_COND = {"jeq": (0x10, False), "jgt": (0x20, False), "jge": (0x30, False), "jset": (0x40, False),
         # bpf_exp.y: jneq/jne/jlt/jle are jeq/jge/jgt with the targets swapped.
         "jneq": (0x10, True), "jne": (0x10, True), "jlt": (0x30, True), "jle": (0x20, True)}
_LABEL_DEF = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:")


class _Pending:
    __slots__ = ("code", "k", "jt", "jf", "line", "text")

    def __init__(self, code: int, k: int, jt: str | int, jf: str | int, line: int, text: str) -> None:
        self.code, self.k, self.jt, self.jf, self.line, self.text = code, k, jt, jf, line, text


def parse_asm(text: str) -> list[SockFilter]:
    """Assemble bpf_asm source (labels resolved, forward jumps only)."""
    pending: list[_Pending] = []
    labels: dict[str, int] = {}
    for no, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"/\*.*?\*/", "", raw.split(";", 1)[0]).strip()
        while (m := _LABEL_DEF.match(line)) and not line.startswith(("M[", "4*")):
            name = m.group(1)
            if name in labels:
                raise _error(f"label {name!r} defined twice", no, raw)
            labels[name] = len(pending)
            line = line[m.end():].strip()
        if line:
            pending.append(_asm_line(line, no, raw))
    prog = []
    for pc, p in enumerate(pending):
        def resolve(target: str | int, p: _Pending = p, pc: int = pc) -> int:
            if isinstance(target, int):
                return target
            if target not in labels:
                raise _error(f"undefined label {target!r}", p.line, p.text)
            off = labels[target] - pc - 1
            if off < 0:
                raise _error(f"label {target!r} is behind this jump (classic jumps go forward)",
                             p.line, p.text)
            return off

        if p.code == 0x05:  # ja: the offset goes in k
            prog.append(_make((p.code, 0, 0, resolve(p.jt)), p.line, p.text))
            continue
        jt, jf = resolve(p.jt), resolve(p.jf)
        if jt > 255 or jf > 255:
            raise _error("conditional jump further than 255 instructions", p.line, p.text)
        prog.append(_make((p.code, jt, jf, p.k), p.line, p.text))
    return prog


def _asm_line(line: str, no: int, raw: str) -> _Pending:
    parts = line.split(None, 1)
    op = parts[0].lower()
    arg = parts[1].strip() if len(parts) > 1 else ""
    compact = re.sub(r"\s+", "", arg)

    def done(code: int, k: int = 0) -> _Pending:
        return _Pending(code, k & M32, 0, 0, no, raw)

    if op in ("ld", "ldh", "ldb", "ldi", "ldx", "ldxb", "ldxi"):
        return _asm_load(op, compact, no, raw, done)
    if op in ("st", "stx"):
        m = re.fullmatch(r"M\[(-?\w+)\]", compact)
        if not m:
            raise _error(f"'{op}' takes M[k]", no, raw)
        return done(0x02 if op == "st" else 0x03, _num(m.group(1), no, raw))
    if op in ("jmp", "ja"):
        if not re.fullmatch(r"[A-Za-z_]\w*", compact):
            raise _error(f"'{op}' takes a label", no, raw)
        return _Pending(0x05, 0, compact, 0, no, raw)
    if op in _COND:
        bits, swap = _COND[op]
        fields = compact.split(",")
        if len(fields) not in (2, 3):
            raise _error(f"'{op}' takes #k or x, then one or two labels", no, raw)
        src = fields[0]
        if src.lower() in ("x", "%x"):
            code, k = 0x05 | bits | 0x08, 0
        elif src.startswith("#"):
            code, k = 0x05 | bits, _num(src[1:], no, raw)
        else:
            raise _error(f"'{op}' compares with #k or x, not {src!r}", no, raw)
        jt: str | int = fields[1]
        jf: str | int = fields[2] if len(fields) == 3 else 0
        if swap:
            jt, jf = jf, jt
        return _Pending(code, k & M32, jt, jf, no, raw)
    if op in _ALU_NAMES:
        bits = next(c for c, i in CODES.items() if i.name == op and c & 0x07 == 4 and not c & 0x08)
        if compact.lower() in ("x", "%x"):
            return done(bits | 0x08)
        if compact.startswith("#"):
            return done(bits, _num(compact[1:], no, raw))
        raise _error(f"'{op}' takes #k or x", no, raw)
    if op in ("neg", "tax", "txa") and not compact:
        return done({"neg": 0x84, "tax": 0x07, "txa": 0x87}[op])
    if op == "ret":
        if compact.lower() in ("a", "%a"):
            return done(0x16)
        if compact.startswith("#"):
            return done(0x06, _num(compact[1:], no, raw))
        raise _error("'ret' takes #k or a", no, raw)
    raise _error(f"unknown instruction {op!r}", no, raw)


def _asm_load(op: str, arg: str, no: int, raw: str, done: Callable[..., _Pending]) -> _Pending:
    size = {"ld": 0x00, "ldh": 0x08, "ldb": 0x10, "ldi": 0x00}.get(op, 0)
    is_x = op.startswith("ldx")
    cls = 0x01 if is_x else 0x00
    low = arg.lower()
    if op in ("ldi", "ldxi"):
        return done(cls, _num(arg.lstrip("#"), no, raw))
    if m := re.fullmatch(r"(?:4\*)?\(?\[(-?\w+)\]&0xf\)?", low) if is_x else None:
        if not arg.startswith("4*("):
            raise _error("MSH load is written 4*([k]&0xf)", no, raw)
        return done(0xB1, _num(m.group(1), no, raw))
    if low in ("#len", "len"):
        return done(cls | 0x80)
    if (ext := low.lstrip("#")) in _ASM_ANC and not is_x:
        anc = _ASM_ANC[ext]
        if anc is not None:
            return done(BPF_LD | size | BPF_ABS, anc.k)
    if m := re.fullmatch(r"M\[(-?\w+)\]", arg):
        return done(cls | 0x60, _num(m.group(1), no, raw))
    if arg.startswith("#"):
        return done(cls, _num(arg[1:], no, raw))
    if not is_x:
        if m := re.fullmatch(r"\[%?x\+(-?\w+)\]", low):
            return done(BPF_LD | size | BPF_IND, _num(m.group(1), no, raw))
        if m := re.fullmatch(r"\[(-?\w+)\]", low):
            return done(BPF_LD | size | BPF_ABS, _num(m.group(1), no, raw))
    raise _error(f"cannot read operand {arg!r} of '{op}'", no, raw)


FORMATS: dict[str, tuple[Callable[[Sequence[SockFilter]], str], Callable[[str], list[SockFilter]]]] = {
    "dd": (format_dd, parse_dd),
    "ddd": (format_ddd, parse_ddd),
    "listing": (format_listing, parse_listing),
    "asm": (format_asm, parse_asm),
}


def parse_any(text: str) -> list[SockFilter]:
    """Read a program in whichever of the four formats ``text`` is."""
    body = text.strip()
    if body.startswith("{") or re.search(r"^\s*\{\s*0x", body, re.M):
        return parse_dd(text)
    if body.startswith("(0"):
        return parse_listing(text)
    if re.fullmatch(r"\d+(\s*[,\n]\s*\d+ \d+ \d+ \d+)*\s*,?", body):
        return parse_ddd(text)
    return parse_asm(text)

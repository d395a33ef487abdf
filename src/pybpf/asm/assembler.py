"""Assemble text into a :class:`~pybpf.isa.Program`: parse each line, then resolve labels.

Labels are defined by ``name:`` lines (or ``0000000000000070 <name>:``
headers from llvm-objdump) and refer to the slot of the next instruction.
A jump or local call may name a label instead of giving a relative offset;
offsets count slots from the next instruction, so an LD_IMM64 counts twice.
As in bpf_conformance, the first ``exit`` is also an implicit label ``exit``
unless a label of that name is defined.
"""

from __future__ import annotations

from ..errors import AsmError
from ..isa.insn import Insn, Program
from .parser import Stmt, detect_syntax, parse_line, split_line
from .syntax import check_syntax

__all__ = ["assemble"]

_EXIT = 0x95


def assemble(text: str, *, syntax: str = "auto") -> Program:
    """Assemble ``text`` written in ``syntax`` (``auto``, ``llvm``, ``kernel`` or ``ubpf``).

    Labels end up in ``Program.labels`` ({pc: name}); each instruction's
    ``meta`` holds its source ``line`` and, where present, the ``label``
    defined at it and the ``target`` label it refers to.  Errors are
    :class:`~pybpf.errors.AsmError` with 1-based ``line`` and ``column``.

    >>> [str(i) for i in assemble("mov %r0, 3\\nexit")]
    ['r0 = 3', 'exit']
    >>> assemble("r0 = 1 ll\\nif r0 > 3 goto +1\\nr0 = 0\\nexit").slot_count
    5
    >>> assemble("r0 = 1\\ngoto nowhere")
    Traceback (most recent call last):
      ...
    pybpf.errors.AsmError: line 2, column 6: unknown label 'nowhere'
        goto nowhere
             ^
    """
    check_syntax(syntax, allow_auto=True)
    if syntax == "auto":
        syntax = detect_syntax(text)
    stmts: list[Stmt] = []
    labels: dict[int, str] = {}
    label_pcs: dict[str, int] = {}
    pending: list[str] = []
    implicit_exit: int | None = None
    pc = 0
    lines = text.splitlines()
    for lineno, source in enumerate(lines, 1):
        sl = split_line(source)
        for name, col in sl.labels:
            if name in label_pcs:
                raise AsmError(f"label {name!r} defined twice", line=lineno, column=col + 1, text=source)
            label_pcs[name] = pc
            labels.setdefault(pc, name)
            pending.append(name)
        if not sl.insn_text:
            continue
        st = parse_line(sl, syntax, lineno, source)
        meta: dict[str, object] = {"line": lineno}
        if pending:
            meta["label"] = pending[0]
            pending = []
        if st.target is not None:
            meta["target"] = st.target
        st.insn = st.insn.with_meta(**meta)
        stmts.append(st)
        if st.insn.opcode == _EXIT and implicit_exit is None:
            implicit_exit = pc
        pc += st.insn.width
    insns = [_resolve(st, label_pcs, implicit_exit, pc_of, lines)
             for st, pc_of in zip(stmts, _pcs(stmts), strict=True)]
    return Program(insns, labels=labels)


def _pcs(stmts: list[Stmt]) -> list[int]:
    out = []
    pc = 0
    for st in stmts:
        out.append(pc)
        pc += st.insn.width
    return out


def _resolve(st: Stmt, label_pcs: dict[str, int], implicit_exit: int | None, pc: int,
             lines: list[str]) -> Insn:
    if st.target is None:
        return st.insn
    target = label_pcs.get(st.target)
    if target is None and st.target == "exit":
        target = implicit_exit
    if target is None:
        raise AsmError(f"unknown label {st.target!r}", line=st.line, column=st.target_column,
                       text=lines[st.line - 1])
    rel = target - (pc + 1)
    if st.target_field == "off":
        if not -(1 << 15) <= rel < (1 << 15):
            raise AsmError(f"jump to {st.target!r} is {rel} slots away, beyond a 16-bit offset",
                           line=st.line, column=st.target_column, text=lines[st.line - 1])
        return st.insn.replace(off=rel)
    return st.insn.replace(imm=rel)

"""Rewrite programs by instructions and symbolic targets, never by offsets.

A :class:`Linker` collects instructions whose jump/call targets are *keys*
(any hashable value) and places *labels* (keys) between them; :meth:`Linker.link`
then computes every slot and fills in ``off``/``imm``.  Importing a
:class:`~pybpf.isa.Program` turns each of its relative offsets into the key
``(tag, old_index)`` of the instruction it reaches, so inserting or replacing
instructions anywhere keeps every jump, local call and callback reference
pointing where it pointed before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from ..errors import EncodeError
from ..isa import Class, Form, Insn, Program

__all__ = ["Linker", "import_targets", "rewrite"]


@dataclass(frozen=True, slots=True)
class _Item:
    insn: Insn
    target: Hashable | None


class Linker:
    """An instruction list with symbolic jump targets."""

    def __init__(self) -> None:
        self._items: list[_Item] = []
        self._labels: dict[Hashable, int] = {}

    def label(self, key: Hashable) -> None:
        """Put ``key`` at the next instruction emitted."""
        if key in self._labels:
            raise EncodeError(f"label {key!r} placed twice")
        self._labels[key] = len(self._items)

    def emit(self, insn: Insn, target: Hashable | None = None) -> None:
        """Append ``insn``; if ``target`` is given its offset will reach that label."""
        self._items.append(_Item(insn, target))

    def extend(self, insns: Sequence[Insn]) -> None:
        for insn in insns:
            self.emit(insn)

    def __len__(self) -> int:
        return len(self._items)

    def link(self, *, name: str = "") -> Program:
        """Resolve every target; EncodeError for an unknown label or a too-far jump."""
        slots: list[int] = []
        pc = 0
        for item in self._items:
            slots.append(pc)
            pc += item.insn.width
        slots.append(pc)  # a label after the last instruction
        out: list[Insn] = []
        for i, item in enumerate(self._items):
            insn = item.insn
            if item.target is not None:
                if item.target not in self._labels:
                    raise EncodeError(f"unresolved target {item.target!r}")
                rel = slots[self._labels[item.target]] - (slots[i] + 1)
                insn = _with_offset(insn, rel)
            out.append(insn)
        return Program(out, name=name)


def _with_offset(insn: Insn, rel: int) -> Insn:
    """``insn`` with its relative target set to ``rel`` in the right field."""
    form = insn.form
    if form is Form.JCOND or (form is Form.JA and insn.cls is Class.JMP):
        if not -(1 << 15) <= rel < (1 << 15):
            raise EncodeError(f"jump offset {rel} does not fit 16 bits")
        return insn.replace(off=rel)
    if form is Form.LD_IMM64:  # PSEUDO_FUNC: the offset is the low 32 bits
        return insn.replace(imm=(insn.imm & ~0xFFFF_FFFF) | (rel & 0xFFFF_FFFF))
    if form in (Form.JA, Form.CALL):  # gotol and local calls: 32-bit imm
        return insn.replace(imm=rel)
    raise EncodeError(f"opcode {insn.opcode:#04x} has no jump target")


def import_targets(program: Program, tag: Hashable) -> list[tuple[Insn, Hashable | None]]:
    """Each instruction of ``program`` with its target as key ``(tag, index)``.

    Put ``linker.label((tag, i))`` before (the replacement of) instruction
    ``i`` for every ``i`` that some instruction targets.
    """
    out: list[tuple[Insn, Hashable | None]] = []
    for pc, insn in program.items():
        target = insn.jump_target(pc)
        if insn.form is Form.LD_IMM64 and insn.src != 4:
            target = None
        key: Hashable | None = None
        if target is not None:
            index = program.index_of(target)
            if index is None:
                if target == program.slot_count:
                    index = len(program)
                else:
                    raise EncodeError(f"pc {pc}: target {target} is not the start of an instruction")
            key = (tag, index)
        out.append((insn, key))
    return out


def rewrite(program: Program, replace: Callable[[int, Insn], Sequence[Insn] | None], *,
            tag: Hashable = "old") -> Program:
    """``program`` with instruction ``i`` replaced by ``replace(i, insn)`` when not None.

    Jumps into a replaced instruction land on the first instruction of its
    replacement.  A replacement may jump only within itself (its offsets are
    kept as given), and replacing a jump drops its symbolic target.
    """
    linker = Linker()
    for i, (insn, key) in enumerate(import_targets(program, tag)):
        linker.label((tag, i))
        new = replace(i, insn)
        if new is None:
            linker.emit(insn, key)
        else:
            linker.extend(new)
    linker.label((tag, len(program)))
    return linker.link(name=program.name)

"""Read the code sections of a BPF ELF object (what ``clang -target bpf -c`` writes).

This is the minimal reader ``pybpf disasm OBJ`` needs: for every executable
section, its bytes, the byte order, the symbols that fall inside it
(functions and the ``LBB*`` labels LLVM keeps) and its relocations.  The
container is read by :mod:`.reader` (pyelftools, shared with the loader),
so a damaged file is an :class:`~pybpf.errors.ElfError` here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ElfError
from .reader import EM_BPF, is_elf, open_elf

__all__ = ["EM_BPF", "CodeSection", "ElfError", "Relocation", "is_elf", "read_code_sections"]


@dataclass(frozen=True, slots=True)
class Relocation:
    """One relocation in a code section: byte ``offset`` in the section, ELF type, symbol."""

    offset: int
    type: int
    symbol: str

    @property
    def pc(self) -> int:
        return self.offset // 8


@dataclass(frozen=True, slots=True)
class CodeSection:
    """An executable section: ``data`` in ``byteorder`` ("little" for bpfel, "big" for bpfeb).

    ``functions`` maps byte offsets to function symbols (``STT_FUNC``);
    ``labels`` maps byte offsets to every named symbol in the section
    (functions first when two share an offset), as llvm-objdump shows them.
    """

    name: str
    index: int
    data: bytes
    byteorder: str
    functions: dict[int, str]
    labels: dict[int, str]
    relocations: tuple[Relocation, ...]

    @property
    def size(self) -> int:
        """Length in bytes."""
        return len(self.data)

    @property
    def slot_labels(self) -> dict[int, str]:
        """``labels`` keyed by instruction slot, ready for ``Program(labels=...)``."""
        return {off // 8: name for off, name in self.labels.items() if off % 8 == 0}


def read_code_sections(source: bytes | str | Path) -> list[CodeSection]:
    """Every executable section with content, in section-header order.

    Raises :class:`ElfError` for a non-ELF file, a machine other than BPF
    (247), or a file that cannot be parsed.  Unlike the loader, any ELF type
    is accepted: a disassembler has no reason to refuse a linked object.
    """
    data = Path(source).read_bytes() if isinstance(source, str | Path) else bytes(source)
    elf = open_elf(data, relocatable=False)
    result = []
    for sec in elf.sections:
        if not sec.is_code or not sec.data:
            continue
        syms = sorted(((s.value, s.name, s.type == "STT_FUNC") for s in elf.symbols_in(sec)
                       if s.name and s.type != "STT_SECTION"),
                      key=lambda s: (s[0], not s[2], s[1]))
        labels: dict[int, str] = {}
        for value, name, _is_func in syms:
            labels.setdefault(value, name)
        relocs = []
        for rel in elf.relocations_for(sec):
            for entry in elf.relocations(rel):
                name = ""  # symbol 0 is the null symbol: a relocation with no target
                if entry.symbol:
                    name = elf.symbol(entry.symbol, section=sec.name, relocation=entry.index).name
                relocs.append(Relocation(entry.offset, entry.type, name))
        result.append(CodeSection(
            name=sec.name,
            index=sec.index,
            data=sec.data,
            byteorder=elf.byteorder,
            functions={v: n for v, n, f in syms if f},
            labels=labels,
            relocations=tuple(sorted(relocs, key=lambda r: r.offset)),
        ))
    return result

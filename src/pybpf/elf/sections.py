"""Read the code sections of a BPF ELF object (what ``clang -target bpf -c`` writes).

This is the minimal reader ``pybpf disasm OBJ`` needs, and the base of the
full loader: for every executable section, its bytes, the byte order, the
symbols that fall inside it (functions and the ``LBB*`` labels LLVM keeps)
and its relocations.  pyelftools does the parsing; everything it can raise on
a damaged file is turned into :class:`ElfError`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from ..errors import PyBpfError

__all__ = ["EM_BPF", "CodeSection", "ElfError", "Relocation", "is_elf", "read_code_sections"]

EM_BPF = 247
_SHF_EXECINSTR = 0x4
ELF_MAGIC = b"\x7fELF"


class ElfError(PyBpfError, ValueError):
    """Input that is not an ELF object for the BPF machine, or a damaged one."""


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


def is_elf(data: bytes) -> bool:
    return data[:4] == ELF_MAGIC


def read_code_sections(source: bytes | str | Path) -> list[CodeSection]:
    """Every executable section with content, in section-header order.

    Raises :class:`ElfError` for a non-ELF file, a machine other than BPF
    (247), or a file pyelftools cannot parse.
    """
    data = Path(source).read_bytes() if isinstance(source, str | Path) else bytes(source)
    if not is_elf(data):
        raise ElfError("not an ELF file (bad magic)")
    try:
        from elftools.common.exceptions import ELFError as _PyElfError
        from elftools.elf.elffile import ELFFile
        from elftools.elf.relocation import RelocationSection
        from elftools.elf.sections import SymbolTableSection
    except ImportError as e:  # pragma: no cover - pyelftools is a dependency
        raise ElfError(f"pyelftools is needed to read ELF files: {e}") from None
    try:
        elf = ELFFile(io.BytesIO(data))
        machine = elf["e_machine"]
        if machine not in ("EM_BPF", EM_BPF):
            raise ElfError(f"not a BPF object (machine {machine})")
        byteorder = "little" if elf.little_endian else "big"
        sections = list(elf.iter_sections())
        symbols: dict[int, list[tuple[int, str, bool]]] = {}
        for sec in sections:
            if isinstance(sec, SymbolTableSection):
                for sym in sec.iter_symbols():
                    shndx = sym["st_shndx"]
                    kind = sym["st_info"]["type"]
                    if not isinstance(shndx, int) or not sym.name or kind == "STT_SECTION":
                        continue
                    symbols.setdefault(shndx, []).append((sym["st_value"], sym.name, kind == "STT_FUNC"))
        relocs: dict[int, list[Relocation]] = {}
        for sec in sections:
            if isinstance(sec, RelocationSection):
                target = sec["sh_info"]
                symtab = elf.get_section(sec["sh_link"])
                out = relocs.setdefault(target, [])
                for rel in sec.iter_relocations():
                    name = ""
                    if isinstance(symtab, SymbolTableSection) and rel["r_info_sym"]:
                        sym = symtab.get_symbol(rel["r_info_sym"])
                        name = sym.name or (
                            sections[sym["st_shndx"]].name if isinstance(sym["st_shndx"], int) else "")
                    out.append(Relocation(rel["r_offset"], rel["r_info_type"], name))
        result = []
        for index, sec in enumerate(sections):
            if not sec["sh_flags"] & _SHF_EXECINSTR or sec["sh_type"] != "SHT_PROGBITS":
                continue
            body = sec.data()
            if not body:
                continue
            syms = sorted(symbols.get(index, []), key=lambda s: (s[0], not s[2], s[1]))
            labels: dict[int, str] = {}
            for value, name, _is_func in syms:
                labels.setdefault(value, name)
            result.append(CodeSection(
                name=sec.name,
                index=index,
                data=body,
                byteorder=byteorder,
                functions={v: n for v, n, f in syms if f},
                labels=labels,
                relocations=tuple(sorted(relocs.get(index, []), key=lambda r: r.offset)),
            ))
        return result
    except ElfError:
        raise
    except (_PyElfError, KeyError, IndexError, ValueError, TypeError, AttributeError,
            AssertionError) as e:
        raise ElfError(f"malformed ELF file: {e}") from None
    except Exception as e:  # construct's stream errors and friends have no common base
        raise ElfError(f"malformed ELF file: {e}") from None

"""The ELF container of a BPF object, read with pyelftools: sections, symbols, relocations.

The one place pybpf touches ELF structure; the disassembler's code-section
reader (:mod:`.sections`) and the loader (:mod:`.loader`) both start here.

pyelftools parses; this module adds what a loader of untrusted objects
needs on top:

* every failure pyelftools (or the ``construct`` and ``struct`` code under
  it) can raise on a damaged file comes out as :class:`~pybpf.errors.ElfError`
  naming the section, symbol or relocation being read;
* a few header checks it does not make (a section's contents or name past
  the end of its table, symbol tables with a foreign entry size), so corrupt
  input fails here, with a location, rather than reading neighbouring bytes;
* sections and symbols are copied into small frozen records once, so later
  stages never call back into pyelftools (whose lazy reads could fail
  anywhere).  Relocations are read on demand: only those of the sections a
  caller uses matter (``.rel.debug_*`` may be anything).

Type fields keep pyelftools' spelling (``"SHT_PROGBITS"``, ``"STT_FUNC"``),
or the number when the value has no name.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType

from elftools.common.exceptions import ELFError as _PyElfError
from elftools.common.utils import struct_parse
from elftools.construct import ConstructError
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_ST_SHNDX
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import Section as _PySection
from elftools.elf.sections import Symbol as _PySymbol
from elftools.elf.sections import SymbolTableSection

from ..errors import ElfError

__all__ = [
    "EM_BPF",
    "ELF_MAGIC",
    "SHF_ALLOC",
    "SHF_EXECINSTR",
    "SHF_WRITE",
    "SHN_LORESERVE",
    "SHN_UNDEF",
    "ElfObject",
    "RelocationEntry",
    "Section",
    "Symbol",
    "is_elf",
    "open_elf",
    "reading",
]

EM_BPF = 247
ELF_MAGIC = b"\x7fELF"
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4
SHN_UNDEF, SHN_LORESERVE = 0, 0xFF00
_EHDR_SIZE = 64  # ELF64 header
_SHDR_SIZE = 64  # ELF64 section header
_SYM_SIZE = 24  # Elf64_Sym
_REL_SIZE = {"SHT_REL": 16, "SHT_RELA": 24}

# What pyelftools and the layers under it raise on input they cannot make
# sense of.  Our own ElfError is a ValueError too: it is let through first.
_PARSE_ERRORS: tuple[type[BaseException], ...] = (
    _PyElfError,  # ELFParseError, ELFCompressionError ...
    ConstructError,
    struct.error,
    zlib.error,  # SHF_COMPRESSED sections
    KeyError,
    IndexError,
    ValueError,  # UnicodeDecodeError included
    TypeError,
    AssertionError,  # pyelftools' internal isinstance checks
    ArithmeticError,  # OverflowError (a seek to 2**64), ZeroDivisionError
    MemoryError,  # a size field claiming gigabytes
    RecursionError,
)


def is_elf(data: bytes) -> bool:
    """Whether ``data`` starts with the ELF magic."""
    return data[:4] == ELF_MAGIC


@contextmanager
def reading(what: str, *, section: str | None = None, relocation: int | None = None,
            symbol: str | None = None) -> Iterator[None]:
    """Turn any low-level parse failure inside the block into an :class:`ElfError` at this place."""
    try:
        yield
    except ElfError:
        raise
    except _PARSE_ERRORS as exc:
        detail = str(exc) or type(exc).__name__
        raise ElfError(f"{what}: {detail}", section=section, relocation=relocation,
                       symbol=symbol) from exc


@dataclass(frozen=True, slots=True)
class Section:
    """One section header and its contents (empty for ``SHT_NOBITS``)."""

    index: int
    name: str
    type: str | int
    flags: int
    size: int  # sh_size for SHT_NOBITS, else len(data)
    link: int
    info: int
    entsize: int
    data: bytes

    @property
    def is_code(self) -> bool:
        """An executable ``SHT_PROGBITS`` section: BPF instructions."""
        return self.type == "SHT_PROGBITS" and bool(self.flags & SHF_EXECINSTR)

    @property
    def is_relocation(self) -> bool:
        return self.type in _REL_SIZE


@dataclass(frozen=True, slots=True)
class Symbol:
    """One symbol table entry.  ``shndx`` is numeric (``SHN_UNDEF`` is 0).

    A nameless ``STT_SECTION`` symbol takes its section's name, as
    llvm-objdump shows it.
    """

    index: int
    name: str
    value: int
    size: int
    type: str | int
    bind: str | int
    shndx: int


@dataclass(frozen=True, slots=True)
class RelocationEntry:
    """Entry ``index`` of a relocation section: ``offset`` in the target section, type, symbol index."""

    index: int
    offset: int
    type: int
    symbol: int


class ElfObject:
    """An opened BPF ELF object: its sections and symbols, and relocations on demand."""

    def __init__(self, elf: ELFFile, byteorder: str, sections: tuple[Section, ...],
                 symbols: tuple[Symbol, ...]) -> None:
        self._elf = elf
        self.byteorder = byteorder
        self.sections = sections
        self.symbols = symbols
        # Last one wins on duplicate names, as the loader always did; loaders
        # reject duplicates where they matter.
        self.by_name: Mapping[str, Section] = MappingProxyType({s.name: s for s in sections})

    def symbol(self, index: int, *, section: str, relocation: int) -> Symbol:
        """The symbol a relocation names; ``section`` and ``relocation`` say which, for the error."""
        if not 0 <= index < len(self.symbols):
            raise ElfError(f"symbol index {index} out of range ({len(self.symbols)} symbols)",
                           section=section, relocation=relocation)
        return self.symbols[index]

    def symbols_in(self, section: Section) -> Iterator[Symbol]:
        return (s for s in self.symbols if s.shndx == section.index)

    def relocations_for(self, target: Section) -> Iterator[Section]:
        """The relocation sections whose ``sh_info`` designates ``target``."""
        return (s for s in self.sections if s.is_relocation and s.info == target.index)

    def relocations(self, rel: Section) -> list[RelocationEntry]:
        """The entries of a ``SHT_REL``/``SHT_RELA`` section, in order."""
        entry = _REL_SIZE.get(rel.type) if isinstance(rel.type, str) else None
        if entry is None:
            raise ElfError(f"section of type {rel.type} holds no relocations", section=rel.name)
        if rel.size % entry:
            raise ElfError(f"relocation section size {rel.size} is not a multiple of ELF64's "
                           f"{entry}-byte entries", section=rel.name)
        out: list[RelocationEntry] = []
        with reading("cannot read relocations", section=rel.name):
            table = self._elf.get_section(rel.index)
            if not isinstance(table, RelocationSection):
                raise ElfError("not a relocation section", section=rel.name)
            for i, r in enumerate(table.iter_relocations()):
                out.append(RelocationEntry(i, r["r_offset"], r["r_info_type"], r["r_info_sym"]))
        return out


def open_elf(data: bytes, *, relocatable: bool = True) -> ElfObject:
    """Open a BPF ELF64 object (either byte order); ``relocatable`` also demands ``ET_REL``.

    Raises :class:`ElfError` for anything that is not a readable ELF64
    object for EM_BPF.
    """
    if len(data) < _EHDR_SIZE:
        raise ElfError(f"not an ELF object: {len(data)} bytes is shorter than an ELF64 header")
    if not is_elf(data):
        raise ElfError(f"not an ELF object: bad magic {data[:4].hex()}")
    # pyelftools reads ELF32 too, and would only fail later on the 64-bit sizes.
    if data[4] != 2:
        raise ElfError(f"not a 64-bit ELF object (EI_CLASS={data[4]}); BPF objects are ELF64")
    if data[5] not in (1, 2):
        raise ElfError(f"unknown ELF data encoding EI_DATA={data[5]}")
    with reading("cannot read the ELF header"):
        elf = ELFFile(io.BytesIO(data))
        machine, etype = elf["e_machine"], elf["e_type"]
        shoff, shentsize = elf["e_shoff"], elf["e_shentsize"]
    if machine not in ("EM_BPF", EM_BPF):
        raise ElfError(f"not a BPF object: ELF machine is {machine}, not EM_BPF ({EM_BPF})")
    if relocatable and etype != "ET_REL":
        raise ElfError(f"ELF type is {etype}, not a relocatable object (ET_REL)")
    if shoff == 0:
        raise ElfError("ELF object has no section header table")
    if shentsize != _SHDR_SIZE:
        raise ElfError(f"ELF section header size is {shentsize}, not {_SHDR_SIZE}")
    with reading("cannot read the section header table"):
        count = elf.num_sections()  # follows extended numbering (e_shnum == 0)
        names_index = elf.get_shstrndx()
    if shoff + count * _SHDR_SIZE > len(data):
        raise ElfError(f"section header table ({count} entries at {shoff:#x}) runs past the end of the file "
                       f"({len(data)} bytes)")
    if not 0 < names_index < count:
        raise ElfError(f"section name table index {names_index} out of range ({count} sections)")
    names = _section(elf, names_index, len(data), None).data
    sections = tuple(_section(elf, i, len(data), names) for i in range(count))
    byteorder = "little" if elf.little_endian else "big"
    return ElfObject(elf, byteorder, sections, _symbols(elf, sections))


def _section(elf: ELFFile, index: int, file_size: int, names: bytes | None) -> Section:
    """Section ``index``; ``names`` (the section name table) is None while reading that table itself."""
    try:
        sec: _PySection = elf.get_section(index)
        name: str = sec.name
        typ = sec["sh_type"]
        name_off, offset, size = sec["sh_name"], sec["sh_offset"], sec["sh_size"]
        flags, link, info, entsize = sec["sh_flags"], sec["sh_link"], sec["sh_info"], sec["sh_entsize"]
    except _PARSE_ERRORS as exc:
        # pyelftools checks some headers as it builds the section (a SHT_REL
        # entry size, a symbol table's link): name the section if we can.
        name_or_none = _name_of(elf, index, names)
        what = f"section #{index}" if name_or_none is None else "the section"
        raise ElfError(f"cannot read {what}: {exc}", section=name_or_none) from exc
    # pyelftools would read a name past its table from whatever follows.
    if names is not None and name_off >= len(names) and name_off != 0:
        raise ElfError(f"section #{index}: name offset {name_off} outside the section name table "
                       f"({len(names)} bytes)")
    if typ in ("SHT_NOBITS", "SHT_NULL"):
        # No contents in the file (pyelftools would build sh_size zero bytes for NOBITS).
        size = size if typ == "SHT_NOBITS" else 0
        return Section(index, name, typ, flags, size, link, info, entsize, b"")
    # pyelftools reads what is there and returns it short: check first.
    if not sec.compressed and offset + size > file_size:
        raise ElfError(f"contents [{offset:#x}, +{size:#x}) run past the end of the file ({file_size} bytes)",
                       section=name)
    with reading("cannot read the contents", section=name):
        body = sec.data()
    return Section(index, name, typ, flags, len(body), link, info, entsize, body)


def _name_of(elf: ELFFile, index: int, names: bytes | None) -> str | None:
    """Best effort: the name of a section pyelftools could not build, for the error."""
    if names is None:
        return None
    try:
        header = struct_parse(elf.structs.Elf_Shdr, elf.stream, elf["e_shoff"] + index * _SHDR_SIZE)
        off: int = header["sh_name"]
    except _PARSE_ERRORS:
        return None
    if not 0 <= off < len(names):
        return None
    return names[off:].split(b"\0", 1)[0].decode("utf-8", errors="replace")


def _symbols(elf: ELFFile, sections: tuple[Section, ...]) -> tuple[Symbol, ...]:
    tabs = [s for s in sections if s.type == "SHT_SYMTAB"]
    if not tabs:
        return ()
    if len(tabs) > 1:
        raise ElfError("more than one symbol table", section=tabs[1].name)
    tab = tabs[0]
    if tab.entsize != _SYM_SIZE or tab.size % _SYM_SIZE:
        raise ElfError(f"symbol table entry size {tab.entsize} / size {tab.size} is not ELF64's {_SYM_SIZE}",
                       section=tab.name)
    if not 0 < tab.link < len(sections):
        raise ElfError(f"symbol table's string table index {tab.link} out of range", section=tab.name)
    names_size = sections[tab.link].size
    out: list[Symbol] = []
    with reading("cannot read the symbol table", section=tab.name):
        table = elf.get_section(tab.index)
        if not isinstance(table, SymbolTableSection):
            raise ElfError("not a symbol table", section=tab.name)
        for i, sym in enumerate(table.iter_symbols()):
            if sym["st_name"] >= names_size and sym["st_name"] != 0:
                raise ElfError(f"symbol #{i}: name offset {sym['st_name']} outside the string table "
                               f"({names_size} bytes)", section=tab.name)
            out.append(_symbol(i, sym, sections))
    return tuple(out)


def _symbol(index: int, sym: _PySymbol, sections: tuple[Section, ...]) -> Symbol:
    shndx = sym["st_shndx"]
    if isinstance(shndx, str):  # pyelftools names SHN_UNDEF, SHN_ABS and SHN_COMMON
        shndx = ENUM_ST_SHNDX[shndx]
    kind, bind = sym["st_info"]["type"], sym["st_info"]["bind"]
    name: str = sym.name
    if kind == "STT_SECTION" and not name and 0 < shndx < len(sections):
        name = sections[shndx].name
    return Symbol(index, name, sym["st_value"], sym["st_size"], kind, bind, shndx)

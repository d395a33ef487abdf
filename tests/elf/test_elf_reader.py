"""The pyelftools-based container layer shared by load_spec and read_code_sections."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

import pybpf.elf
from pybpf.elf import ElfError, load_spec, read_code_sections
from pybpf.elf.reader import open_elf
from pybpf.errors import ElfError as RootElfError

DATA = Path(__file__).resolve().parents[1] / "data" / "elf"


def _raw(name: str, order: str) -> bytearray:
    return bytearray((DATA / f"{name}-{order}.o").read_bytes())


def _shdr(data: bytearray, name: str) -> int:
    """File offset of the section header of ``name``."""
    elf = ELFFile(io.BytesIO(bytes(data)))
    index = elf.get_section_index(name)
    assert index is not None
    return int(elf["e_shoff"]) + index * 64


def test_one_elf_error_class() -> None:
    import pybpf.elf.sections
    import pybpf.elf.spec

    assert ElfError is RootElfError is pybpf.elf.sections.ElfError is pybpf.elf.spec.ElfError


def test_package_exports() -> None:
    for name in ("load_spec", "ObjectSpec", "ProgramSpec", "MapReference", "ElfError", "format_value",
                 "to_ctypes", "EM_BPF", "CodeSection", "Relocation", "is_elf", "read_code_sections"):
        assert name in pybpf.elf.__all__ and hasattr(pybpf.elf, name)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_sections_and_symbols_match_pyelftools(order: str) -> None:
    data = bytes(_raw("subprog", order))
    ours = open_elf(data)
    theirs = ELFFile(io.BytesIO(data))
    assert ours.byteorder == ("little" if order == "el" else "big")
    assert [s.name for s in ours.sections] == [s.name for s in theirs.iter_sections()]
    for sec, ref in zip(ours.sections, theirs.iter_sections(), strict=True):
        assert sec.type == ref["sh_type"]
        if sec.type != "SHT_NOBITS":
            assert sec.data == ref.data()
    funcs = {s.name for s in ours.symbols if s.type == "STT_FUNC"}
    assert {"nested_calls", "mix", "mix_twice"} <= funcs
    # Nameless section symbols carry their section's name.
    assert all(s.name for s in ours.symbols if s.type == "STT_SECTION" and s.shndx)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_relocations_read_on_demand(order: str) -> None:
    elf = open_elf(bytes(_raw("xdp_counter", order)))
    xdp = elf.by_name["xdp"]
    rels = [r for rel in elf.relocations_for(xdp) for r in elf.relocations(rel)]
    assert rels and [r.index for r in rels] == list(range(len(rels)))
    names = {elf.symbols[r.symbol].name for r in rels}
    assert "proto_counts" in names


@pytest.mark.parametrize("order", ["el", "eb"])
def test_bad_relocation_entry_size_names_the_section(order: str) -> None:
    data = _raw("xdp_counter", order)
    e = "<" if order == "el" else ">"
    struct.pack_into(e + "Q", data, _shdr(data, ".relxdp") + 56, 24)  # sh_entsize: RELA's, on a REL
    for read in (load_spec, read_code_sections):
        with pytest.raises(ElfError) as info:
            read(bytes(data))
        assert info.value.section == ".relxdp" and "sh_entsize" in str(info.value)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_contents_past_the_end_name_the_section(order: str) -> None:
    data = _raw("xdp_counter", order)
    e = "<" if order == "el" else ">"
    struct.pack_into(e + "Q", data, _shdr(data, "xdp") + 24, len(data))  # sh_offset at EOF
    with pytest.raises(ElfError) as info:
        load_spec(bytes(data))
    assert info.value.section == "xdp" and "past the end of the file" in str(info.value)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_symbol_name_outside_its_string_table(order: str) -> None:
    data = _raw("socket_filter", order)
    e = "<" if order == "el" else ">"
    symtab = ELFFile(io.BytesIO(bytes(data))).get_section_by_name(".symtab")
    assert symtab is not None
    struct.pack_into(e + "I", data, symtab["sh_offset"] + 24, 0x7FFF_FFF0)  # symbol #1's st_name
    with pytest.raises(ElfError) as info:
        load_spec(bytes(data))
    assert info.value.section == ".symtab" and "symbol #1: name offset" in str(info.value)


def test_code_sections_reader_accepts_linked_objects() -> None:
    data = _raw("socket_filter", "el")
    struct.pack_into("<H", data, 16, 2)  # ET_EXEC: the loader refuses it, the disassembler does not
    with pytest.raises(ElfError, match="ET_REL"):
        load_spec(bytes(data))
    assert [s.name for s in read_code_sections(bytes(data))] == ["socket"]

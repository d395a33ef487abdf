"""Bad input: every failure is an ElfError naming section, relocation and symbol."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pybpf.elf.loader import load_spec
from pybpf.elf.spec import ElfError
from pybpf.errors import PyBpfError

DATA = Path(__file__).resolve().parents[1] / "data" / "elf"


def _raw(name: str, order: str = "el") -> bytearray:
    return bytearray((DATA / f"{name}-{order}.o").read_bytes())


def _sections(data: bytes | bytearray) -> dict[str, tuple[int, int, int, int]]:
    """name -> (header offset, sh_offset, sh_size, sh_link) for a little- or big-endian ELF64."""
    e = "<" if data[5] == 1 else ">"
    shoff, = struct.unpack_from(e + "Q", data, 0x28)
    shnum, shstrndx = struct.unpack_from(e + "HH", data, 0x3C)
    hdrs = [struct.unpack_from(e + "IIQQQQIIQQ", data, shoff + i * 64) for i in range(shnum)]
    strtab_off = hdrs[shstrndx][4]
    out = {}
    for i, h in enumerate(hdrs):
        start = strtab_off + h[0]
        name = bytes(data[start : data.index(b"\0", start)]).decode()
        out[name] = (shoff + i * 64, h[4], h[5], h[6])
    return out


def _load_err(data: bytes | bytearray) -> ElfError:
    with pytest.raises(ElfError) as info:
        load_spec(bytes(data))
    return info.value


@pytest.mark.parametrize("order", ["el", "eb"])
def test_not_elf_and_truncated(order: str) -> None:
    assert "not an ELF" in str(_load_err(b""))
    assert "bad magic" in str(_load_err(b"MZ" + bytes(100)))
    data = _raw("xdp_counter", order)
    for cut in (10, 63, 64, 200, len(data) // 2, len(data) - 1):
        err = _load_err(data[:cut])
        assert isinstance(err, PyBpfError) and isinstance(err, ValueError)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_wrong_machine_and_class(order: str) -> None:
    data = _raw("socket_filter", order)
    e = "<" if order == "el" else ">"
    struct.pack_into(e + "H", data, 18, 62)  # EM_X86_64
    assert "EM_BPF" in str(_load_err(data))
    data = _raw("socket_filter", order)
    data[4] = 1  # ELFCLASS32
    assert "64-bit" in str(_load_err(data))
    data = _raw("socket_filter", order)
    struct.pack_into(e + "H", data, 16, 2)  # ET_EXEC
    assert "ET_REL" in str(_load_err(data))


def test_one_error_family() -> None:
    from pybpf.elf.sections import ElfError as SectionsElfError

    err = _load_err(b"")
    assert isinstance(err, SectionsElfError) and isinstance(err, PyBpfError) and isinstance(err, ValueError)


def test_missing_file() -> None:
    with pytest.raises(ElfError, match="cannot read"):
        load_spec(DATA / "no-such-object.o")


@pytest.mark.parametrize("order", ["el", "eb"])
def test_unknown_section_with_code(order: str) -> None:
    data = _raw("socket_filter", order)
    secs = _sections(data)
    shstr = secs[".strtab"][1]
    # Rename section "socket" to "sockex" in the section name table.
    idx = data.index(b"\0socket\0", shstr) + 1
    data[idx : idx + 6] = b"sockex"
    err = _load_err(data)
    assert err.section == "sockex" and err.symbol == "tcp_only"
    assert "unknown section with code" in str(err)
    spec = load_spec(bytes(data), prog_types={"sockex": "socket"})
    assert spec.programs["tcp_only"].section == "sockex"


def _reloc_entry(data: bytearray, rel_section: str, index: int = 0) -> tuple[int, str]:
    secs = _sections(data)
    return secs[rel_section][1] + 16 * index + 8, "<" if data[5] == 1 else ">"


@pytest.mark.parametrize("order", ["el", "eb"])
def test_relocation_against_unknown_symbol(order: str) -> None:
    data = _raw("xdp_counter", order)
    off, e = _reloc_entry(data, ".relxdp", 1)
    info, = struct.unpack_from(e + "Q", data, off)
    struct.pack_into(e + "Q", data, off, (9999 << 32) | (info & 0xFFFFFFFF))
    err = _load_err(data)
    assert (err.section, err.relocation) == ("xdp", 1)
    assert "symbol index 9999 out of range" in str(err)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_unsupported_relocation_type(order: str) -> None:
    data = _raw("xdp_counter", order)
    off, e = _reloc_entry(data, ".relxdp", 0)
    info, = struct.unpack_from(e + "Q", data, off)
    struct.pack_into(e + "Q", data, off, (info & ~0xFFFFFFFF) | 3)  # R_BPF_64_ABS32
    err = _load_err(data)
    assert err.section == "xdp" and err.relocation == 0 and err.symbol == "proto_counts"
    assert "R_BPF_64_ABS32" in str(err)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_relocation_on_wrong_instruction(order: str) -> None:
    data = _raw("xdp_counter", order)
    secs = _sections(data)
    e = "<" if order == "el" else ">"
    struct.pack_into(e + "Q", data, secs[".relxdp"][1], 0)  # offset 0: not an LD_IMM64
    err = _load_err(data)
    assert err.section == "xdp" and err.relocation == 0 and "not LD_IMM64" in str(err)
    assert "section 'xdp', relocation #0, offset 0x0, symbol 'proto_counts'" in str(err)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_relocation_against_undefined_symbol(order: str) -> None:
    err = _load_err(_raw("bad_extern", order))
    assert (err.section, err.relocation, err.symbol) == ("socket", 0, "LINUX_KERNEL_VERSION")
    assert "extern" in str(err)


@pytest.mark.parametrize("order", ["el", "eb"])
@pytest.mark.parametrize("name, section, symbol, match", [
    ("bad_btf_map_no_type", ".maps", "typeless", "no type"),
    ("bad_btf_map_unknown_field", ".maps", "odd", "unknown map field 'frobnicate'"),
    ("bad_legacy_short", "maps", None, "lack type/key_size/value_size/max_entries"),
])
def test_bad_map_definitions(order: str, name: str, section: str, symbol: str | None, match: str) -> None:
    err = _load_err(_raw(name, order))
    assert err.section == section and err.symbol == symbol
    assert match in str(err)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_btf_maps_without_btf(order: str) -> None:
    data = _raw("xdp_counter", order)
    secs = _sections(data)
    e = "<" if order == "el" else ">"
    hdr = secs[".BTF"][0]
    name, = struct.unpack_from(e + "I", data, hdr)
    struct.pack_into(e + "I", data, hdr, name + 1)  # ".BTF" becomes "BTF"
    err = _load_err(data)
    assert err.section == ".maps" and "need a .BTF section" in str(err)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_corrupt_btf_names_btf(order: str) -> None:
    data = _raw("xdp_counter", order)
    secs = _sections(data)
    data[secs[".BTF"][1]] ^= 0xFF  # magic
    err = _load_err(data)
    assert err.section == ".BTF" and "magic" in str(err)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_legacy_maps_bad_size(order: str) -> None:
    data = _raw("legacy_maps", order)
    secs = _sections(data)
    hdr = secs["maps"][0]
    e = "<" if order == "el" else ">"
    struct.pack_into(e + "Q", data, hdr + 32, 71)  # sh_size: 71 is not 2 records
    err = _load_err(data)
    assert err.section == "maps" and "not a multiple" in str(err)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_legacy_map_unknown_type(order: str) -> None:
    data = _raw("legacy_maps", order)
    secs = _sections(data)
    e = "<" if order == "el" else ">"
    struct.pack_into(e + "I", data, secs["maps"][1], 999)
    err = _load_err(data)
    assert err.section == "maps" and err.symbol == "acl" and "unknown map type 999" in str(err)


@pytest.mark.parametrize("order", ["el", "eb"])
def test_bad_instruction_in_code_section(order: str) -> None:
    data = _raw("socket_filter", order)
    secs = _sections(data)
    data[secs["socket"][1]] = 0xFF  # unknown opcode
    err = _load_err(data)
    assert err.section == "socket" and err.symbol == "tcp_only" and "0xff" in str(err)

"""``pybpf asm`` and ``pybpf disasm``.

``pybpf asm FILE [-o OUT.bin] [--syntax auto|llvm|kernel|ubpf] [--hex]``
    assembles FILE (``-`` for stdin) to raw instruction bytes, written to OUT
    or stdout, or printed as hex text (one 8-byte slot per line) with ``--hex``.
``pybpf disasm INPUT [--syntax llvm|kernel|ubpf] [--hex-input]``
    disassembles INPUT (``-`` for stdin): an ELF object (recognised by its
    magic; every code section is printed with its function labels, like
    ``llvm-objdump -d``), hex text (``--hex-input``, or input that is all hex
    digits and blanks), or raw bytes.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from ..asm import assemble, disassemble
from ..errors import PyBpfError
from ..isa import Program, decode, encode

__all__ = ["cmd_asm", "cmd_disasm", "parse_hex", "register"]


class InputError(PyBpfError, ValueError):
    """Input the command cannot read (missing file, bad hex text)."""


def register(sub: Any) -> None:
    """Add ``asm`` and ``disasm`` to the ``pybpf`` subcommands."""
    p = sub.add_parser("asm", help="assemble text to eBPF bytecode",
                       description="Assemble eBPF assembly (llvm, kernel or uBPF syntax) to bytecode.")
    p.add_argument("file", help="assembly source, or - for stdin")
    p.add_argument("-o", "--output", help="write the bytes to this file (default: stdout)")
    p.add_argument("--syntax", choices=("auto", "llvm", "kernel", "ubpf"), default="auto")
    p.add_argument("--hex", action="store_true", help="print hex text, one 8-byte slot per line")
    p.add_argument("--big-endian", action="store_true", help="encode for bpfeb")
    p.set_defaults(func=cmd_asm)

    d = sub.add_parser("disasm", help="disassemble bytecode or an ELF object",
                       description="Disassemble raw bytecode, hex text or a BPF ELF object.")
    d.add_argument("input", help="a .bin file, hex text, an ELF object, or - for stdin")
    d.add_argument("--syntax", choices=("llvm", "kernel", "ubpf"), default="llvm")
    d.add_argument("--hex-input", action="store_true", help="the input is hex text")
    d.add_argument("--big-endian", action="store_true", help="raw input is bpfeb (ELF says so itself)")
    d.set_defaults(func=cmd_disasm)


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as e:
        raise InputError(f"{name}: {e.strerror}") from None


def parse_hex(text: str) -> bytes:
    """Bytes from hex text: whitespace-separated bytes, ``0x`` prefixes allowed, or one long string.

    >>> parse_hex("b7  00 00 00 03 00 00 00\\n").hex()
    'b700000003000000'
    """
    tokens = [t[2:] if t.lower().startswith("0x") else t for t in text.split()]
    joined = "".join(tokens)
    if len(joined) % 2 or not re.fullmatch(r"[0-9a-fA-F]*", joined):
        raise InputError("input is not hex text (expected pairs of hex digits)")
    return bytes.fromhex(joined)


def _looks_hex(data: bytes) -> bool:
    return bool(data.strip()) and re.fullmatch(rb"(?:\s*(?:0[xX])?[0-9a-fA-F]+)+\s*", data) is not None


def cmd_asm(args: argparse.Namespace) -> int:
    text = _read(args.file).decode("utf-8", errors="replace")
    program = assemble(text, syntax=args.syntax)
    data = encode(program, byteorder="big" if args.big_endian else "little")
    if args.hex:
        lines = [data[i : i + 8].hex(" ") for i in range(0, len(data), 8)]
        out = "\n".join(lines) + ("\n" if lines else "")
        if args.output:
            Path(args.output).write_text(out)
        else:
            sys.stdout.write(out)
        return 0
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def cmd_disasm(args: argparse.Namespace) -> int:
    data = _read(args.input)
    from ..elf import is_elf, read_code_sections

    if not args.hex_input and is_elf(data):
        chunks = []
        for sec in read_code_sections(data):
            program = decode(sec.data, byteorder=sec.byteorder, validate=False)
            program = Program(program, labels=sec.slot_labels, name=sec.name)
            chunks.append(f"Disassembly of section {sec.name}:\n\n{_listing(program, args.syntax)}")
        sys.stdout.write("\n\n".join(chunks) + "\n")
        return 0
    if args.hex_input or _looks_hex(data):
        data = parse_hex(data.decode("ascii", errors="replace"))
    program = decode(data, byteorder="big" if args.big_endian else "little", validate=False)
    listing = disassemble(program, syntax=args.syntax)
    sys.stdout.write(listing + ("\n" if listing else ""))
    return 0


def _listing(program: Program, syntax: str) -> str:
    return disassemble(program, syntax=syntax)

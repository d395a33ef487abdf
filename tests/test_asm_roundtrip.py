"""Assembler/disassembler round trips, over the conformance programs and random ones.

For every program: ``assemble(disassemble(p, syntax=s), syntax=s) == p`` in
the llvm, kernel and ubpf syntaxes (and through ``syntax="auto"``).  The uBPF
files that hold both ``asm`` and ``raw`` (and no result) pin the encoding.
Also here: the ``.data`` parser's view of the shared files, and ``pybpf asm``.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings

from pybpf.asm import SYNTAXES, assemble, disassemble, format_insn, iter_lines
from pybpf.asm.syntax import ubpf_variants
from pybpf.errors import DecodeError
from pybpf.isa import OPCODES, Form, Insn, Program, decode, encode
from pybpf.testdata import DataFile, parse_data, parse_data_file
from strategies import opcode_infos, valid_insns, valid_programs

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
CONF = SHARED / "conformance"


def _data_files() -> list[Path]:
    if not CONF.is_dir():
        return []
    return sorted(CONF.glob("bpf_conformance/*.data")) + sorted(CONF.glob("ubpf/**/*.data"))


def _id(p: Path) -> str:
    return str(p.relative_to(CONF))


needs_shared = pytest.mark.skipif(not CONF.is_dir(), reason=f"shared conformance data not found at {CONF}")


_SHARED_ONLY = re.compile(r"^\s*(call [+-]?\d+|exit)\s*$")


def _round_trip(prog: Program, syntax: str) -> None:
    text = disassemble(prog, syntax=syntax)
    assert assemble(text, syntax=syntax) == prog, text
    if all(_SHARED_ONLY.match(line) for line in text.splitlines() if line.strip()):
        # "call -1" is a helper call in uBPF syntax and a local call in LLVM's: a text made
        # only of such lines names no syntax, so auto-detection cannot be asked to know.
        return
    assert assemble(text) == prog, f"auto-detection failed for\n{text}"


@needs_shared
@pytest.mark.parametrize("path", _data_files(), ids=_id)
def test_conformance_program_round_trip(path: Path) -> None:
    df = parse_data_file(path)
    if not df.asm:
        if not df.raw:
            pytest.skip("no program (pyelf test)")
        try:  # raw-only files are mostly malformed on purpose: they must still round-trip
            # (the first 4096 slots are enough: err-too-many-instructions repeats one insn)
            prog = decode(df.raw_bytes()[: 8 * 4096], validate=False)
        except DecodeError:
            pytest.skip("raw program that cannot be split into instructions")
        for syntax in SYNTAXES:
            _round_trip(prog, syntax)
        return
    prog = assemble(df.asm, syntax="ubpf")
    assert assemble(df.asm) == prog  # auto-detects uBPF syntax
    for syntax in SYNTAXES:
        _round_trip(prog, syntax)
    if df.kind == "asm-roundtrip":
        assert encode(prog) == df.raw_bytes()
        assert decode(df.raw_bytes(), validate=False) == prog


@needs_shared
def test_data_file_counts_match_readme() -> None:
    files = [parse_data_file(p) for p in _data_files()]
    bpfc = [f for f in files if f.path is not None and f.path.parent.name == "bpf_conformance"]
    ubpf = [f for f in files if f not in bpfc]
    assert len(bpfc) == 313 and len(ubpf) == 104
    assert all(f.runner_skip is None for f in bpfc)
    assert sum(f.runner_skip is None for f in ubpf) == 65  # README 5.2
    assert sum(f.kind == "asm-roundtrip" for f in ubpf) == 6
    assert sum(f.kind == "pyelf" for f in ubpf) == 21


@needs_shared
def test_data_file_directives() -> None:
    sack = parse_data_file(CONF / "ubpf" / "tcp-sack" / "pkt-sack.data") if (
        CONF / "ubpf" / "tcp-sack" / "pkt-sack.data").exists() else None
    for p in (CONF / "ubpf" / "tcp-sack").glob("*.data"):
        sack = parse_data_file(p)
        assert sack.asm_file == "tcp-sack.asm" and sack.asm and sack.mem_file
        assert sack.mem is not None and sack.mem[:4] == bytes.fromhex("0026622f")
        assert sack.runner_skip == "Test file has no BPF instructions"
    assert sack is not None
    oob = parse_data_file(CONF / "ubpf" / "errors" / "err-stack-oob.data")
    assert oob.error_is_pattern and oob.error and ".*" in oob.error
    assert oob.no_jit == "stack oob check not implemented"
    assert oob.result == 0xFFFF_FFFF_FFFF_FFFF
    assert oob.runner_skip == "Unknown directive: -- no jit"
    assert parse_data_file(CONF / "ubpf" / "reload.data").kind == "reload"


def test_data_parser_rules() -> None:
    text = ("# header comment\n-- asm\nmov %r0, 1 # c\n\nexit\r\n-- mem\n0x0000: 0102 03\nff\n"
            "-- result\n0x1\n0X2\n-- asm\nexit\n")
    df = parse_data(text)
    assert df.asm == "mov %r0, 1\nexit\nexit"
    assert df.mem == bytes([1, 2, 3, 0xFF])
    assert df.result == 2  # the last line wins
    assert df.sections == ("asm", "mem", "result", "asm")
    assert df.runner_skip is None
    assert parse_data("-- asm\nexit\n").runner_skip == "No result or error"
    assert parse_data("-- result\n1\n").runner_skip == "Test file has no BPF instructions"
    raw = parse_data("-- raw\n0x0000000000000095\n-- error\nboom\n")
    assert raw.raw_bytes() == bytes.fromhex("9500000000000000") and raw.error == "boom"
    assert isinstance(raw, DataFile)


@pytest.mark.parametrize("syntax", SYNTAXES)
@given(prog=valid_programs())
@settings(max_examples=120, deadline=None)
def test_random_program_round_trip(syntax: str, prog: Program) -> None:
    _round_trip(prog, syntax)


@pytest.mark.parametrize("syntax", SYNTAXES)
@given(insn=valid_insns())
@settings(max_examples=300, deadline=None)
def test_random_insn_round_trip(syntax: str, insn: Insn) -> None:
    assert list(assemble(format_insn(insn, syntax=syntax), syntax=syntax)) == [insn]


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_every_opcode_formats_and_parses(syntax: str) -> None:
    """Each OPCODES entry, in each of its uBPF variants (off/imm selectors), both ways."""
    for info in opcode_infos():
        for v in ubpf_variants(info):
            dst = 0 if info.dsts is not None else 3
            src = 0 if info.srcs is not None else 4
            off = v.off if v.off is not None else (0 if info.offs is not None else -7)
            imm = v.imm if v.imm is not None else (min(info.imms) if info.imms else -5)
            if info.form is Form.CALL:
                src, off, imm = 0, 0, 12
            insn = Insn(info.opcode, dst, src, off, imm)
            text = format_insn(insn, syntax=syntax)
            assert not text.startswith(".insn"), (hex(info.opcode), text)
            assert list(assemble(text, syntax=syntax)) == [insn], (hex(info.opcode), text)
    assert {i.opcode for i in opcode_infos()} == set(OPCODES)


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_invalid_insns_print_raw_and_round_trip(syntax: str) -> None:
    for insn in (Insn(0xFF, 1, 2, 3, 4), Insn(0xB7, 11, 0, 0, 1), Insn(0xBF, 1, 2, 0, 9),
                 Insn(0x95, 0, 0, 5, 0), Insn(0x85, 0, 0, 1, 1), Insn(0x18, 1, 9, 0, 1 << 40)):
        text = format_insn(insn, syntax=syntax)
        assert text.startswith(".insn")
        assert list(assemble(text, syntax=syntax)) == [insn]


KERNEL_EXAMPLES = {
    Insn(0x61, 0, 1, 76): "r0 = *(u32 *)(r1 +76)",
    Insn(0xB7, 0, 0, 0, 0): "r0 = 0",
    Insn(0xBF, 1, 6): "r1 = r6",
    Insn(0x07, 1, 0, 0, -8): "r1 += -8",
    Insn(0xB4, 0): "w0 = 0",
    Insn(0x15, 1, 0, 2, 0): "if r1 == 0x0 goto pc+2",
    Insn(0x16, 1, 0, 2, -1): "if w1 == 0xffffffff goto pc+2",
    Insn(0x05, 0, 0, -3): "goto pc-3",
    Insn(0x85, 0, 0, 0, 1): "call bpf_map_lookup_elem#1",
    Insn(0x85, 0, 0, 0, 9999): "call unknown#9999",
    Insn(0x85, 0, 1, 0, 2): "call pc+2",
    Insn(0x85, 0, 2, 0, 77): "call kernel-function#77",
    Insn(0x18, 1, 0, 0, 0x1122334455667788): "r1 = 0x1122334455667788",
    Insn(0x18, 1, 1, 0, 3): "r1 = map[fd:3]",
    Insn(0x18, 1, 2, 0, 3 | 8 << 32): "r1 = map[fd:3][0]+8",
    Insn(0x7A, 10, 0, -8, 0): "*(u64 *)(r10 -8) = 0",
    Insn(0xDB, 10, 1, -8, 0): "lock *(u64 *)(r10 -8) += r1",
    Insn(0xDB, 10, 1, -8, 1): "r1 = atomic64_fetch_add((u64 *)(r10 -8), r1)",
    Insn(0xC3, 2, 1, 0, 0x51): "r1 = atomic_fetch_and((u32 *)(r2 +0), r1)",
    Insn(0xDB, 2, 3, 0, 0xF1): "r0 = atomic64_cmpxchg((u64 *)(r2 +0), r0, r3)",
    Insn(0xDB, 2, 3, 0, 0xE1): "r3 = atomic64_xchg((u64 *)(r2 +0), r3)",
    Insn(0xDC, 0, 0, 0, 16): "r0 = be16 r0",
    Insn(0xD7, 0, 0, 0, 32): "r0 = bswap32 r0",
    Insn(0x30, 0, 0, 0, 12): "r0 = *(u8 *)skb[12]",
    Insn(0x40, 0, 2, 0, 4): "r0 = *(u32 *)skb[r2 + 4]",
    Insn(0x95): "exit",
    Insn(0x3F, 1, 2, 1): "r1 s/= r2",
    Insn(0xBC, 1, 2, 8): "w1 = (s8)w2",
    Insn(0x91, 1, 2, -2): "r1 = *(s8 *)(r2 -2)",
    Insn(0x06, 0, 0, 0, -4): "gotol pc-4",
}

LLVM_EXAMPLES = {
    Insn(0x61, 0, 1, 76): "r0 = *(u32 *)(r1 + 76)",
    Insn(0x79, 0, 1, 76): "r0 = *(u64 *)(r1 + 76)",
    Insn(0x7B, 10, 1, -8): "*(u64 *)(r10 - 8) = r1",
    Insn(0x25, 1, 0, 2, 3): "if r1 > 3 goto +2",
    Insn(0xBC, 0, 1): "w0 = w1",
    Insn(0x18, 1, 0, 0, 1234): "r1 = 1234 ll",
    Insn(0x18, 1, 0, 0, (1 << 64) - 1): "r1 = -1 ll",
    Insn(0x85, 0, 0, 0, 1): "call 1",
    Insn(0x85, 0, 1, 0, -3): "call -3",
    Insn(0xDB, 10, 1, -8, 0): "lock *(u64 *)(r10 - 8) += r1",
    Insn(0xDB, 1, 0, 0, 1): "r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)",
    Insn(0xDC, 0, 0, 0, 16): "r0 = be16 r0",
    Insn(0x95): "exit",
    Insn(0x05, 0, 0, -5): "goto -5",
    Insn(0x30, 0, 0, 0, 12): "r0 = *(u8 *)skb[12]",
    Insn(0x3F, 0, 1, 1): "r0 s/= r1",
    Insn(0x9F, 0, 1, 1): "r0 s%= r1",
    Insn(0xBF, 0, 1, 8): "r0 = (s8)r1",
    Insn(0xBC, 0, 1, 16): "w0 = (s16)w1",
    Insn(0xD7, 0, 0, 0, 16): "r0 = bswap16 r0",
    Insn(0x91, 0, 1, 0): "r0 = *(s8 *)(r1 + 0)",
    Insn(0x06, 0, 0, 0, 7): "gotol +7",
    Insn(0x8D, 2): "callx r2",
    Insn(0x87, 1): "r1 = -r1",
    Insn(0x18, 1, 2, 0, 3): "ld_pseudo\tr1, 2, 3",
}

UBPF_EXAMPLES = {
    Insn(0xBF, 0, 1): "mov %r0, %r1",
    Insn(0x61, 0, 1, 76): "ldxw %r0, [%r1+76]",
    Insn(0x15, 1, 0, 3, 3): "jeq %r1, 3, +3",
    Insn(0x18, 0, 0, 0, 0x1122334455667788): "lddw %r0, 0x1122334455667788",
    Insn(0x85, 0, 1, 0, 2): "call local +2",
    Insn(0x8D, 2): "call %r2",
    Insn(0x06, 0, 0, 0, -1): "ja32 -1",
    Insn(0xDB, 10, 1, -8, 0x01): "lock fetch add [%r10-8], %r1",
    Insn(0xC3, 10, 1, -8, 0xE1): "lock xchg32 [%r10-8], %r1",
    Insn(0xD7, 1, 0, 0, 16): "bswap16 %r1",
    Insn(0x3C, 1, 2, 1): "sdiv32 %r1, %r2",
    Insn(0xBC, 1, 2, 8): "movsx832 %r1, %r2",
    Insn(0x91, 1, 2, 0): "ldxsb %r1, [%r2+0]",
    Insn(0x72, 10, 0, -1, 5): "stb [%r10-1], 5",
}


@pytest.mark.parametrize(("syntax", "examples"), [("kernel", KERNEL_EXAMPLES), ("llvm", LLVM_EXAMPLES),
                                                  ("ubpf", UBPF_EXAMPLES)])
def test_known_spellings(syntax: str, examples: dict[Insn, str]) -> None:
    for insn, text in examples.items():
        assert format_insn(insn, syntax=syntax) == text
        assert list(assemble(text, syntax=syntax)) == [insn], text


def test_labels_in_listings() -> None:
    src = "start:\nmov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 10, loop\nja done\ndone:\nexit\n"
    prog = assemble(src)
    assert prog.labels == {0: "start", 1: "loop", 4: "done"}
    assert prog[2].off == -2 and prog[2].meta == {"line": 5, "target": "loop"}
    assert prog[0].meta == {"line": 2, "label": "start"}
    assert "jlt %r0, 10, loop" in disassemble(prog, syntax="ubpf")
    llvm = disassemble(prog, syntax="llvm")
    assert "if r0 < 10 goto -2 <loop>" in llvm and "0000000000000008 <loop>:" in llvm
    lines = list(iter_lines(prog, "kernel"))
    assert [(ln.pc, ln.label) for ln in lines][:2] == [(0, "start"), (1, "loop")]
    assert lines[2].text == "if r0 < 0xa goto pc-2"
    for syntax in SYNTAXES:
        assert assemble(disassemble(prog, syntax=syntax)).labels.get(1) == "loop" or syntax == "kernel"


def test_implicit_exit_label_and_llvm_objdump_lines() -> None:
    prog = assemble("jne %r1, %r0, exit\nmov %r0, 2\nexit\n")
    assert prog[0].off == 1
    pasted = ("\n/tmp/x.o:\tfile format elf64-bpf\n\nDisassembly of section socket:\n\n"
              "0000000000000000 <f>:\n       0:\tb7 00 00 00 01 00 00 00\tr0 = 1\n"
              "       1:\t18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00\tr1 = 0 ll\n"
              "       3:\t95 00 00 00 00 00 00 00\texit\n")
    p2 = assemble(pasted)
    assert [i.opcode for i in p2] == [0xB7, 0x18, 0x95] and p2.labels == {0: "f"}
    kernel = "0: (b7) r0 = 1\n1: (18) r1 = 0x5\n3: (95) exit\n"
    assert [i.opcode for i in assemble(kernel)] == [0xB7, 0x18, 0x95]


def test_comments_and_numbers() -> None:
    prog = assemble("r0 = 0x10 ; c\nr0 += -0x2 // c\nw1 = 017 # decimal, not octal\nexit\n",
                    syntax="llvm")
    assert [i.imm for i in prog][:3] == [16, -2, 17]


def test_cli_asm_and_disasm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pybpf.cli import asm_cmds

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    asm_cmds.register(sub)
    src = tmp_path / "p.s"
    src.write_text("mov %r0, 3\nexit\n")
    out = tmp_path / "p.bin"
    args = parser.parse_args(["asm", str(src), "-o", str(out)])
    assert args.func(args) == 0
    assert out.read_bytes() == bytes.fromhex("b700000003000000" "9500000000000000")
    args = parser.parse_args(["asm", str(src), "--hex"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "b7 00 00 00 03 00 00 00\n95 00 00 00 00 00 00 00\n"
    for argv, expected in ((["disasm", str(out)], "       0:\tr0 = 3\n       1:\texit\n"),
                           (["disasm", str(out), "--syntax", "kernel"], "0: (b7) r0 = 3\n1: (95) exit\n")):
        args = parser.parse_args(argv)
        assert args.func(args) == 0
        assert capsys.readouterr().out == expected
    hexfile = tmp_path / "p.hex"
    hexfile.write_text("b7  00  00  00  03  00  00  00  95  00  00  00  00  00  00  00\n")
    args = parser.parse_args(["disasm", str(hexfile), "--syntax", "ubpf"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "mov %r0, 3\nexit\n"
    monkey_stdin = io.TextIOWrapper(io.BytesIO(b"exit\n"))
    old = sys.stdin
    sys.stdin = monkey_stdin
    try:
        args = parser.parse_args(["asm", "-", "--hex"])
        assert args.func(args) == 0
    finally:
        sys.stdin = old
    assert capsys.readouterr().out == "95 00 00 00 00 00 00 00\n"


# One of each kind the verifier accepts in a socket filter; the kernel's log
# must print each exactly as format_insn(syntax="kernel") does.
KERNEL_PROGRAM = [
    'r0 = 0',
    'w2 = 5',
    'r2 = r2',
    '*(u64 *)(r10 - 8) = 0',
    '*(u32 *)(r10 - 16) = 7',
    '*(u64 *)(r10 - 24) = r2',
    'r3 = *(u64 *)(r10 - 24)',
    'w4 = *(u32 *)(r10 - 16)',
    'r5 = *(s16 *)(r10 - 24)',
    'lock *(u64 *)(r10 - 8) += r3',
    'lock *(u64 *)(r10 - 8) |= r3',
    'r3 = atomic_fetch_add((u64 *)(r10 - 8), r3)',
    'r3 = atomic_fetch_xor((u64 *)(r10 - 8), r3)',
    'w3 = atomic_fetch_and((u32 *)(r10 - 16), w3)',
    'lock *(u32 *)(r10 - 16) ^= w3',
    'r3 = xchg_64(r10 - 8, r3)',
    'w3 = xchg32_32(r10 - 16, w3)',
    'r0 = cmpxchg_64(r10 - 8, r0, r3)',
    'w0 = cmpxchg32_32(r10 - 16, w0, w3)',
    'if r3 == 5 goto +0',
    'if r3 != -1 goto +0',
    'if w3 s> w2 goto +0',
    'if r3 & 255 goto +0',
    'r3 = be16 r3',
    'r3 = le32 r3',
    'r3 = bswap64 r3',
    'w3 = (s8)w2',
    'r3 = (s32)r2',
    'r3 s/= r2',
    'w3 s%= w2',
    'r3 = -r3',
    'w3 = -w3',
    'r3 s>>= 3',
    'w4 <<= 2',
    'r1 = 0x1122334455667788 ll',
    'r1 = -1 ll',
    'call 5',
    'gotol +0',
    'goto +0',
    'call +1',
    'exit',
    'r0 = 0',
    'exit',
]


@pytest.mark.kernel
def test_kernel_syntax_matches_the_verifier_log() -> None:
    syscall = pytest.importorskip("pybpf.kernel.syscall")
    if not syscall.available():
        pytest.skip(f"bpf() unavailable: {syscall.unavailable_reason()}")
    prog = assemble("\n".join(KERNEL_PROGRAM), syntax="llvm")
    loaded = syscall.load_program(prog, 1, log_level=2)  # BPF_PROG_TYPE_SOCKET_FILTER
    logged: dict[int, str] = {}
    for line in loaded.log.splitlines():
        m = re.match(r"(\d+): \(([0-9a-f]{2})\) (.*?)(?:\s+;.*)?$", line)
        if m:
            logged.setdefault(int(m.group(1)), m.group(3).rstrip())
    assert set(logged) == {pc for pc, _ in prog.items()}
    for pc, insn in prog.items():
        assert format_insn(insn, syntax="kernel") == logged[pc], pc
        assert list(assemble(f"{pc}: ({insn.opcode:02x}) {logged[pc]}")) == [insn]


def test_duplicate_label_names_are_not_printed() -> None:
    prog = Program([Insn(0x05, off=0), Insn(0x95)], labels={0: "a", 1: "a"})
    for syntax in SYNTAXES:
        assert assemble(disassemble(prog, syntax=syntax), syntax=syntax) == prog


@pytest.mark.parametrize("module", ["pybpf.asm", "pybpf.asm.assembler", "pybpf.asm.disasm", "pybpf.testdata",
                                    "pybpf.isa.helper_ids", "pybpf.cli.asm_cmds"])
def test_doctests(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0

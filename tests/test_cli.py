"""The ``pybpf`` command line: run, bench, and errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from pybpf.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED_BENCH = ROOT / ".." / "shared" / "bench"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_example_object_gives_crc32(capsys: pytest.CaptureFixture[str]) -> None:
    data = (EXAMPLES / "hello.txt").read_bytes()
    code, out, _ = _run(capsys, "run", str(EXAMPLES / "crc32.o"), "--mem-file", str(EXAMPLES / "hello.txt"))
    assert code == 0
    assert int(out.strip().splitlines()[-1], 16) == zlib.crc32(data)


def test_run_json_reports_r0_registers_and_insns(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "p.s"
    src.write_text("r0 = *(u8 *)(r1 + 1)\nr0 += 1\nexit\n")
    code, out, _ = _run(capsys, "run", str(src), "--mem", "07 29", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["r0"] == 42
    assert doc["insns"] == 3
    assert doc["regs"]["r0"] == 42 and set(doc["regs"]) == {f"r{i}" for i in range(11)}


def test_run_raw_bin_and_trace(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    prog = tmp_path / "p.bin"
    # r0 = 3; r0 *= 7; exit
    prog.write_bytes(bytes.fromhex("b700000003000000" "2700000007000000" "9500000000000000"))
    code, out, _ = _run(capsys, "run", str(prog), "--trace")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[-1] == "0x15"
    assert len(lines) == 4  # three traced instructions, then r0
    assert "r0=0x15" in lines[1]


def test_run_memory_fault_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "bad.s"
    src.write_text("r0 = *(u64 *)(r1 + 8)\nexit\n")
    code, _, err = _run(capsys, "run", str(src), "--mem", "00 11 22 33")
    assert code == 1
    assert err.startswith("pybpf: error: ")
    assert "Traceback" not in err
    assert "pc 0" in err


def test_run_malformed_program_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    prog = tmp_path / "bad.bin"
    prog.write_bytes(bytes.fromhex("ff00000000000000" "9500000000000000"))
    code, _, err = _run(capsys, "run", str(prog))
    assert code == 1
    assert "unknown opcode 0xff" in err


def test_budget_stops_a_runaway_program(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "loop.s"
    src.write_text("r0 = 0\nloop:\nr0 += 1\nif r0 != 0 goto loop\nexit\n")
    code, _, err = _run(capsys, "run", str(src), "--budget", "1000")
    assert code == 1
    assert "budget" in err


@pytest.mark.skipif(not (SHARED_BENCH / "expected.json").is_file(), reason="../shared/bench is absent")
@pytest.mark.parametrize("engine", ["interp", "jit", "jit-trusted"])
def test_python_m_pybpf_bench_speaks_run_bench_protocol(tmp_path: Path, engine: str) -> None:
    # nop.c compiled by clang is "r0 = *(u64 *)(r1 + 0); exit": written by hand so this
    # test does not need clang.
    code = tmp_path / "nop.bin"
    code.write_bytes(bytes.fromhex("7910000000000000" "9500000000000000"))
    proc = subprocess.run(
        [sys.executable, "-m", "pybpf.bench", str(code), str(SHARED_BENCH / "inputs" / "nop.mem"),
         "--samples", "3", "--engine", engine],
        capture_output=True, text=True, check=True,
    )
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = json.loads((SHARED_BENCH / "expected.json").read_text())["nop"]
    assert doc["ret"] == expected["ret"]
    assert doc["insns"] == expected["insns"]
    assert doc["ns_median"] > 0
    assert doc["runtime"] == f"pybpf-{engine}"

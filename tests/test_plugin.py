"""The bpf_conformance plugin, driven exactly as the upstream runner drives it."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pybpf import conformance_plugin
from pybpf.asm import assemble
from pybpf.isa import encode

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
CONF = SHARED / "conformance"


def _hex(data: bytes) -> str:
    # The runner's format: two lowercase hex digits and two spaces per byte.
    return "".join(f"{b:02x}  " for b in data)


def _runner_inputs(rel: str) -> tuple[list[str], str, object]:
    """(argv after the plugin path, stdin text, data file) for a shared .data file."""
    testdata = pytest.importorskip("pybpf.testdata")
    path = CONF / rel
    if not path.is_file():
        pytest.skip(f"shared conformance data not found at {path}")
    df = testdata.parse_data_file(path)
    argv = [_hex(df.mem)] if df.mem else []
    # what the runner sends: the raw slots if any, else the assembled program
    code = df.raw_bytes() if df.raw else encode(assemble(df.asm, syntax="ubpf"))
    return argv, _hex(code) + "\n", df


def _plugin(argv: list[str], stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pybpf.conformance_plugin", *argv], input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("rel", [
    "bpf_conformance/add.data",            # no memory
    "bpf_conformance/ldxh-same-reg.data",  # memory, written by the program
    "bpf_conformance/callx.data",          # helper 5 through callx
    "ubpf/helpers/call-memfrob.data",      # helper writing memory
])
def test_subprocess_like_the_runner(rel: str) -> None:
    argv, stdin, df = _runner_inputs(rel)
    proc = _plugin([*argv, "--interpret"], stdin)  # plugin options come after MEM
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith("\n")
    assert int(proc.stdout, 16) == df.result  # type: ignore[attr-defined]
    assert proc.stderr == ""


def test_subprocess_failure_is_one_line_on_stderr() -> None:
    argv, stdin, _ = _runner_inputs("ubpf/errors/err-stack-oob.data")
    proc = _plugin(argv, stdin)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert "out of bounds memory store at pc 0" in proc.stderr


def test_console_script_installed() -> None:
    exe = shutil.which("pybpf-conformance-plugin") or str(Path(sys.executable).parent /
                                                          "pybpf-conformance-plugin")
    if not Path(exe).exists():
        pytest.skip("console script not installed in this environment")
    proc = subprocess.run([exe], input="b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00\n",
                          capture_output=True, text=True, timeout=60, check=False)
    assert (proc.returncode, proc.stdout) == (0, "2a\n")


# -- in-process: fast checks of the argument handling ----------------------------------------
PROG_R0_MEM1 = bytes.fromhex("7110010000000000" "9500000000000000")  # r0 = *(u8 *)(r1 + 1); exit


def _main(argv: list[str], stdin: str, capsys: pytest.CaptureFixture[str],
          monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = conformance_plugin.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_memory_argument_and_options(capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert _main(["11  2a  ", "--interpret", "", "--jit"], _hex(PROG_R0_MEM1) + "\n",
                 capsys, monkeypatch) == (0, "2a\n", "")


def test_program_option_instead_of_stdin(capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert _main(["00  07  ", "--program", PROG_R0_MEM1.hex()], "junk", capsys, monkeypatch) == (0, "7\n", "")


def test_r2_is_memory_length_and_no_memory_means_null(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    r0_r2 = bytes.fromhex("bf20000000000000" "9500000000000000")  # r0 = r2
    assert _main(["01  02  03  "], _hex(r0_r2), capsys, monkeypatch)[:2] == (0, "3\n")
    r0_r1 = bytes.fromhex("bf10000000000000" "9500000000000000")
    assert _main([], _hex(r0_r1), capsys, monkeypatch)[:2] == (0, "0\n")


@pytest.mark.parametrize(("argv", "stdin", "needle"), [
    ([], "", "no program"),
    ([], "zz", "not hex"),
    (["--budget", "x"], "95 00 00 00 00 00 00 00", "--budget"),
    ([], "ff 00 00 00 00 00 00 00\n", "unknown opcode"),
    ([], "05 00 ff ff 00 00 00 00 95 00 00 00 00 00 00 00", "infinite loop"),
    (["--elf"], "00 01 02 03", "invalid ELF"),
])
def test_failures(argv: list[str], stdin: str, needle: str, capsys: pytest.CaptureFixture[str],
                  monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = _main(argv, stdin, capsys, monkeypatch)
    assert code == 1 and out == ""
    assert needle in err and err.count("\n") == 1


def test_budget_stops_an_endless_program(capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    loop = bytes.fromhex("0500000000000000" "0500feff00000000" "9500000000000000")  # ja +0; ja -2
    code, _, err = _main(["--budget", "1000"], _hex(loop), capsys, monkeypatch)
    assert code == 1 and "budget" in err


@pytest.mark.clang
def test_elf_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> None:
    clang = shutil.which("clang")
    if clang is None:
        pytest.skip("clang not installed")
    src = tmp_path / "p.c"
    src.write_text("unsigned long main(unsigned char *m, unsigned long n) { return m[1] + n; }\n")
    obj = tmp_path / "p.o"
    subprocess.run([clang, "-O2", "-ffreestanding", "-target", "bpf", "-c", str(src), "-o", str(obj)],
                   check=True)
    code, out, err = _main(["05  06  ", "--elf"], _hex(obj.read_bytes()), capsys, monkeypatch)
    assert (code, out, err) == (0, "8\n", "")


def test_encode_roundtrip_of_inputs() -> None:
    # the helper above must produce what the runner sends: parseable by bytes.fromhex
    assert bytes.fromhex(_hex(encode([]))) == b""

"""The README and the docstrings say what is true: their examples run."""

from __future__ import annotations

import doctest
import importlib
import json
import re
import zlib
from pathlib import Path

import pytest

from pybpf.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README, flags=re.S | re.M)


def test_readme_starts_with_the_two_commands() -> None:
    first = re.search(r"^```\n(.*?)^```", README, flags=re.S | re.M)
    assert first is not None
    # the title, then at once the code block: nothing comes before the two commands
    assert README.split("\n\n", 1)[1].startswith(first.group(0))
    lines = [ln for ln in first.group(1).splitlines() if ln.strip()]
    assert len(lines) == 2
    run_example, run_tests = lines
    assert "venv" in run_example and "pybpf test-run examples/" in run_example
    assert "venv" in run_tests and "pytest" in run_tests


def test_readme_main_command_output_is_as_described(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the command runs from the root of a clone
    command = re.search(r"^```\n(.*?)^```", README, flags=re.S | re.M).group(1).splitlines()[0]  # type: ignore[union-attr]
    argv = command.split(".venv/bin/pybpf ", 1)[1].split()
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("xdp_firewall (xdp) on examples/traffic.pcap: 32 packets, 0 modified")
    assert out[1:] == ["  XDP_PASS  26", "  XDP_DROP  6"]
    for line in out[1:]:
        assert line in README


def test_crc32_example_is_zlib_crc32(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(ROOT / "examples" / "crc32.o"), "--mem-file",
                 str(ROOT / "examples" / "hello.txt"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["r0"] == zlib.crc32((ROOT / "examples" / "hello.txt").read_bytes())


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_readme_python_examples_run(index: int, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(_blocks("python")[index], f"README.md python block {index}", "exec"), {})


@pytest.mark.parametrize("module", ["pybpf", "pybpf.vm", "pybpf.isa", "pybpf.isa.codec",
                                    "pybpf.runtime.memory", "pybpf.isa.helper_ids"])
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0

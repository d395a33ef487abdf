"""``pybpf test-run``, ``pybpf prog list`` and ``pybpf map dump``: output shapes and clear errors."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pybpf import kernel
from pybpf.cli import main
from pybpf.cli.testrun_cmd import verdict_name
from pybpf.pcap import PcapWriter, read_packets

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TRAFFIC = EXAMPLES / "traffic.pcap"
FIREWALL = EXAMPLES / "xdp_firewall.o"
MULTI = ROOT / "tests" / "data" / "elf" / "multi-el.o"

needs_objects = pytest.mark.skipif(importlib.util.find_spec("pybpf.objects") is None,
                                   reason="pybpf.objects (the object runtime) is not there yet")
needs_kernel = pytest.mark.skipif(not kernel.available(), reason="bpf() is not available here")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- prog list ---------------------------------------------------------------------

def test_prog_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "prog", "list", str(FIREWALL))
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["name", "section", "type", "insns", "maps"]
    assert row.split()[:3] == ["xdp_firewall", "xdp", "xdp"]
    assert row.endswith("proto_stats, blocked")


def test_prog_list_json_every_program(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "prog", "list", str(MULTI), "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 12
    assert rows[0] == {"name": "kp_unlink", "section": "kprobe/do_unlinkat", "type": "kprobe",
                       "insns": rows[0]["insns"], "maps": ["hits"]}
    assert all(r["insns"] > 0 for r in rows)


def test_prog_list_of_a_non_elf_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "prog", "list", str(TRAFFIC))
    assert code == 1 and out == ""
    assert err.startswith("pybpf: error:") and "Traceback" not in err


# -- test-run: errors before anything runs -------------------------------------------

def test_test_run_needs_prog_when_the_object_has_several(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "test-run", str(MULTI), "--pcap", str(TRAFFIC), "--engine", "kernel"
                        if kernel.available() else "auto")
    assert code == 1
    assert "12 programs" in err and "--prog" in err


def test_test_run_unknown_prog(capsys: pytest.CaptureFixture[str]) -> None:
    engine = "kernel" if kernel.available() else "auto"
    code, _, err = _run(capsys, "test-run", str(FIREWALL), "--prog", "nope", "--pcap", str(TRAFFIC),
                        "--engine", engine)
    assert code == 1 and "no program named 'nope'" in err and "xdp_firewall" in err


@pytest.mark.parametrize("content, match", [(b"", "empty"), (b"garbage!" * 4, "not a pcap")])
def test_test_run_bad_capture(capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes,
                              match: str) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(content)
    engine = "kernel" if kernel.available() else "auto"
    code, _, err = _run(capsys, "test-run", str(FIREWALL), "--pcap", str(bad), "--engine", engine)
    assert code == 1 and match in err and "Traceback" not in err


def test_map_dump_after_run_needs_a_capture(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "map", "dump", str(FIREWALL), "--after-run")
    assert code == 1 and "--pcap" in err
    code, _, err = _run(capsys, "map", "dump", str(FIREWALL), "--pcap", str(TRAFFIC))
    assert code == 1 and "--after-run" in err


def test_verdict_names() -> None:
    assert verdict_name(6, 2) == "XDP_PASS"
    assert verdict_name(6, 9) == "9"
    assert verdict_name(3, 0xFFFFFFFF) == "TC_ACT_UNSPEC"
    assert verdict_name(3, 2) == "TC_ACT_SHOT"
    assert verdict_name(1, 0) == "drop" and verdict_name(1, 60) == "keep"


# -- test-run through the kernel engine (the CLI's own logic, whatever runs it) -------

def _truncated_copy(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "few.pcap"
    with PcapWriter(path) as w:
        for p in list(read_packets(TRAFFIC))[:n]:
            w.write_packet(p)
    return path


@needs_kernel
def test_json_lines_and_no_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = _run(capsys, "test-run", str(EXAMPLES / "tc_rewrite.o"), "--pcap", str(TRAFFIC),
                        "--json", "--engine", "kernel")
    assert code == 0
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) == 32 and [d["index"] for d in docs] == list(range(32))
    assert all(set(d) <= {"index", "retval", "data_out"} for d in docs)
    assert sum("data_out" in d for d in docs) == 6  # 4 DSCP + 2 port rewrites


@needs_kernel
def test_summary_and_out_pcap_keeps_timestamps(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_pcap = tmp_path / "out.pcap"
    code, out, _ = _run(capsys, "test-run", str(FIREWALL), "--pcap", str(_truncated_copy(tmp_path, 12)),
                        "--out", str(out_pcap), "--engine", "kernel")
    assert code == 0
    lines = out.splitlines()
    assert "xdp_firewall (xdp)" in lines[0] and "12 packets, 0 modified" in lines[0]
    assert "engine kernel" in lines[0]
    assert [ln.split() for ln in lines[1:3]] == [["XDP_PASS", "10"], ["XDP_DROP", "2"]]
    assert lines[-1] == f"wrote 12 packets to {out_pcap}"
    # Every packet is written, the dropped ones too, with its input timestamp.
    assert list(read_packets(out_pcap)) == list(read_packets(TRAFFIC))[:12]


@needs_kernel
def test_empty_capture(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.pcap"
    PcapWriter(empty).close()
    out_pcap = tmp_path / "out.pcap"
    code, out, _ = _run(capsys, "test-run", str(FIREWALL), "--pcap", str(empty), "--out", str(out_pcap),
                        "--engine", "kernel")
    assert code == 0 and "0 packets" in out
    assert list(read_packets(out_pcap)) == []


@needs_kernel
def test_a_packet_the_engine_refuses_names_its_index(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    # BPF_PROG_TEST_RUN refuses packets shorter than an Ethernet header.
    short = tmp_path / "short.pcap"
    with PcapWriter(short) as w:
        w.write(bytes(60))
        w.write(bytes(10))
    code, _, err = _run(capsys, "test-run", str(FIREWALL), "--pcap", str(short), "--engine", "kernel")
    assert code == 1 and "packet 1 (10 bytes)" in err


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    engine = "kernel" if kernel.available() else "auto"
    if engine == "auto" and importlib.util.find_spec("pybpf.objects") is None:
        pytest.skip("no engine to run with")
    proc = subprocess.run([sys.executable, "-m", "pybpf.cli", "test-run", str(FIREWALL), "--pcap",
                           str(TRAFFIC), "--engine", engine], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == ""


# -- through pybpf's object runtime --------------------------------------------------

@needs_objects
def test_map_dump_text_bpftool_style(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "map", "dump", str(FIREWALL), "--after-run", "--pcap", str(TRAFFIC),
                        "--map", "blocked")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("blocked: hash  key 4B  value 16B  max_entries 1024  2 elements")
    # 192.0.2.66 as the u32 key the program stored (network order read as little-endian).
    assert f"key: {int.from_bytes(bytes([192, 0, 2, 66]), 'little')}  " \
           'value: {"packets": 4, "bytes": 214}' in lines


@needs_objects
def test_map_dump_per_cpu_and_nonzero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "map", "dump", str(FIREWALL), "--after-run", "--pcap", str(TRAFFIC),
                        "--map", "proto_stats", "--nonzero", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["type"] == "percpu_array" and {e["key"] for e in doc["elements"]} == {1, 6, 17, 58}
    assert all("cpu" in v for e in doc["elements"] for v in e["values"])


@needs_objects
def test_map_dump_before_any_run_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "map", "dump", str(FIREWALL), "--json")
    assert code == 0
    docs = {d["name"]: d for d in map(json.loads, out.splitlines())}
    assert docs["blocked"]["elements"] == []
    assert len(docs["proto_stats"]["elements"]) == 256


@needs_objects
def test_map_dump_unknown_map(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "map", "dump", str(FIREWALL), "--map", "nope")
    assert code == 1 and "no map named 'nope'" in err


@needs_objects
def test_interp_engine_json_matches_the_kernel_engine(capsys: pytest.CaptureFixture[str]) -> None:
    if not kernel.available():
        pytest.skip("bpf() is not available here")
    # (ringbuf_events: the kernel engine cannot create ring buffers yet, see _KernelRunner.)
    for name in ("xdp_firewall", "tc_rewrite", "sock_filter"):
        outs = []
        for engine in ("interp", "kernel"):
            code, out, err = _run(capsys, "test-run", str(EXAMPLES / f"{name}.o"), "--pcap", str(TRAFFIC),
                                  "--json", "--engine", engine)
            assert code == 0, err
            outs.append(out)
        assert outs[0] == outs[1], name


class _EchoRunner:
    name, section, prog_type, engine = "echo", "xdp", 6, "test"

    def run(self, data: bytes) -> tuple[int, bytes]:
        return 2, data[::-1]

    def close(self) -> None:
        pass


def test_run_capture_with_a_progress_bar() -> None:
    from pybpf.cli.testrun_cmd import run_capture

    results = list(run_capture(_EchoRunner(), TRAFFIC, progress=True))
    assert [r.index for r in results] == list(range(32))
    assert all(r.data_out == r.packet.data[::-1] and r.retval == 2 for r in results)


def _as_pcapng(path: Path) -> None:
    """traffic.pcap rewritten as a big-endian pcapng file with nanosecond timestamps."""
    import struct

    def block(btype: int, body: bytes) -> bytes:
        body += bytes(-len(body) % 4)
        return struct.pack(">II", btype, 12 + len(body)) + body + struct.pack(">I", 12 + len(body))

    out = block(0x0A0D0D0A, struct.pack(">IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack(">HHI", 1, 0, 0) + struct.pack(">HH", 9, 1) + b"\x09\0\0\0")
    for p in read_packets(TRAFFIC):
        ts = p.timestamp_ns + 7  # sub-microsecond part must survive into --out
        out += block(6, struct.pack(">IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(p.data), p.orig_len) + p.data)
    path.write_bytes(out)


@needs_objects
def test_pcapng_input_and_nanosecond_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ng, out_pcap = tmp_path / "t.pcapng", tmp_path / "out.pcap"
    _as_pcapng(ng)
    code, out, _ = _run(capsys, "test-run", str(FIREWALL), "--pcap", str(ng), "--json")
    code2, out2, _ = _run(capsys, "test-run", str(FIREWALL), "--pcap", str(TRAFFIC), "--json")
    assert code == code2 == 0 and out == out2
    code, _, _ = _run(capsys, "test-run", str(FIREWALL), "--pcap", str(ng), "--out", str(out_pcap))
    assert code == 0
    assert [p.timestamp_ns for p in read_packets(out_pcap)] == \
        [p.timestamp_ns + 7 for p in read_packets(TRAFFIC)]


@needs_kernel
def test_failed_run_leaves_no_out_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    short = tmp_path / "short.pcap"
    with PcapWriter(short) as w:
        w.write(bytes(60))
        w.write(bytes(10))
    out_pcap = tmp_path / "out.pcap"
    code, _, _ = _run(capsys, "test-run", str(FIREWALL), "--pcap", str(short), "--out", str(out_pcap),
                      "--engine", "kernel")
    assert code == 1
    assert list(tmp_path.iterdir()) == [short]

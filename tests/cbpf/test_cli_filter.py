"""``pybpf filter`` writes exactly the packets ``tcpdump -r IN -w OUT EXPR`` writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from packets import ethernet_capture, pcap_bytes, raw_ip_capture

from pybpf.cbpf import format_dd, format_listing, libpcap
from pybpf.cli import main
from pybpf.pcap import read_packets

TCPDUMP = shutil.which("tcpdump")
pytestmark = pytest.mark.skipif(not TCPDUMP or not libpcap.available(), reason="needs tcpdump and libpcap")

EXPRS = ["tcp port 80", "vlan and ip6", "ip[6:2] & 0x1fff != 0", "len > 100", "not ip and not ip6",
         "tcp[tcpflags] & tcp-syn != 0 or icmp", "ether broadcast", "net 10.0.0.0/8 and udp"]


def _records(path: Path) -> list[tuple[int, bytes, int]]:
    # tcpdump -w keeps microseconds; so does pybpf filter.
    return [(p.timestamp_ns // 1000, p.data, p.orig_len) for p in read_packets(path)]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cap") / "in.pcap"
    path.write_bytes(pcap_bytes(ethernet_capture(11, 400)))
    return path


def _tcpdump(capture: Path, out: Path, expr: str) -> None:
    assert TCPDUMP
    subprocess.run([TCPDUMP, "-r", str(capture), "-w", str(out), expr], check=True, capture_output=True)


@pytest.mark.parametrize("expr", EXPRS)
def test_same_packets_as_tcpdump(capture: Path, tmp_path: Path, expr: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    ours, theirs = tmp_path / "ours.pcap", tmp_path / "theirs.pcap"
    assert main(["filter", expr, "-r", str(capture), "-w", str(ours), "--count"]) == 0
    count = int(capsys.readouterr().out.strip().splitlines()[-1])
    _tcpdump(capture, theirs, expr)
    want = _records(theirs)
    assert _records(ours) == want
    assert count == len(want)


@pytest.mark.parametrize("engine", ["compiled", "classic", "ebpf", "jit", "libpcap"])
def test_engines_agree(capture: Path, tmp_path: Path, engine: str,
                       capsys: pytest.CaptureFixture[str]) -> None:
    expr = "ip and (tcp or udp) and len > 80"
    assert main(["filter", expr, "-r", str(capture), "--count", "--engine", engine]) == 0
    got = int(capsys.readouterr().out.strip().splitlines()[-1])
    theirs = tmp_path / "t.pcap"
    _tcpdump(capture, theirs, expr)
    assert got == len(_records(theirs))


def test_compiled_program_file(capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prog = libpcap.compile_filter("udp port 53 or arp")
    for i, text in enumerate([format_dd(prog), format_listing(prog)]):
        f = tmp_path / f"prog{i}.txt"
        f.write_text(text)
        out = tmp_path / f"out{i}.pcap"
        assert main(["filter", "-r", str(capture), "--cbpf", str(f), "-w", str(out)]) == 0
        assert "packets accepted" in capsys.readouterr().out
        theirs = tmp_path / "t.pcap"
        _tcpdump(capture, theirs, "udp port 53 or arp")
        assert _records(out) == _records(theirs)


def test_raw_ip_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cap = tmp_path / "raw.pcap"
    cap.write_bytes(pcap_bytes(raw_ip_capture(12, 200), linktype=libpcap.LINKTYPE_RAW))
    ours, theirs = tmp_path / "o.pcap", tmp_path / "t.pcap"
    assert main(["filter", "ip6 or tcp", "-r", str(cap), "-w", str(ours)]) == 0
    _tcpdump(cap, theirs, "ip6 or tcp")
    assert _records(ours) == _records(theirs) and _records(ours)


def test_errors(capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["filter", "tcp port", "-r", str(capture)]) == 1
    assert "cannot compile" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("ld [0]\n")
    assert main(["filter", "-r", str(capture), "--cbpf", str(bad)]) == 1
    assert "must be a RET" in capsys.readouterr().err
    assert main(["filter", "ip", "-r", str(tmp_path / "missing.pcap")]) == 1


def test_nanosecond_and_truncated_captures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Both take the general (pybpf.pcap) path rather than the fast scanner."""
    from pybpf.pcap import PcapWriter

    cap = tmp_path / "ns.pcap"
    with PcapWriter(str(cap), nanosecond=True) as w:
        for i, (data, wire) in enumerate(ethernet_capture(13, 150)):
            w.write(data, timestamp_ns=1_600_000_000_123_456_789 + i, orig_len=wire)
    ours, theirs = tmp_path / "o.pcap", tmp_path / "t.pcap"
    assert main(["filter", "udp or arp", "-r", str(cap), "-w", str(ours)]) == 0
    _tcpdump(cap, theirs, "udp or arp")
    assert _records(ours) == _records(theirs) and _records(ours)
    cut = tmp_path / "cut.pcap"
    raw = pcap_bytes(ethernet_capture(14, 20))
    cut.write_bytes(raw[:-5])
    assert main(["filter", "ip", "-r", str(cut)]) == 1
    assert "error" in capsys.readouterr().err

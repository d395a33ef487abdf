"""The packet examples (examples/*.c) through the CLI, against models of their C code and the kernel.

Each example is run on examples/traffic.pcap with ``pybpf test-run`` and
``pybpf map dump --after-run``; the verdicts, output packets and map contents
must be what the C source says, computed here by a small Python model of it.
Where bpf() works, each object is also loaded into the running kernel (maps
created from its MapSpecs) and must agree packet by packet and map by map.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pybpf import kernel
from pybpf.cli import main
from pybpf.elf import load_spec
from pybpf.pcap import read_packets

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests are not a package

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TRAFFIC = EXAMPLES / "traffic.pcap"
FRAMES = [p.data for p in read_packets(TRAFFIC)]
NAMES = ["xdp_firewall", "sock_filter", "tc_rewrite", "ringbuf_events"]
XDP_DROP, XDP_PASS, TC_ACT_OK = 1, 2, 0

needs_objects = pytest.mark.skipif(importlib.util.find_spec("pybpf.objects") is None,
                                   reason="pybpf.objects (the object runtime) is not there yet")


# -- models of the C programs -----------------------------------------------------

def _l3(frame: bytes) -> tuple[int, int]:
    """(EtherType after one VLAN tag, offset of the network header)."""
    proto = int.from_bytes(frame[12:14], "big")
    if proto == 0x8100:
        return int.from_bytes(frame[16:18], "big"), 18
    return proto, 14


Counters = dict[int, dict[str, int]]


def firewall_model(frames: list[bytes]) -> tuple[list[int], Counters, Counters]:
    """xdp_firewall.c: (verdicts, blocked[saddr as read little-endian], proto_stats[proto])."""
    verdicts: list[int] = []
    blocked: Counters = {}
    stats: Counters = {}
    for f in frames:
        proto, off = _l3(f)
        verdict = XDP_PASS
        counted: int | None = None
        if proto == 0x86DD:
            counted = f[off + 6]
        elif proto == 0x0800:
            saddr = int.from_bytes(f[off + 12:off + 16], "little")  # the u32 key as the CPU sees it
            ip_proto, ihl = f[off + 9], (f[off] & 15) * 4
            if saddr in blocked:
                blocked[saddr]["packets"] += 1
                blocked[saddr]["bytes"] += len(f)
                verdict = XDP_DROP
            elif ip_proto == 6 and int.from_bytes(f[off + ihl + 2:off + ihl + 4], "big") == 23:
                blocked[saddr] = {"packets": 1, "bytes": len(f)}
                verdict = XDP_DROP
            else:
                counted = ip_proto
        if counted is not None:
            c = stats.setdefault(counted, {"packets": 0, "bytes": 0})
            c["packets"] += 1
            c["bytes"] += len(f)
        verdicts.append(verdict)
    return verdicts, blocked, stats


def sock_filter_model(frame: bytes) -> int:
    """sock_filter.c: skb->len (the frame without its Ethernet header) for TCP port 80, else 0."""
    proto = int.from_bytes(frame[12:14], "big")
    ip = frame[14:]
    if proto == 0x0800 and ip[9] == 6:
        l4 = ip[(ip[0] & 15) * 4:]
    elif proto == 0x86DD and ip[6] == 6:
        l4 = ip[40:]
    else:
        return 0
    ports = struct.unpack("!HH", l4[:4])
    return len(ip) if 80 in ports else 0


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tc_model(frame: bytes) -> tuple[bytes, int | None]:
    """tc_rewrite.c: the rewritten frame (checksums recomputed from scratch) and which counter moved."""
    if int.from_bytes(frame[12:14], "big") != 0x0800:
        return frame, None
    f = bytearray(frame)
    ihl = (f[14] & 15) * 4
    if f[23] == 17:
        tos = 46 << 2 | (f[15] & 3)
        if tos == f[15]:
            return frame, None
        f[15] = tos
        f[24:26] = b"\0\0"
        f[24:26] = checksum(bytes(f[14:14 + ihl])).to_bytes(2, "big")
        return bytes(f), 0
    l4 = 14 + ihl
    if f[23] == 6 and int.from_bytes(f[l4 + 2:l4 + 4], "big") == 8080:
        f[l4 + 2:l4 + 4] = (80).to_bytes(2, "big")
        seg = bytes(f[l4:])
        pseudo = bytes(f[26:34]) + struct.pack("!BBH", 0, 6, len(seg))
        seg = seg[:16] + b"\0\0" + seg[18:]
        f[l4 + 16:l4 + 18] = checksum(pseudo + seg).to_bytes(2, "big")
        return bytes(f), 1
    return frame, None


def event_model(frame: bytes) -> bytes:
    """ringbuf_events.c: the struct event of one frame."""
    ethertype, off = _l3(frame)
    ip_proto = saddr = daddr = sport = dport = 0
    if ethertype == 0x0800:
        ip = frame[off:]
        ip_proto, saddr, daddr = ip[9], ip[12:16], ip[16:20]
        if ip_proto in (6, 17):
            sport, dport = struct.unpack("!HH", ip[(ip[0] & 15) * 4:][:4])
        return struct.pack("<IHBx4s4sHH", len(frame), ethertype, ip_proto, saddr, daddr, sport, dport)
    return struct.pack("<IHBxIIHH", len(frame), ethertype, 0, 0, 0, 0, 0)


def test_models_see_what_traffic_pcap_was_built_for() -> None:
    verdicts, blocked, stats = firewall_model(FRAMES)
    assert verdicts.count(XDP_DROP) == 6
    assert {k.to_bytes(4, "little") for k in blocked} == {bytes([192, 0, 2, 66]), bytes([198, 51, 100, 9])}
    assert set(stats) == {1, 6, 17, 58}
    assert sum(sock_filter_model(f) > 0 for f in FRAMES) == 8
    assert [tc_model(f)[1] for f in FRAMES].count(0) == 4  # the VLAN-tagged one is not parsed
    assert [tc_model(f)[1] for f in FRAMES].count(1) == 2


def test_traffic_pcap_is_what_make_traffic_writes(tmp_path: Path) -> None:
    out = tmp_path / "t.pcap"
    subprocess.run([sys.executable, str(EXAMPLES / "make_traffic.py"), str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == TRAFFIC.read_bytes()


@pytest.mark.skipif(shutil.which("clang") is None or shutil.which("make") is None, reason="no clang/make")
def test_committed_objects_are_what_make_builds(tmp_path: Path) -> None:
    for name in ("common.h", "Makefile", *(f"{n}.c" for n in NAMES)):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    subprocess.run(["make", "-C", str(tmp_path), *(f"{n}.o" for n in NAMES)], check=True, capture_output=True)
    for n in NAMES:
        fresh, committed = load_spec(tmp_path / f"{n}.o"), load_spec(EXAMPLES / f"{n}.o")
        assert list(fresh.program(n).insns) == list(committed.program(n).insns), n


# -- through the CLI ---------------------------------------------------------------

def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _test_run(capsys: pytest.CaptureFixture[str], name: str, tmp_path: Path,
              engine: str = "auto") -> tuple[list[int], list[bytes]]:
    out_pcap = tmp_path / f"{name}-{engine}.pcap"
    lines = _cli(capsys, "test-run", str(EXAMPLES / f"{name}.o"), "--pcap", str(TRAFFIC), "--json",
                 "--out", str(out_pcap), "--engine", engine).splitlines()
    docs = [json.loads(line) for line in lines]
    assert [d["index"] for d in docs] == list(range(len(FRAMES)))
    outputs = [p.data for p in read_packets(out_pcap)]
    for d, frame, data_out in zip(docs, FRAMES, outputs, strict=True):
        assert ("data_out" in d) == (data_out != frame)
        if "data_out" in d:
            assert bytes.fromhex(d["data_out"]) == data_out
    return [d["retval"] for d in docs], outputs


def _dump(capsys: pytest.CaptureFixture[str], name: str, map_name: str) -> dict[str, Any]:
    out = _cli(capsys, "map", "dump", str(EXAMPLES / f"{name}.o"), "--map", map_name, "--after-run",
               "--pcap", str(TRAFFIC), "--json")
    doc: dict[str, Any] = json.loads(out)
    return doc


@needs_objects
def test_firewall(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    verdicts, blocked, stats = firewall_model(FRAMES)
    retvals, outputs = _test_run(capsys, "xdp_firewall", tmp_path)
    assert retvals == verdicts
    assert outputs == FRAMES  # XDP_DROP packets are written too, unchanged
    dump = _dump(capsys, "xdp_firewall", "blocked")
    assert {e["key"]: e["value"] for e in dump["elements"]} == blocked
    dump = _dump(capsys, "xdp_firewall", "proto_stats")
    summed: dict[int, dict[str, int]] = {}
    for e in dump["elements"]:
        total = {"packets": sum(v["value"]["packets"] for v in e["values"]),
                 "bytes": sum(v["value"]["bytes"] for v in e["values"])}
        if total["packets"]:
            summed[e["key"]] = total
    assert summed == stats
    text = _cli(capsys, "test-run", str(EXAMPLES / "xdp_firewall.o"), "--pcap", str(TRAFFIC))
    assert "32 packets, 0 modified" in text
    assert "XDP_PASS  26" in text and "XDP_DROP  6" in text


@needs_objects
def test_sock_filter(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    retvals, _ = _test_run(capsys, "sock_filter", tmp_path)
    assert retvals == [sock_filter_model(f) for f in FRAMES]
    dump = _dump(capsys, "sock_filter", "matched")
    assert dump["elements"] == [{"key": 0, "key_hex": "00000000", "value": 8}]
    text = _cli(capsys, "test-run", str(EXAMPLES / "sock_filter.o"), "--pcap", str(TRAFFIC))
    assert "drop  24" in text and "keep  8" in text


@needs_objects
def test_tc_rewrite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    retvals, outputs = _test_run(capsys, "tc_rewrite", tmp_path)
    assert retvals == [TC_ACT_OK] * len(FRAMES)
    models = [tc_model(f) for f in FRAMES]
    assert outputs == [m[0] for m in models]  # incremental checksums equal recomputed ones
    dump = _dump(capsys, "tc_rewrite", "rewrites")
    assert [e["value"] for e in dump["elements"]] == [4, 2]


@needs_objects
def test_ringbuf_events(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    retvals, outputs = _test_run(capsys, "ringbuf_events", tmp_path)
    assert retvals == [XDP_PASS] * len(FRAMES) and outputs == FRAMES
    dump = _dump(capsys, "ringbuf_events", "events")
    assert [bytes.fromhex(r) for r in dump["records"]] == [event_model(f) for f in FRAMES]
    assert _dump(capsys, "ringbuf_events", "lost")["elements"][0]["value"] == 0


# -- against the kernel ------------------------------------------------------------

needs_kernel = pytest.mark.skipif(not kernel.available(), reason="bpf() is not available here")


@needs_kernel
@pytest.mark.parametrize("name", NAMES)
def test_kernel_runs_the_examples_as_the_models_say(name: str) -> None:
    """The models are checked against the kernel, so they are right about Linux too."""
    from kernel_objects import KernelObject

    with KernelObject(load_spec(EXAMPLES / f"{name}.o"), name) as ko:
        runs = [ko.test_run(f) for f in FRAMES]
        if name == "xdp_firewall":
            verdicts, blocked, stats = firewall_model(FRAMES)
            assert [r.retval for r in runs] == verdicts
            got = {int.from_bytes(k, "little"): struct.unpack("<QQ", v)
                   for k, v in ko.items("blocked").items()}
            assert got == {k: (v["packets"], v["bytes"]) for k, v in blocked.items()}
            sums = {int.from_bytes(k, "little"): _fold(v, 16) for k, v in ko.items("proto_stats").items()}
            assert {k: v for k, v in sums.items() if v[0]} == \
                {k: [v["packets"], v["bytes"]] for k, v in stats.items()}
        elif name == "sock_filter":
            assert [r.retval for r in runs] == [sock_filter_model(f) for f in FRAMES]
            # The kernel hands back the frame with the Ethernet header it pulled zeroed.
            assert [r.data_out for r in runs] == [bytes(14) + f[14:] for f in FRAMES]
        elif name == "tc_rewrite":
            assert [r.data_out for r in runs] == [tc_model(f)[0] for f in FRAMES]
        else:
            assert ko.ringbuf_records("events") == [event_model(f) for f in FRAMES]


def _fold(value: bytes, value_size: int) -> list[int]:
    """Per-CPU slots of u64 fields summed over the CPUs."""
    slot = (value_size + 7) // 8 * 8
    cols = [struct.unpack_from(f"<{value_size // 8}Q", value, c * slot) for c in range(len(value) // slot)]
    return [sum(c) for c in zip(*cols, strict=True)]


@needs_kernel
@needs_objects
@pytest.mark.parametrize("name", NAMES)
def test_pybpf_matches_the_kernel_packet_by_packet(name: str) -> None:
    from kernel_objects import KernelObject, possible_cpus
    from pybpf.objects import load_object

    spec = load_spec(EXAMPLES / f"{name}.o")
    obj = load_object(EXAMPLES / f"{name}.o", num_cpus=possible_cpus())
    prog = obj.programs[name]
    with KernelObject(spec, name) as ko:
        for i, frame in enumerate(FRAMES):
            ours, theirs = prog.test_run(frame), ko.test_run(frame)
            assert (ours.retval & 0xFFFFFFFF, bytes(ours.data_out)) == (theirs.retval, theirs.data_out), \
                f"packet {i}"
        for map_name, ms in spec.maps.items():
            if ms.type.name == "RINGBUF":
                assert obj.maps[map_name].consume() == ko.ringbuf_records(map_name)
                continue
            kernel_items = ko.items(map_name)
            m = obj.maps[map_name]
            ours_items = {k: bytes(m.lookup(k)) for k in m.keys_raw()}
            if ms.type.name.startswith("PERCPU"):
                # The CPU each run lands on differs: compare the per-CPU sums of each u64.
                assert {k: _fold(v, ms.value_size) for k, v in ours_items.items()} == \
                    {k: _fold(v, ms.value_size) for k, v in kernel_items.items()}, map_name
            else:
                assert ours_items == kernel_items, map_name


@needs_kernel
def test_cli_kernel_engine_gives_the_model_verdicts(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    retvals, outputs = _test_run(capsys, "xdp_firewall", tmp_path, engine="kernel")
    assert retvals == firewall_model(FRAMES)[0] and outputs == FRAMES
    retvals, outputs = _test_run(capsys, "tc_rewrite", tmp_path, engine="kernel")
    assert outputs == [tc_model(f)[0] for f in FRAMES]

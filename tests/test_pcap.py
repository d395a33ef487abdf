"""pybpf.pcap: pcap and pcapng reading, pcap writing, errors on damaged files."""

from __future__ import annotations

import contextlib
import io
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.errors import PyBpfError
from pybpf.pcap import CaptureError, CaptureReader, Packet, PcapWriter, read_packets, write_pcap

TRAFFIC = Path(__file__).resolve().parents[1] / "examples" / "traffic.pcap"


# -- builders for hand-made files -------------------------------------------------

def pcap_bytes(records: list[tuple[int, int, bytes, int]], *, order: str = "<", nano: bool = False,
               linktype: int = 1, snaplen: int = 65535) -> bytes:
    """(sec, frac, data, orig_len) records in a pcap file of the given byte order."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
    for sec, frac, data, orig in records:
        out += struct.pack(order + "IIII", sec, frac, len(data), orig) + data
    return out


def _pad(b: bytes) -> bytes:
    return b + bytes(-len(b) % 4)


def block(order: str, btype: int, body: bytes) -> bytes:
    body = _pad(body)
    total = 12 + len(body)
    return struct.pack(order + "II", btype, total) + body + struct.pack(order + "I", total)


def shb(order: str) -> bytes:
    return block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(order: str, linktype: int, snaplen: int = 0, options: bytes = b"") -> bytes:
    return block(order, 1, struct.pack(order + "HHI", linktype, 0, snaplen) + options)


def opt(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + _pad(value)


def epb(order: str, iface: int, ts: int, data: bytes, orig: int | None = None) -> bytes:
    return block(order, 6, struct.pack(order + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data),
                                       len(data) if orig is None else orig) + data)


def spb(order: str, data: bytes, orig: int | None = None) -> bytes:
    return block(order, 3, struct.pack(order + "I", len(data) if orig is None else orig) + data)


def opb(order: str, iface: int, ts: int, data: bytes) -> bytes:
    return block(order, 2, struct.pack(order + "HHIIII", iface, 0, ts >> 32, ts & 0xFFFFFFFF,
                                       len(data), len(data)) + data)


# -- pcap ------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_both_byte_orders_and_resolutions(order: str, nano: bool) -> None:
    raw = pcap_bytes([(10, 250, b"\x01\x02\x03", 60), (11, 0, b"", 0)], order=order, nano=nano,
                     linktype=101)
    packets = list(read_packets(raw))
    frac_ns = 250 if nano else 250_000
    assert packets == [Packet(10 * 10**9 + frac_ns, b"\x01\x02\x03", 60, 101),
                       Packet(11 * 10**9, b"", 0, 101)]
    reader = CaptureReader(raw)
    assert (reader.format, reader.nanosecond, reader.linktype) == ("pcap", nano, 101)


def test_pcap_fcs_bits_of_the_link_type_are_masked() -> None:
    raw = pcap_bytes([(0, 0, b"x", 1)], linktype=1 | 0x14000000)
    assert next(read_packets(raw)).linktype == 1


@pytest.mark.parametrize("nano", [False, True])
def test_writer_roundtrip(tmp_path: Path, nano: bool) -> None:
    packets = [Packet(1_700_000_000_123_456_789, bytes(range(60)), 60, 1),
               Packet(5_000, b"\xff" * 1514, 9000, 1)]
    path = tmp_path / "out.pcap"
    assert write_pcap(path, packets, nanosecond=nano) == 2
    back = list(read_packets(path))
    want_ts = [p.timestamp_ns if nano else p.timestamp_ns // 1000 * 1000 for p in packets]
    assert [p.timestamp_ns for p in back] == want_ts
    assert [(p.data, p.orig_len, p.linktype) for p in back] == [(p.data, p.orig_len, 1) for p in packets]


def test_writer_cuts_at_snaplen_and_keeps_original_length() -> None:
    buf = io.BytesIO()
    with PcapWriter(buf, snaplen=4) as w:
        w.write(b"abcdefgh")
    (p,) = read_packets(buf.getvalue())
    assert (p.data, p.orig_len) == (b"abcd", 8)


def test_writer_rejects_timestamps_a_pcap_cannot_hold() -> None:
    with PcapWriter(io.BytesIO()) as w, pytest.raises(CaptureError):
        w.write(b"", timestamp_ns=-1)


@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 999_999_999), st.binary(max_size=80)),
                max_size=8), st.booleans())
@settings(max_examples=60, deadline=None)
def test_writer_reader_roundtrip_property(recs: list[tuple[int, int, bytes]], nano: bool) -> None:
    buf = io.BytesIO()
    with PcapWriter(buf, nanosecond=nano) as w:
        for sec, ns, data in recs:
            w.write(data, timestamp_ns=sec * 10**9 + ns)
    back = list(read_packets(buf.getvalue()))
    assert [p.data for p in back] == [d for _, _, d in recs]
    assert [p.timestamp_ns for p in back] == [s * 10**9 + (n if nano else n // 1000 * 1000)
                                             for s, n, _ in recs]


# -- pcapng ----------------------------------------------------------------------

@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_interfaces_link_types_and_block_kinds(order: str) -> None:
    raw = (shb(order)
           + idb(order, 1, 65535)
           # Nanosecond interface with a 100 s offset.
           + idb(order, 101, 0, opt(order, 9, b"\x09") + opt(order, 14, struct.pack(order + "q", 100))
                 + opt(order, 0, b""))
           + block(order, 5, bytes(20))  # interface statistics: skipped
           + epb(order, 0, 1_500_000, b"eth-frame")
           + epb(order, 1, 7, b"ip-pkt", orig=100)
           + spb(order, b"simple")
           + opb(order, 1, 8, b"old")
           + block(order, 0x40000BAD, b"custom"))  # unknown/custom block: skipped
    packets = list(read_packets(raw))
    assert packets == [
        Packet(1_500_000_000, b"eth-frame", 9, 1, 0),
        Packet(100 * 10**9 + 7, b"ip-pkt", 100, 101, 1),
        Packet(0, b"simple", 6, 1, 0),
        Packet(100 * 10**9 + 8, b"old", 3, 101, 1),
    ]
    reader = CaptureReader(raw)
    assert reader.format == "pcapng"


def test_pcapng_binary_timestamp_resolution() -> None:
    # if_tsresol 0x8a: units of 2^-10 s.
    raw = shb("<") + idb("<", 1, 0, opt("<", 9, b"\x8a")) + epb("<", 0, 1024 + 512, b"x")
    assert next(read_packets(raw)).timestamp_ns == 1_500_000_000


def test_pcapng_simple_packet_block_is_cut_to_interface_snaplen() -> None:
    raw = shb("<") + idb("<", 1, 4) + spb("<", b"abcd", orig=10)
    (p,) = read_packets(raw)
    assert (p.data, p.orig_len) == (b"abcd", 10)


def test_pcapng_new_section_switches_byte_order_and_resets_interfaces() -> None:
    raw = shb("<") + idb("<", 1) + epb("<", 0, 1, b"a") + shb(">") + idb(">", 113) + epb(">", 0, 2, b"b")
    assert [(p.data, p.linktype) for p in read_packets(raw)] == [(b"a", 1), (b"b", 113)]
    bad = shb("<") + idb("<", 1) + shb("<") + epb("<", 0, 1, b"a")
    with pytest.raises(CaptureError, match="interface 0"):
        list(read_packets(bad))


# -- damaged input ---------------------------------------------------------------

def _sample_files() -> list[bytes]:
    return [pcap_bytes([(1, 2, b"abcdef", 6), (3, 4, b"gh", 2)]),
            pcap_bytes([(1, 2, b"abcdef", 6)], order=">", nano=True),
            shb("<") + idb("<", 1) + epb("<", 0, 5, b"abcdef") + spb("<", b"xy"),
            shb(">") + idb(">", 1) + opb(">", 0, 5, b"abcdef")]


@pytest.mark.parametrize("raw", _sample_files(), ids=["pcap", "pcap-be-ns", "pcapng", "pcapng-be"])
def test_every_truncation_is_a_clear_error_or_a_clean_prefix(raw: bytes) -> None:
    full = list(read_packets(raw))
    for cut in range(len(raw)):
        try:
            got = list(read_packets(raw[:cut]))
        except CaptureError as exc:
            assert isinstance(exc, PyBpfError) and isinstance(exc, ValueError)
            assert "truncated" in str(exc) or "empty" in str(exc) or "corrupt" in str(exc)
        else:  # cut exactly between records: the packets before it, nothing invented
            assert got == full[: len(got)]


def test_truncated_record_names_the_packet_and_offset() -> None:
    raw = pcap_bytes([(1, 2, b"abcdef", 6), (3, 4, b"ghij", 4)])
    with pytest.raises(CaptureError) as info:
        list(read_packets(raw[:-1]))
    assert info.value.record == 1 and info.value.offset == 24 + 16 + 6 + 16
    assert "packet 1" in str(info.value)


@pytest.mark.parametrize("raw, match", [
    (b"", "empty"),
    (b"\x00\x01\x02\x03" + bytes(40), "not a pcap"),
    (pcap_bytes([]) + struct.pack("<IIII", 0, 0, 0x7FFFFFFF, 1), "captured length"),
    (shb("<")[:-4] + b"\x00\x00\x00\x00", "trailing length"),
    (shb("<") + struct.pack("<II", 6, 13) + bytes(5), "total length"),
    (shb("<") + idb("<", 1) + block("<", 6, b"\x00" * 8), "needs 20"),
    (shb("<").replace(struct.pack("<I", 0x1A2B3C4D), b"\x00\x11\x22\x33"), "byte-order magic"),
])
def test_corrupt_files(raw: bytes, match: str) -> None:
    with pytest.raises(CaptureError, match=match):
        list(read_packets(raw))


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_garbage_never_escapes_as_a_raw_exception(tail: bytes) -> None:
    for head in (pcap_bytes([])[:24], shb("<"), b""):
        with contextlib.suppress(CaptureError):
            list(read_packets(head + tail))


def test_missing_file_is_a_capture_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot open"):
        list(read_packets(tmp_path / "nope.pcap"))


# -- streaming and interop ---------------------------------------------------------

class _CountingFile(io.RawIOBase):
    """A file that records how far it has been read."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)
        self.max_read = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        assert n >= 0, "the reader must never read to the end at once"
        data = self._buf.read(n)
        self.max_read = max(self.max_read, self._buf.tell())
        return data


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_reading_streams_one_record_at_a_time(fmt: str) -> None:
    n = 20_000
    if fmt == "pcap":
        raw = pcap_bytes([(i, 0, b"p" * 40, 40) for i in range(n)])
    else:
        raw = shb("<") + idb("<", 1) + b"".join(epb("<", 0, i, b"p" * 40) for i in range(n))
    f = _CountingFile(raw)
    it = iter(CaptureReader(f))  # type: ignore[arg-type]
    next(it)
    assert f.max_read < 200  # only the header and the first record
    assert sum(1 for _ in it) == n - 1


def test_example_capture_reads_and_tcpdump_agrees(tmp_path: Path) -> None:
    packets = list(read_packets(TRAFFIC))
    assert len(packets) == 32 and all(p.linktype == 1 for p in packets)
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump not installed")
    # tcpdump rewrites our file with nanosecond timestamps: the same packets come back.
    out = tmp_path / "ns.pcap"
    subprocess.run(["tcpdump", "-r", str(TRAFFIC), "-w", str(out), "--time-stamp-precision=nano"],
                   check=True, capture_output=True)
    reader = CaptureReader(out)
    again = list(reader)
    reader.close()
    assert reader.nanosecond
    assert again == packets


@pytest.mark.parametrize("order", ["<", ">"])
def test_libpcap_reads_our_pcapng_fixtures_as_we_do(tmp_path: Path, order: str) -> None:
    """tcpdump (libpcap) is the reference reader: it must see the same packets in a hand-made pcapng."""
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump not installed")
    frames = [p.data for p in read_packets(TRAFFIC)][:6]
    raw = (shb(order) + idb(order, 1, 0, opt(order, 9, b"\x09") + opt(order, 0, b""))
           + b"".join(epb(order, 0, 1_704_067_200_000_000_000 + 123 * i, f) for i, f in enumerate(frames))
           + block(order, 5, bytes(20)))
    ng, out = tmp_path / "in.pcapng", tmp_path / "out.pcap"
    ng.write_bytes(raw)
    subprocess.run(["tcpdump", "-r", str(ng), "-w", str(out), "--time-stamp-precision=nano"],
                   check=True, capture_output=True)
    theirs = [(p.timestamp_ns, p.data, p.orig_len, p.linktype) for p in read_packets(out)]
    ours = [(p.timestamp_ns, p.data, p.orig_len, p.linktype) for p in read_packets(ng)]
    assert ours == theirs and len(ours) == 6

"""Streaming readers for pcap (both byte orders, micro- and nanosecond) and pcapng.

The format is detected from the first four bytes.  Records are read one at a
time from the file object, never the whole file, so memory does not grow with
the capture.  Field layouts follow the libpcap savefile format
(pcap-savefile(5)) and the pcapng draft (draft-ietf-opsawg-pcapng).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from os import PathLike
from types import TracebackType
from typing import BinaryIO, Self

from .records import CaptureError, Packet

__all__ = ["CaptureReader", "read_packets"]

Source = str | PathLike[str] | bytes | bytearray | memoryview | BinaryIO

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D
BLOCK_IDB, BLOCK_OPB, BLOCK_SPB, BLOCK_EPB = 1, 2, 3, 6

# libpcap refuses records bigger than this whatever the snaplen says
# (MAXIMUM_SNAPLEN), and pcapng blocks bigger than 16 MiB (MAX_BLOCKSIZE); the
# bounds keep a corrupt length from asking for gigabytes.
_MAX_SNAPLEN = 262144
_MAX_BLOCK = 16 * 1024 * 1024
# libpcap's LT_LINKTYPE: the upper bits of the header's link type carry FCS flags.
_LINKTYPE_MASK = 0x03FFFFFF


class _Interface:
    """What a pcapng IDB says about the packets of one interface."""

    __slots__ = ("linktype", "snaplen", "tsresol_num", "tsresol_den", "tsoffset_ns")

    def __init__(self, linktype: int, snaplen: int) -> None:
        self.linktype = linktype
        self.snaplen = snaplen
        # Timestamp unit as a fraction of a second (default: microseconds).
        self.tsresol_num = 1
        self.tsresol_den = 1_000_000
        self.tsoffset_ns = 0

    def to_ns(self, ticks: int) -> int:
        return ticks * 1_000_000_000 * self.tsresol_num // self.tsresol_den + self.tsoffset_ns


class CaptureReader:
    """Iterate the packets of a pcap or pcapng capture.

    ``source`` is a path, the file's bytes, or a binary file object (left open
    when given as one; a path is closed by :meth:`close` or the ``with`` block).
    ``format`` is ``"pcap"`` or ``"pcapng"``; ``nanosecond`` tells whether a
    pcap file stores nanoseconds.
    """

    def __init__(self, source: Source) -> None:
        self._owned = False
        self._file: BinaryIO
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._file = io.BytesIO(bytes(source))
        elif isinstance(source, (str, PathLike)):
            try:
                self._file = open(source, "rb")  # noqa: SIM115 - closed by close()
            except OSError as exc:
                raise CaptureError(f"cannot open {source}: {exc.strerror}") from exc
            self._owned = True
        else:
            self._file = source
        self._pos = 0
        self._count = 0
        self.nanosecond = False
        self.format = ""
        # The link type of the file (pcap) or of its first interface (pcapng).
        self.linktype: int | None = None
        try:
            head = self._file.read(4)
            self._pos = len(head)
            if len(head) < 4:
                raise CaptureError("empty or truncated file: no capture header", offset=0)
            self._iter = self._start(head)
        except BaseException:
            self.close()
            raise

    # -- plumbing -----------------------------------------------------------

    def _read(self, n: int, what: str, *, allow_eof: bool = False) -> bytes:
        start = self._pos
        data = self._file.read(n)
        self._pos += len(data)
        if len(data) != n and not (allow_eof and not data):
            raise CaptureError(f"truncated {what}: expected {n} bytes, file ends after {len(data)}",
                               offset=start, record=self._count)
        return data

    def _start(self, head: bytes) -> Iterator[Packet]:
        if head == PCAPNG_SHB.to_bytes(4, "little"):
            self.format = "pcapng"
            return self._pcapng(head)
        for order in ("<", ">"):
            (magic,) = struct.unpack(order + "I", head)
            if magic in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
                self.format = "pcap"
                self.nanosecond = magic == PCAP_MAGIC_NS
                return self._pcap(order)
        raise CaptureError(f"not a pcap or pcapng file (magic {head.hex()})", offset=0)

    # -- pcap ---------------------------------------------------------------

    def _pcap(self, order: str) -> Iterator[Packet]:
        # The header is read now, not on the first next(), so linktype is known at once.
        _major, _minor, _zone, _sigfigs, snaplen, network = struct.unpack(
            order + "HHiIII", self._read(20, "pcap file header"))
        linktype = self.linktype = network & _LINKTYPE_MASK
        return self._pcap_records(order, snaplen, linktype)

    def _pcap_records(self, order: str, snaplen: int, linktype: int) -> Iterator[Packet]:
        scale = 1 if self.nanosecond else 1000
        limit = max(snaplen, _MAX_SNAPLEN)
        rec = struct.Struct(order + "IIII")
        while True:
            offset = self._pos
            head = self._read(16, "packet record header", allow_eof=True)
            if not head:
                return
            sec, frac, caplen, orig = rec.unpack(head)
            if caplen > limit:
                raise CaptureError(f"corrupt record: captured length {caplen} exceeds {limit}",
                                   offset=offset, record=self._count)
            data = self._read(caplen, "packet data")
            yield Packet(sec * 1_000_000_000 + frac * scale, data, max(orig, caplen), linktype)
            self._count += 1

    # -- pcapng -------------------------------------------------------------

    def _pcapng(self, first: bytes) -> Iterator[Packet]:
        order = "<"
        interfaces: list[_Interface] = []
        btype_raw = first
        while True:
            offset = self._pos - 4
            if btype_raw == PCAPNG_SHB.to_bytes(4, "little"):
                # A section header resets the byte order and the interface list.
                rest = self._read(8, "section header block")
                bom = rest[4:8]
                if bom == PCAPNG_BOM.to_bytes(4, "little"):
                    order = "<"
                elif bom == PCAPNG_BOM.to_bytes(4, "big"):
                    order = ">"
                else:
                    raise CaptureError(f"section header with bad byte-order magic {bom.hex()}",
                                       offset=offset)
                (total,) = struct.unpack(order + "I", rest[:4])
                body = self._block_body(order, total, 12, offset, "section header block")
                major = struct.unpack(order + "H", body[:2])[0] if len(body) >= 2 else 0
                if major != 1:
                    raise CaptureError(f"unsupported pcapng major version {major}", offset=offset)
                interfaces = []
            else:
                (btype,) = struct.unpack(order + "I", btype_raw)
                (total,) = struct.unpack(order + "I", self._read(4, "block header"))
                body = self._block_body(order, total, 8, offset, f"block of type {btype:#x}")
                packet = self._pcapng_block(order, btype, body, interfaces, offset)
                if packet is not None:
                    yield packet
                    self._count += 1
            btype_raw = self._read(4, "block header", allow_eof=True)
            if not btype_raw:
                return

    def _block_body(self, order: str, total: int, consumed: int, offset: int, what: str) -> bytes:
        if total % 4 or total < consumed + 4 or total > _MAX_BLOCK:
            raise CaptureError(f"corrupt {what}: total length {total}", offset=offset,
                               record=self._count)
        body = self._read(total - consumed - 4, what)
        (trailer,) = struct.unpack(order + "I", self._read(4, what))
        if trailer != total:
            raise CaptureError(f"corrupt {what}: trailing length {trailer} != leading {total}",
                               offset=offset, record=self._count)
        return body

    def _pcapng_block(self, order: str, btype: int, body: bytes, interfaces: list[_Interface],
                      offset: int) -> Packet | None:
        def need(n: int) -> None:
            if len(body) < n:
                raise CaptureError(f"corrupt block of type {btype:#x}: body of {len(body)} bytes, "
                                   f"needs {n}", offset=offset, record=self._count)

        def iface(index: int) -> _Interface:
            if index >= len(interfaces):
                raise CaptureError(f"packet on interface {index}, but only {len(interfaces)} "
                                   "interfaces are described", offset=offset, record=self._count)
            return interfaces[index]

        if btype == BLOCK_IDB:
            need(8)
            linktype, _reserved, snaplen = struct.unpack(order + "HHI", body[:8])
            ifc = _Interface(linktype, snaplen)
            self._idb_options(order, body[8:], ifc, offset)
            interfaces.append(ifc)
            if self.linktype is None:
                self.linktype = linktype
            return None
        if btype == BLOCK_EPB:
            need(20)
            index, hi, lo, caplen, orig = struct.unpack(order + "IIIII", body[:20])
            ifc = iface(index)
            need(20 + caplen)
            return Packet(ifc.to_ns(hi << 32 | lo), body[20:20 + caplen], max(orig, caplen),
                          ifc.linktype, index)
        if btype == BLOCK_SPB:
            need(4)
            (orig,) = struct.unpack(order + "I", body[:4])
            ifc = iface(0)
            # No captured length: min(original length, snaplen of interface 0).
            caplen = min(orig, ifc.snaplen) if ifc.snaplen else orig
            need(4 + caplen)
            # An SPB has no timestamp.
            return Packet(0, body[4:4 + caplen], orig, ifc.linktype, 0)
        if btype == BLOCK_OPB:
            need(20)
            index, _drops, hi, lo, caplen, orig = struct.unpack(order + "HHIIII", body[:20])
            ifc = iface(index)
            need(20 + caplen)
            return Packet(ifc.to_ns(hi << 32 | lo), body[20:20 + caplen], max(orig, caplen),
                          ifc.linktype, index)
        return None  # name resolution, statistics, custom ...: not packets

    def _idb_options(self, order: str, opts: bytes, ifc: _Interface, offset: int) -> None:
        pos = 0
        while pos + 4 <= len(opts):
            code, length = struct.unpack(order + "HH", opts[pos:pos + 4])
            if code == 0:
                return
            value = opts[pos + 4:pos + 4 + length]
            if len(value) != length:
                raise CaptureError("corrupt interface description: option runs past the block",
                                   offset=offset)
            if code == 9 and length == 1:  # if_tsresol
                exp = value[0] & 0x7F
                if value[0] & 0x80:
                    ifc.tsresol_num, ifc.tsresol_den = 1, 1 << exp
                else:
                    ifc.tsresol_num, ifc.tsresol_den = 1, 10 ** exp
            elif code == 14 and length == 8:  # if_tsoffset, seconds
                ifc.tsoffset_ns = struct.unpack(order + "q", value)[0] * 1_000_000_000
            pos += 4 + (length + 3) // 4 * 4

    # -- public -------------------------------------------------------------

    @property
    def position(self) -> int:
        """Bytes of the file consumed so far (for progress reporting)."""
        return self._pos

    def __iter__(self) -> Iterator[Packet]:
        return self._iter

    def __next__(self) -> Packet:
        return next(self._iter)

    def close(self) -> None:
        if self._owned:
            self._file.close()
            self._owned = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def read_packets(source: Source) -> Iterator[Packet]:
    """Yield every packet of a pcap or pcapng capture, in file order.

    A path is opened and closed by the generator itself.
    """
    with CaptureReader(source) as reader:
        yield from reader

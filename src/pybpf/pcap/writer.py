"""A pcap writer (little-endian, micro- or nanosecond timestamps).

Only classic pcap is written: every tool reads it, and one link type per
file is all pybpf's outputs need.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from os import PathLike
from types import TracebackType
from typing import BinaryIO, Self

from .reader import PCAP_MAGIC_NS, PCAP_MAGIC_US
from .records import LINKTYPE_ETHERNET, CaptureError, Packet

__all__ = ["PcapWriter", "write_pcap"]

_RECORD = struct.Struct("<IIII")


class PcapWriter:
    """Write packets to a pcap file, one record at a time.

    ``target`` is a path (created or truncated, closed by :meth:`close`) or
    a binary file object (left open).  Packets longer than ``snaplen`` are cut
    to it, keeping their original length, as a capture would.
    """

    def __init__(self, target: str | PathLike[str] | BinaryIO, *, linktype: int = LINKTYPE_ETHERNET,
                 snaplen: int = 262144, nanosecond: bool = False) -> None:
        if not 0 <= linktype < (1 << 32) or not 0 < snaplen < (1 << 32):
            raise CaptureError(f"bad pcap header: linktype {linktype}, snaplen {snaplen}")
        self._owned = isinstance(target, (str, PathLike))
        self._file: BinaryIO
        if isinstance(target, (str, PathLike)):
            try:
                self._file = open(target, "wb")  # noqa: SIM115 - closed by close()
            except OSError as exc:
                raise CaptureError(f"cannot create {target}: {exc.strerror}") from exc
        else:
            self._file = target
        self.linktype = linktype
        self.snaplen = snaplen
        self.nanosecond = nanosecond
        self.count = 0
        magic = PCAP_MAGIC_NS if nanosecond else PCAP_MAGIC_US
        self._file.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))

    def write(self, data: bytes, *, timestamp_ns: int = 0, orig_len: int | None = None) -> None:
        """Append one packet; ``orig_len`` defaults to ``len(data)``."""
        if timestamp_ns < 0 or timestamp_ns >= (1 << 32) * 1_000_000_000:
            raise CaptureError(f"timestamp {timestamp_ns} ns does not fit a pcap record",
                               record=self.count)
        orig = len(data) if orig_len is None else max(orig_len, len(data))
        data = bytes(data[: self.snaplen])
        sec, ns = divmod(timestamp_ns, 1_000_000_000)
        frac = ns if self.nanosecond else ns // 1000
        self._file.write(_RECORD.pack(sec, frac, len(data), min(orig, 0xFFFFFFFF)) + data)
        self.count += 1

    def write_packet(self, packet: Packet) -> None:
        """Append a :class:`Packet` read elsewhere (its link type is not checked)."""
        self.write(packet.data, timestamp_ns=packet.timestamp_ns, orig_len=packet.orig_len)

    def close(self) -> None:
        if self._owned:
            self._file.close()
            self._owned = False
        else:
            self._file.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def write_pcap(target: str | PathLike[str] | BinaryIO, packets: Iterable[Packet | bytes], *,
               linktype: int = LINKTYPE_ETHERNET, nanosecond: bool = False) -> int:
    """Write ``packets`` (Packet records or raw bytes) to a pcap file; returns the count."""
    with PcapWriter(target, linktype=linktype, nanosecond=nanosecond) as w:
        for p in packets:
            if isinstance(p, Packet):
                w.write_packet(p)
            else:
                w.write(p)
        return w.count

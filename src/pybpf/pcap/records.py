"""The record type and the error shared by the pcap readers and writer."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PyBpfError

__all__ = ["LINKTYPE_ETHERNET", "LINKTYPE_RAW", "CaptureError", "Packet"]

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101  # raw IPv4/IPv6, no link-layer header


class CaptureError(PyBpfError, ValueError):
    """A capture file that is truncated, corrupt or of an unknown format.

    ``offset`` is the byte offset of the damaged header or block and
    ``record`` the 0-based index of the packet being read, when known.
    """

    def __init__(self, reason: str, *, offset: int | None = None, record: int | None = None) -> None:
        self.offset = offset
        self.record = record
        super().__init__(reason)

    def _format(self) -> str:
        where = []
        if self.record is not None:
            where.append(f"packet {self.record}")
        if self.offset is not None:
            where.append(f"offset {self.offset:#x}")
        return f"{', '.join(where)}: {self.reason}" if where else self.reason


@dataclass(frozen=True, slots=True)
class Packet:
    """One captured packet.

    ``timestamp_ns`` counts nanoseconds since the Unix epoch (pcapng
    timestamps in other units are converted); ``orig_len`` is the length on
    the wire, at least ``len(data)``; ``interface`` is the pcapng interface
    index (always 0 for pcap).
    """

    timestamp_ns: int
    data: bytes
    orig_len: int
    linktype: int
    interface: int = 0

"""Packet captures: read pcap and pcapng, write pcap.

Readers stream: a 100,000-packet file is read one record at a time, so
memory stays flat whatever the file size.  Every record becomes a
:class:`Packet` with its timestamp in nanoseconds, the captured bytes, the
original length on the wire and the link type of the interface it came from.

>>> import io
>>> from pybpf.pcap import PcapWriter, read_packets
>>> buf = io.BytesIO()
>>> with PcapWriter(buf) as w:
...     w.write(b"\\x01\\x02", timestamp_ns=1_500_000_000)
>>> [(p.timestamp_ns, p.data, p.linktype) for p in read_packets(buf.getvalue())]
[(1500000000, b'\\x01\\x02', 1)]

Malformed or truncated files raise :class:`CaptureError` (a
:class:`~pybpf.errors.PyBpfError` and a ``ValueError``) naming the byte
offset and the record; packets before the damage have been yielded already.
"""

from .reader import CaptureReader, read_packets
from .records import LINKTYPE_ETHERNET, LINKTYPE_RAW, CaptureError, Packet
from .writer import PcapWriter, write_pcap

__all__ = [
    "LINKTYPE_ETHERNET",
    "LINKTYPE_RAW",
    "CaptureError",
    "CaptureReader",
    "Packet",
    "PcapWriter",
    "read_packets",
    "write_pcap",
]

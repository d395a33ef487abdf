"""The address space a program sees: a table of :class:`Region` objects.

A program works with 64-bit addresses.  Each region (the input buffer, a stack
frame, later packets, map values and contexts) is a ``bytearray`` placed at a
base address chosen by :class:`Memory`:

* address 0 (NULL) and the first 1 MiB are never mapped, so NULL plus a small
  offset always faults;
* regions are separated by unmapped guard gaps, so running off the end of one
  region never lands in the next;
* nothing is mapped in the top 4 GiB, so ``addr + off`` that wraps around 2**64
  (the result is masked to 64 bits) can never reach a region.

Every access must fit entirely inside one region and respect its write flag,
otherwise :class:`~pybpf.errors.MemoryAccessError` is raised and nothing is
written.  Lookups bisect over the sorted bases.

>>> mem = Memory()
>>> r = mem.add("mem", b"\\x01\\x02\\x03\\x04")
>>> hex(mem.load(r.base, 2))
'0x201'
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass, field

from ..errors import MemoryAccessError

__all__ = ["ALIGN", "GUARD", "HIGH_LIMIT", "LOW_LIMIT", "MASK64", "Memory", "Region"]

MASK64 = (1 << 64) - 1
LOW_LIMIT = 0x10_0000  # nothing below 1 MiB: NULL + offset always faults
HIGH_LIMIT = 1 << 47  # bases stay in a user-space-like range, far from 2**64
GUARD = 0x1000  # at least one unmapped page between two regions
NULL_LIMIT = 0x1_0000  # like the kernel's mmap_min_addr: below this a fault is a NULL dereference
NEAR = 0x10_0000  # further than this from every region, the distance is not worth printing
ALIGN = 0x1000  # bases are page aligned, so natural alignment within a region is preserved

# One pre-built Struct per (size, signedness) keeps the checked accessors cheap.
_UNSIGNED = {1: struct.Struct("<B"), 2: struct.Struct("<H"), 4: struct.Struct("<I"), 8: struct.Struct("<Q")}


@dataclass(eq=False, slots=True)
class Region:
    """A mapped range ``[base, base + size)`` backed by ``buffer``.

    ``kind`` says what the region is ("mem", "stack", "packet", "ctx",
    "map_value" ...) so later layers (ctx field rewrites, map value pointers)
    can attach meaning without changing the lookup.  Regions compare by
    identity: two equal buffers at different addresses are different regions.
    """

    name: str
    base: int
    buffer: bytearray
    writable: bool = True
    kind: str = "mem"
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.buffer)

    @property
    def end(self) -> int:
        """One past the last byte."""
        return self.base + len(self.buffer)

    def describe(self) -> str:
        return f"region '{self.name}' [{self.base:#x}, {self.end:#x})"

    def __repr__(self) -> str:
        flags = "rw" if self.writable else "ro"
        return f"Region({self.name!r}, {self.kind}, {self.base:#x}+{self.size}, {flags})"


class Memory:
    """The table of mapped regions, with checked accessors.

    Values are read and written little-endian (the host order of every
    platform pybpf targets).
    """

    def __init__(self) -> None:
        self._bases: list[int] = []  # sorted, parallel to _regions
        self._regions: list[Region] = []
        # Bumped whenever a region is unmapped.  Engines that cache "the region at
        # these addresses" (the interpreter's per-instruction caches) drop their
        # caches when it changes: freed addresses are reused, so a cached
        # (base, limit, buffer) could otherwise name a dead buffer for a live address.
        self.generation = 0

    # -- the table --------------------------------------------------------------------
    @property
    def regions(self) -> tuple[Region, ...]:
        return tuple(self._regions)

    def add(self, name: str, data: bytes | bytearray | int, *, writable: bool = True,
            kind: str = "mem") -> Region:
        """Map ``data`` at a fresh base address and return its region.

        A ``bytearray`` is used in place (the caller sees the program's writes);
        ``bytes`` are copied; an ``int`` maps that many zero bytes.
        """
        if isinstance(data, int):
            buffer = bytearray(data)
        elif isinstance(data, bytearray):
            buffer = data
        else:
            buffer = bytearray(data)
        base = self._find_base(len(buffer))
        region = Region(name, base, buffer, writable, kind)
        i = bisect.bisect_left(self._bases, base)
        self._bases.insert(i, base)
        self._regions.insert(i, region)
        return region

    def remove(self, region: Region) -> None:
        """Unmap ``region``; later accesses to its addresses fault."""
        i = bisect.bisect_left(self._bases, region.base)
        if i < len(self._regions) and self._regions[i] is region:
            del self._bases[i]
            del self._regions[i]
            self.generation += 1
            return
        raise ValueError(f"{region!r} is not mapped")

    def _find_base(self, size: int) -> int:
        # First fit: the lowest aligned address with a guard gap on both sides.
        # Reusing freed space keeps addresses small and stable across runs.
        span = max(size, 1)
        candidate = LOW_LIMIT
        for region in self._regions:
            if candidate + span + GUARD <= region.base:
                return candidate
            candidate = max(candidate, _align_up(region.end + GUARD))
        if candidate + span > HIGH_LIMIT:
            raise MemoryError("pybpf address space exhausted")
        return candidate

    def find(self, addr: int) -> Region | None:
        """The region containing ``addr``, or None."""
        i = bisect.bisect_right(self._bases, addr) - 1
        if i >= 0:
            region = self._regions[i]
            if addr < region.base + len(region.buffer):
                return region
        return None

    def region_named(self, name: str) -> Region | None:
        for region in self._regions:
            if region.name == name:
                return region
        return None

    # -- checking -----------------------------------------------------------------------
    def check(self, addr: int, size: int, write: bool, *, pc: int | None = None,
              insn: str | None = None, what: str | None = None) -> Region:
        """The region holding ``[addr, addr+size)``, or raise MemoryAccessError.

        ``addr`` is masked to 64 bits first, as the program computed it.
        """
        addr &= MASK64
        i = bisect.bisect_right(self._bases, addr) - 1
        if i >= 0:
            region = self._regions[i]
            if addr + size <= region.base + len(region.buffer) and (region.writable or not write):
                return region
        raise self._fault(addr, size, write, i, pc=pc, insn=insn, what=what)

    def _fault(self, addr: int, size: int, write: bool, i: int, *, pc: int | None,
               insn: str | None, what: str | None) -> MemoryAccessError:
        kind = what or ("store" if write else "load")
        region = self._regions[i] if i >= 0 else None
        after = self._regions[i + 1] if i + 1 < len(self._regions) else None
        detail: str
        nearest: Region | None
        if region is not None and addr < region.end:
            if addr + size > region.end:
                detail = f"{addr + size - region.end} bytes past the end of"
                nearest = region
            else:  # inside, so the permission failed
                detail = "write to read-only"
                nearest = region
            reason = f"out of bounds memory {kind}" if detail != "write to read-only" else \
                f"invalid memory {kind}"
        else:
            reason = f"out of bounds memory {kind}"
            nearest, detail = _nearest(addr, size, region, after)
        where = f" at pc {pc}" if pc is not None else ""
        text = f"{reason}{where}: addr {addr:#x}, size {size}"
        described = nearest.describe() if nearest is not None else None
        if nearest is not None:
            text += f", {detail} {described}"
        else:
            text += ", no memory is mapped"
        # The message already names the pc, so the error carries it as a field only.
        err = MemoryAccessError(text, pc=None, insn=insn, addr=addr, size=size, write=write,
                                nearest=described)
        err.pc = pc
        return err

    # -- checked accessors (helpers, tests, slow paths) ----------------------------------
    def load(self, addr: int, size: int, *, pc: int | None = None, insn: str | None = None) -> int:
        """Read an unsigned little-endian value of ``size`` (1, 2, 4 or 8) bytes."""
        region = self.check(addr, size, False, pc=pc, insn=insn)
        return int(_UNSIGNED[size].unpack_from(region.buffer, (addr & MASK64) - region.base)[0])

    def store(self, addr: int, size: int, value: int, *, pc: int | None = None,
              insn: str | None = None) -> None:
        """Write the low ``size`` bytes of ``value``, little-endian."""
        region = self.check(addr, size, True, pc=pc, insn=insn)
        _UNSIGNED[size].pack_into(region.buffer, (addr & MASK64) - region.base,
                                  value & ((1 << (8 * size)) - 1))

    def read(self, addr: int, n: int) -> bytes:
        if n == 0:
            return b""
        region = self.check(addr, n, False)
        start = (addr & MASK64) - region.base
        return bytes(region.buffer[start:start + n])

    def write(self, addr: int, data: bytes | bytearray) -> None:
        if not data:
            return
        region = self.check(addr, len(data), True)
        start = (addr & MASK64) - region.base
        region.buffer[start:start + len(data)] = data

    def read_cstr(self, addr: int, max: int = 4096) -> bytes:
        """A NUL-terminated string (without the NUL); at most ``max`` bytes are scanned.

        Faults if the string runs off its region before a NUL or the limit.
        """
        region = self.check(addr, 1, False, what="string read")
        start = (addr & MASK64) - region.base
        stop = min(len(region.buffer), start + max)
        nul = region.buffer.find(0, start, stop)
        if nul >= 0:
            return bytes(region.buffer[start:nul])
        if stop - start >= max:
            return bytes(region.buffer[start:stop])
        raise self._fault(region.end, 1, False, self._regions.index(region), pc=None, insn=None,
                          what="string read")

    def __repr__(self) -> str:
        return f"Memory({', '.join(repr(r) for r in self._regions)})"


def _align_up(value: int) -> int:
    return (value + ALIGN - 1) & ~(ALIGN - 1)


def _nearest(addr: int, size: int, before: Region | None, after: Region | None
             ) -> tuple[Region | None, str]:
    """The closer of the regions around an unmapped ``addr``, and how far off it is."""
    d_before = addr - before.end + 1 if before is not None else None  # bytes past the end
    d_after = after.base - addr if after is not None else None  # bytes before the start
    nearest: Region | None
    if d_before is not None and (d_after is None or d_before <= d_after):
        nearest, distance = before, d_before
        detail = f"{addr + size - before.end} bytes past the end of" if before else ""
    elif d_after is not None:
        nearest, distance = after, d_after
        detail = f"{d_after} bytes before the start of"
    else:
        return None, ""
    if addr < NULL_LIMIT:
        return nearest, "NULL pointer dereference; nearest is"
    if distance > NEAR:
        return nearest, "not near any mapped region; nearest is"
    return nearest, detail

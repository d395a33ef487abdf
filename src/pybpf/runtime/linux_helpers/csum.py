"""Internet checksum arithmetic as the kernel does it (include/net/checksum.h, x86 csum_partial).

Values are handled as the 16/32-bit words a little-endian CPU loads from
memory, exactly as the kernel's ``__sum16``/``__wsum`` are: one's complement
sums do not care about byte order as long as every operand has the same.
"""

from __future__ import annotations

__all__ = ["csum_add", "csum_fold", "csum_partial", "csum_replace2", "csum_replace4",
           "csum_replace_by_diff", "csum_sub", "from32to16"]

M32 = 0xFFFF_FFFF


def csum_add(a: int, b: int) -> int:
    s = (a & M32) + (b & M32)
    return (s + (s >> 32)) & M32


def csum_sub(a: int, b: int) -> int:
    return csum_add(a, ~b & M32)


def csum_fold(s: int) -> int:
    """32-bit partial sum -> complemented 16-bit checksum."""
    s &= M32
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def from32to16(s: int) -> int:
    """csum_from32to16(): fold a 32-bit sum into 16 bits, not complemented."""
    s &= M32
    s = (s & 0xFFFF) + (s >> 16)
    return (s & 0xFFFF) + (s >> 16)


def csum_unfold(s: int) -> int:
    return s & 0xFFFF


def csum_replace4(check: int, old: int, new: int) -> int:
    """csum_replace4(): the new checksum after a 32-bit field changed from ``old`` to ``new``."""
    return csum_fold(csum_add(csum_sub(~csum_unfold(check) & M32, old), new))


def csum_replace2(check: int, old: int, new: int) -> int:
    """csum_replace2(): ``~csum16_add(csum16_sub(~check, old), new)``."""
    def add16(a: int, b: int) -> int:
        s = (a & 0xFFFF) + (b & 0xFFFF)
        return (s + (s >> 16)) & 0xFFFF
    return ~add16(add16(~check & 0xFFFF, ~old & 0xFFFF), new) & 0xFFFF


def csum_replace_by_diff(check: int, diff: int) -> int:
    return csum_fold(csum_add(diff, ~csum_unfold(check) & M32))


def csum_partial(data: bytes, seed: int) -> int:
    """x86_64 csum_partial(): 64-bit one's complement sum of LE words, folded to 32 bits."""
    total = seed & M32
    padded = data + bytes(-len(data) % 8)
    for i in range(0, len(padded), 8):
        total += int.from_bytes(padded[i:i + 8], "little")
        if total >> 64:
            total = (total & ((1 << 64) - 1)) + 1
    s = (total >> 32) + (total & M32)
    return (s + (s >> 32)) & M32

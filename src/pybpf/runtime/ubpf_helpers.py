"""The test helpers uBPF's conformance tests call (ids 0-5).

They follow the table in section 6.3 of ``shared/conformance/README.md``,
which uBPF registers both in its test binary and its conformance plugin.
"""

from __future__ import annotations

import math

from .helpers import HelperContext, HelperRegistry
from .memory import MASK64

__all__ = ["ubpf_test_helpers"]


def gather_bytes(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    return (r1 & 0xFF) << 32 | (r2 & 0xFF) << 24 | (r3 & 0xFF) << 16 | (r4 & 0xFF) << 8 | (r5 & 0xFF)


def memfrob(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    # XOR in place in the program's memory; a bad pointer faults like a program access.
    data = ctx.memory.read(r1, r2)
    ctx.memory.write(r1, bytes(b ^ 0x2A for b in data))
    return 0


def no_op(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    # uBPF's test binary trashes host registers here; r6-r9 surviving is what's tested,
    # and Python locals cannot be trashed, so doing nothing is faithful.
    return 0


def sqrti(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    # The uBPF test binary takes a 32-bit argument.
    return math.isqrt(r1 & 0xFFFF_FFFF)


def strcmp_ext(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    a = ctx.memory.read_cstr(r1)
    b = ctx.memory.read_cstr(r2)
    # C strcmp: difference of the first differing bytes (as unsigned char), as an int.
    for x, y in zip(a + b"\0", b + b"\0", strict=False):
        if x != y:
            return (x - y) & MASK64
    return 0


def unwind(ctx: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    return r1


def ubpf_test_helpers() -> HelperRegistry:
    """A fresh registry with uBPF's test helpers 0-5 (5 is the unwind helper)."""
    reg = HelperRegistry()
    reg.register(0, gather_bytes, name="gather_bytes")
    reg.register(1, memfrob, name="memfrob")
    reg.register(2, no_op, name="no_op")
    reg.register(3, sqrti, name="sqrti")
    reg.register(4, strcmp_ext, name="strcmp_ext")
    reg.register(5, unwind, name="unwind", unwind=True)
    return reg

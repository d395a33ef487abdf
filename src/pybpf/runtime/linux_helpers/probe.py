"""probe_read(_kernel/_user)(_str): copy from any address, never fault.

In the kernel these read with ``copy_from_kernel_nofault``: an unmapped
source makes the helper return -EFAULT and zero the destination.  pybpf's
"kernel memory" is the run's :class:`~pybpf.runtime.memory.Memory`.
"""

from __future__ import annotations

import errno as E

from ...errors import MemoryAccessError
from ...isa.helper_ids import HelperId as H
from ..helpers import HelperContext
from .env import Env, neg

__all__ = ["HELPERS"]


def probe_read(env: Env, h: HelperContext, r1: int, r2: int, r3: int, *_: int) -> int:
    size = r2 & 0xFFFF_FFFF
    if size:  # the destination must be writable, as the verifier makes sure
        env.memory.check(r1, size, True)
    try:
        data = env.memory.read(r3, size)
    except MemoryAccessError:
        env.memory.write(r1, bytes(size))
        return neg(E.EFAULT)
    env.memory.write(r1, data)
    return 0


def probe_read_str(env: Env, h: HelperContext, r1: int, r2: int, r3: int, *_: int) -> int:
    """strncpy_from_*_nofault: copies up to size-1 bytes plus NUL; returns the length with the NUL."""
    size = r2 & 0xFFFF_FFFF
    if size == 0:
        return 0
    env.memory.check(r1, size, True)
    out = bytearray()
    addr = r3
    while len(out) < size - 1:
        region = env.memory.find(addr)
        if region is None:
            # Like the kernel: a fault before the NUL is -EFAULT with the destination zeroed.
            env.memory.write(r1, bytes(size))
            return neg(E.EFAULT)
        byte = region.buffer[addr - region.base]
        if byte == 0:
            break
        out.append(byte)
        addr += 1
    env.memory.write(r1, bytes(out) + b"\0")
    return len(out) + 1


HELPERS = {
    H.probe_read: probe_read, H.probe_read_kernel: probe_read, H.probe_read_user: probe_read,
    H.probe_read_str: probe_read_str, H.probe_read_kernel_str: probe_read_str,
    H.probe_read_user_str: probe_read_str,
}

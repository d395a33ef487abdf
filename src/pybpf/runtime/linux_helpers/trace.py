"""trace_printk, trace_vprintk, snprintf and strncmp (kernel/trace/bpf_trace.c, helpers.c).

Formats follow ``bpf_bprintf_prepare``: the specifiers it accepts are
``%d %i %u %x %X %c %s %p %px %pK %pB %pi4 %pI4 %pi6 %pI6`` with flags
``0 + - space``, a width, a precision, and ``l``/``ll`` length modifiers;
``%%`` is a literal percent.  Anything else, a non-printable character, or
more specifiers than arguments is -EINVAL, as in the kernel.  ``%s`` of an
unreadable address prints as an empty string (the kernel does the same: the
copy faults and the buffer is left empty).
"""

from __future__ import annotations

import errno as E

from ...errors import MemoryAccessError, PyBpfError
from ...isa.helper_ids import HelperId as H
from ..helpers import HelperContext
from .env import Env, neg

__all__ = ["HELPERS", "MAX_BPRINTF_VARARGS", "format_bprintf"]

MAX_BPRINTF_VARARGS = 12
MAX_TRACE_PRINTK_VARARGS = 3
MAX_BPRINTF_BUF = 1024


class _BadFormat(PyBpfError, ValueError):
    pass


def _cstr(env: Env, addr: int, limit: int = MAX_BPRINTF_BUF) -> bytes:
    try:
        return env.memory.read_cstr(addr, limit)
    except MemoryAccessError:
        return b""


def format_bprintf(env: Env, fmt: bytes, args: list[int]) -> str:
    """Format ``fmt`` with the 64-bit ``args`` as bstr_printf() would; _BadFormat if refused."""
    out: list[str] = []
    i = 0
    used = 0
    n = len(fmt)
    while i < n:
        c = chr(fmt[i])
        if not (c.isprintable() or c.isspace()) or fmt[i] > 127:
            raise _BadFormat(f"non-printable character {fmt[i]:#x} in format")
        if c != "%":
            out.append(c)
            i += 1
            continue
        if i + 1 < n and fmt[i + 1] == ord("%"):
            out.append("%")
            i += 2
            continue
        start = i
        i += 1
        while i < n and chr(fmt[i]) in "0+- ":
            i += 1
        while i < n and chr(fmt[i]).isdigit():
            i += 1
        if i < n and fmt[i] == ord("."):
            i += 1
            while i < n and chr(fmt[i]).isdigit():
                i += 1
        spec = fmt[start + 1:i].decode()
        if used >= len(args):
            raise _BadFormat("more format specifiers than arguments")
        if i >= n:
            raise _BadFormat("format ends inside a specifier")
        conv = chr(fmt[i])
        arg = args[used]
        used += 1
        if conv == "p":
            i += 1
            out.append(_pointer(env, fmt, i, arg))
            # consume the pointer kind's suffix
            rest = fmt[i:i + 3]
            if rest[:1] in (b"K", b"x", b"B"):
                i += 1
            elif rest[:2] in (b"i4", b"I4", b"i6", b"I6"):
                i += 2
            elif rest[:2] in (b"ks", b"us"):
                out[-1] = _cstr(env, arg).decode(errors="replace")
                i += 2
            continue
        if conv == "s":
            out.append(("%" + spec + "s") % _cstr(env, arg).decode(errors="replace"))
            i += 1
            continue
        if conv == "c":
            out.append(("%" + spec + "c") % chr(arg & 0xFF))
            i += 1
            continue
        bits = 32
        if conv == "l":
            bits = 64
            i += 1
            if i < n and fmt[i] == ord("l"):
                i += 1
            if i >= n:
                raise _BadFormat("format ends inside a specifier")
            conv = chr(fmt[i])
        if conv not in "diuxX":
            raise _BadFormat(f"unsupported format specifier %{spec}{conv}")
        value = arg & ((1 << bits) - 1)
        if conv in "di" and value >> (bits - 1):
            value -= 1 << bits
        pyconv = "d" if conv in "diu" else conv
        out.append(("%" + spec + pyconv) % value)
        i += 1
    return "".join(out)


def _pointer(env: Env, fmt: bytes, i: int, arg: int) -> str:
    kind = fmt[i:i + 2]
    if kind in (b"i4", b"I4", b"i6", b"I6"):
        size = 4 if kind[1:] == b"4" else 16
        try:
            raw = env.memory.read(arg, size)
        except MemoryAccessError:
            return "(efault)"
        if size == 4:
            sep = "." if kind[:1] == b"I" else ""
            return sep.join(f"{b}" if sep else f"{b:03d}" for b in raw)
        if kind[:1] == b"I":
            return ":".join(raw[j:j + 2].hex() for j in range(0, 16, 2))
        return raw.hex()
    if fmt[i:i + 1] == b"K":
        return "0000000000000000"  # kptr_restrict hides kernel pointers from this context
    return f"{arg:016x}" if fmt[i:i + 1] in (b"x", b"B") else f"0x{arg:x}"


def _printk(env: Env, fmt_addr: int, fmt_size: int, args: list[int], max_args: int) -> int:
    if fmt_size == 0:
        return neg(E.EINVAL)
    raw = env.memory.read(fmt_addr, fmt_size)
    if b"\0" not in raw:
        return neg(E.EINVAL)  # the verifier wants a NUL-terminated constant string
    fmt = raw[:raw.index(0)]
    if len(args) > max_args:
        return neg(E.EINVAL)
    try:
        text = format_bprintf(env, fmt, args)
    except _BadFormat:
        return neg(E.EINVAL)
    encoded = text.encode()[:MAX_BPRINTF_BUF - 1]
    env.trace_output.append(encoded.decode(errors="replace").rstrip("\n"))
    return len(encoded)


def trace_printk(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    return _printk(env, r1, r2 & 0xFFFF_FFFF, [r3, r4, r5], MAX_TRACE_PRINTK_VARARGS)


def _data_args(env: Env, addr: int, size: int) -> list[int] | None:
    if size % 8 or size > 8 * MAX_BPRINTF_VARARGS or (size and not addr):
        return None
    raw = env.memory.read(addr, size) if size else b""
    return [int.from_bytes(raw[j:j + 8], "little") for j in range(0, size, 8)]


def trace_vprintk(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    args = _data_args(env, r3, r4 & 0xFFFF_FFFF)
    if args is None:
        return neg(E.EINVAL)
    return _printk(env, r1, r2 & 0xFFFF_FFFF, args, MAX_BPRINTF_VARARGS)


def snprintf(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """bpf_snprintf(str, str_size, fmt, data, data_len): length with the NUL, output truncated."""
    size = r2 & 0xFFFF_FFFF
    args = _data_args(env, r4, r5 & 0xFFFF_FFFF)
    if args is None:
        return neg(E.EINVAL)
    fmt = env.memory.read_cstr(r3, MAX_BPRINTF_BUF)
    try:
        text = format_bprintf(env, fmt, args).encode()
    except _BadFormat:
        return neg(E.EINVAL)
    if size:
        env.memory.write(r1, text[:size - 1] + b"\0")
    return len(text) + 1


def strncmp(env: Env, h: HelperContext, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
    """bpf_strncmp(s1, s1_sz, s2): strncmp over at most s1_sz bytes; -1/0/1 like the kernel's."""
    size = r2 & 0xFFFF_FFFF
    a = env.memory.read(r1, size)
    b = env.memory.read_cstr(r3, size + 1)
    for i in range(size):
        x = a[i]
        y = b[i] if i < len(b) else 0
        if x != y:
            return 1 if x > y else neg(1)
        if x == 0:
            return 0
    return 0


HELPERS = {
    H.trace_printk: trace_printk, H.trace_vprintk: trace_vprintk, H.snprintf: snprintf,
    H.strncmp: strncmp,
}

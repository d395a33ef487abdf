"""ctypes access to the Linux ``bpf(2)`` syscall: maps, program load, test runs.

Only the commands pybpf needs, each with its own prefix of ``union bpf_attr``
(include/uapi/linux/bpf.h).  The kernel accepts any attr size up to its own as
long as the bytes it does not know are zero, so each command passes exactly
the structure below.

Every failure is a :class:`~pybpf.errors.KernelError` carrying ``errno`` (and
the verifier ``log`` for a rejected program); a raw ``OSError`` never escapes.
Every object that owns a file descriptor has ``close()`` and is a context
manager; a finalizer closes the fd if the owner forgets, so a test leaves the
kernel as it found it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as _errno
import mmap
import os
import platform
import struct
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from ..errors import KernelError
from ..isa import Program, encode

__all__ = [
    "BPF_MAP_TYPE_ARRAY",
    "BPF_PROG_TYPE_SCHED_CLS",
    "BPF_PROG_TYPE_SOCKET_FILTER",
    "BPF_PROG_TYPE_XDP",
    "BPF_PSEUDO_MAP_FD",
    "BPF_PSEUDO_MAP_VALUE",
    "SYS_BPF",
    "XDP_PASS",
    "BpfMap",
    "BpfProgram",
    "KernelBatchError",
    "TestRun",
    "availability",
    "available",
    "load_program",
    "possible_cpus",
    "read_ringbuf",
    "unavailable_reason",
]

# Syscall numbers differ per architecture; these are the two Linux ports
# pybpf runs on.  Anything else reports "unavailable" instead of guessing.
_SYSCALL_NUMBERS = {"x86_64": 321, "aarch64": 280}
SYS_BPF: int | None = _SYSCALL_NUMBERS.get(platform.machine())

# Commands (enum bpf_cmd).
_MAP_CREATE = 0
_MAP_LOOKUP_ELEM = 1
_MAP_UPDATE_ELEM = 2
_MAP_DELETE_ELEM = 3
_MAP_GET_NEXT_KEY = 4
_PROG_LOAD = 5
_PROG_TEST_RUN = 10
_MAP_LOOKUP_AND_DELETE_ELEM = 21
_MAP_FREEZE = 22
_MAP_UPDATE_BATCH = 26
_MAP_DELETE_BATCH = 27

BPF_PROG_TYPE_SOCKET_FILTER = 1
BPF_PROG_TYPE_SCHED_CLS = 3
BPF_PROG_TYPE_XDP = 6
BPF_MAP_TYPE_ARRAY = 2
# Per-CPU maps take and return one value slot (rounded up to 8 bytes) per possible CPU.
# PERCPU_HASH, PERCPU_ARRAY, LRU_PERCPU_HASH, PERCPU_CGROUP_STORAGE
_PERCPU_MAP_TYPES = frozenset({5, 6, 10, 21})
BPF_PSEUDO_MAP_FD = 1
BPF_PSEUDO_MAP_VALUE = 2
XDP_PASS = 2

# Big enough for the level-1 log of ordinary programs; a longer log makes the
# load fail with ENOSPC, and load_program retries with the size the kernel
# reports (log_true_size), up to the kernel's own limit of UINT_MAX >> 2.
_DEFAULT_LOG_SIZE = 1 << 18
_MAX_LOG_SIZE = (1 << 32) - 1 >> 2  # the kernel's limit on log_size


class _MapCreateAttr(ctypes.Structure):
    _fields_ = [
        ("map_type", ctypes.c_uint32),
        ("key_size", ctypes.c_uint32),
        ("value_size", ctypes.c_uint32),
        ("max_entries", ctypes.c_uint32),
        ("map_flags", ctypes.c_uint32),
        ("inner_map_fd", ctypes.c_uint32),
        ("numa_node", ctypes.c_uint32),
        ("map_name", ctypes.c_char * 16),
        ("map_ifindex", ctypes.c_uint32),
        ("btf_fd", ctypes.c_uint32),
        ("btf_key_type_id", ctypes.c_uint32),
        ("btf_value_type_id", ctypes.c_uint32),
        ("btf_vmlinux_value_type_id", ctypes.c_uint32),
        ("map_extra", ctypes.c_uint64),
    ]


class _MapElemAttr(ctypes.Structure):
    _fields_ = [
        ("map_fd", ctypes.c_uint32),
        ("_pad", ctypes.c_uint32),
        ("key", ctypes.c_uint64),
        ("value", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
    ]


class _MapBatchAttr(ctypes.Structure):
    _fields_ = [
        ("in_batch", ctypes.c_uint64),
        ("out_batch", ctypes.c_uint64),
        ("keys", ctypes.c_uint64),
        ("values", ctypes.c_uint64),
        ("count", ctypes.c_uint32),
        ("map_fd", ctypes.c_uint32),
        ("elem_flags", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
    ]


class _ProgLoadAttr(ctypes.Structure):
    _fields_ = [
        ("prog_type", ctypes.c_uint32),
        ("insn_cnt", ctypes.c_uint32),
        ("insns", ctypes.c_uint64),
        ("license", ctypes.c_uint64),
        ("log_level", ctypes.c_uint32),
        ("log_size", ctypes.c_uint32),
        ("log_buf", ctypes.c_uint64),
        ("kern_version", ctypes.c_uint32),
        ("prog_flags", ctypes.c_uint32),
        ("prog_name", ctypes.c_char * 16),
        ("prog_ifindex", ctypes.c_uint32),
        ("expected_attach_type", ctypes.c_uint32),
        ("prog_btf_fd", ctypes.c_uint32),
        ("func_info_rec_size", ctypes.c_uint32),
        ("func_info", ctypes.c_uint64),
        ("func_info_cnt", ctypes.c_uint32),
        ("line_info_rec_size", ctypes.c_uint32),
        ("line_info", ctypes.c_uint64),
        ("line_info_cnt", ctypes.c_uint32),
        ("attach_btf_id", ctypes.c_uint32),
        ("attach_prog_fd", ctypes.c_uint32),
        ("core_relo_cnt", ctypes.c_uint32),
        ("fd_array", ctypes.c_uint64),
        ("core_relos", ctypes.c_uint64),
        ("core_relo_rec_size", ctypes.c_uint32),
        ("log_true_size", ctypes.c_uint32),
    ]


class _TestRunAttr(ctypes.Structure):
    _fields_ = [
        ("prog_fd", ctypes.c_uint32),
        ("retval", ctypes.c_uint32),
        ("data_size_in", ctypes.c_uint32),
        ("data_size_out", ctypes.c_uint32),
        ("data_in", ctypes.c_uint64),
        ("data_out", ctypes.c_uint64),
        ("repeat", ctypes.c_uint32),
        ("duration", ctypes.c_uint32),
        ("ctx_size_in", ctypes.c_uint32),
        ("ctx_size_out", ctypes.c_uint32),
        ("ctx_in", ctypes.c_uint64),
        ("ctx_out", ctypes.c_uint64),
        ("flags", ctypes.c_uint32),
        ("cpu", ctypes.c_uint32),
        ("batch_size", ctypes.c_uint32),
        ("_pad", ctypes.c_uint32),
    ]


_libc: ctypes.CDLL | None = None


def _syscall(cmd: int, attr: ctypes.Structure, what: str) -> int:
    """bpf(cmd, &attr, sizeof attr); the result, or KernelError with errno."""
    global _libc
    if SYS_BPF is None:
        raise KernelError(f"{what}: bpf() syscall number unknown on {platform.machine()}",
                          errno=_errno.ENOSYS)
    if _libc is None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long
        except (OSError, AttributeError) as e:
            raise KernelError(f"{what}: no syscall() in the C library: {e}", errno=_errno.ENOSYS) from e
        _libc = libc
    # syscall() is variadic and reads every argument as a long: pass longs.
    ret = int(_libc.syscall(ctypes.c_long(SYS_BPF), ctypes.c_long(cmd), ctypes.byref(attr),
                            ctypes.c_long(ctypes.sizeof(attr))))
    if ret < 0:
        err = ctypes.get_errno()
        raise KernelError(f"{what}: {os.strerror(err)}", errno=err)
    return ret


def _close_fd(fd: int) -> None:
    # Finalizers run at interpreter exit too, when the fd may already be gone.
    with contextlib.suppress(OSError):
        os.close(fd)


class _FdOwner:
    """Owns one fd; ``close()`` is idempotent and a finalizer backs it up."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._finalizer = weakref.finalize(self, _close_fd, fd)

    @property
    def fd(self) -> int:
        if not self._finalizer.alive:
            raise KernelError(f"{type(self).__name__} is closed", errno=_errno.EBADF)
        return self._fd

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _name(name: str) -> bytes:
    # The kernel accepts only [A-Za-z0-9_.] and 15 characters plus NUL.
    return "".join(c if c.isalnum() or c in "_." else "_" for c in name).encode("ascii", "replace")[:15]


class KernelBatchError(KernelError):
    """A batch command failed; ``count`` elements were processed before it stopped."""

    def __init__(self, reason: str, *, errno: int = 0, count: int = 0) -> None:
        super().__init__(reason, errno=errno)
        self.count = count


def possible_cpus() -> int:
    """The kernel's number of possible CPUs: how many slots a per-CPU value has (1 if unknown)."""
    try:
        text = Path("/sys/devices/system/cpu/possible").read_text().strip()
    except OSError:
        return 1
    count = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        count += int(hi or lo) - int(lo) + 1
    return count


_Buffer = ctypes.Array[ctypes.c_char]


def _in_buf(data: bytes | None, size: int) -> _Buffer | None:
    """A buffer holding ``data``, zero-padded to at least ``size`` bytes; None for NULL."""
    if data is None:
        return None
    raw = bytes(data)
    buf = ctypes.create_string_buffer(max(size, len(raw), 1))
    ctypes.memmove(buf, raw, len(raw))
    return buf


def _addr(buf: _Buffer | None) -> int:
    return 0 if buf is None else ctypes.addressof(buf)


class BpfMap(_FdOwner):
    """A kernel map (``BPF_MAP_CREATE``); array maps by default, any type on request.

    Keys are ints (little-endian, ``key_size`` bytes) or bytes; ``None`` passes
    a NULL key (queues, stacks, bloom filters, the first ``next_key``).  Per-CPU
    maps take and return ``elem_size`` bytes: one 8-byte-aligned slot per
    possible CPU.  An absent element is ``None`` from the lookups and
    :meth:`next_key`; every other failure is a :class:`KernelError`.

    >>> with BpfMap(value_size=8) as m:          # doctest: +SKIP
    ...     m.update(0, bytes(range(8)))
    ...     m.lookup(0)
    b'\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07'
    """

    def __init__(self, *, value_size: int, max_entries: int = 1, key_size: int = 4,
                 map_type: int = BPF_MAP_TYPE_ARRAY, flags: int = 0, name: str = "",
                 inner_map_fd: int = 0, map_extra: int = 0, numa_node: int = 0,
                 btf_fd: int = 0, btf_key_type_id: int = 0, btf_value_type_id: int = 0,
                 btf_vmlinux_value_type_id: int = 0) -> None:
        # Sizes of 0 are valid for some types (ring buffers, queues, stacks, bloom
        # filters): only the field widths are checked here, the kernel decides the rest.
        for field_name, v in (("key_size", key_size), ("value_size", value_size),
                              ("max_entries", max_entries)):
            if not 0 <= v < (1 << 32):
                raise KernelError(f"BPF_MAP_CREATE: {field_name} {v} out of range", errno=_errno.EINVAL)
        attr = _MapCreateAttr(map_type=map_type, key_size=key_size, value_size=value_size,
                              max_entries=max_entries, map_flags=flags, map_name=_name(name),
                              inner_map_fd=inner_map_fd, numa_node=numa_node, btf_fd=btf_fd,
                              btf_key_type_id=btf_key_type_id, btf_value_type_id=btf_value_type_id,
                              btf_vmlinux_value_type_id=btf_vmlinux_value_type_id,
                              map_extra=map_extra)
        super().__init__(_syscall(_MAP_CREATE, attr, "BPF_MAP_CREATE"))
        self.map_type = map_type
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries

    @property
    def elem_size(self) -> int:
        """Bytes of one value as the syscall moves it (all CPUs' slots for per-CPU maps)."""
        if self.map_type in _PERCPU_MAP_TYPES:
            return (self.value_size + 7) // 8 * 8 * possible_cpus()
        return self.value_size

    def _key(self, key: int | bytes | None) -> _Buffer | None:
        if key is None:
            return None
        raw = key.to_bytes(self.key_size, "little") if isinstance(key, int) else bytes(key)
        if len(raw) != self.key_size:
            raise KernelError(f"key of {len(raw)} bytes, map has key_size {self.key_size}",
                              errno=_errno.EINVAL)
        return _in_buf(raw, self.key_size)

    def _value(self, value: bytes) -> _Buffer:
        if len(value) not in (self.value_size, self.elem_size):
            raise KernelError(f"value of {len(value)} bytes, map has value_size {self.value_size}",
                              errno=_errno.EINVAL)
        buf = _in_buf(value, len(value))
        assert buf is not None
        return buf

    def _elem(self, cmd: int, what: str, key: _Buffer | None, value: _Buffer | None = None,
              flags: int = 0, *, absent_ok: bool = False) -> bool:
        """One element command; False when ``absent_ok`` and the kernel says ENOENT."""
        attr = _MapElemAttr(map_fd=self.fd, key=_addr(key), value=_addr(value), flags=flags)
        try:
            _syscall(cmd, attr, what)
        except KernelError as e:
            if absent_ok and e.errno == _errno.ENOENT:
                return False
            raise
        return True

    def update(self, key: int | bytes | None, value: bytes, flags: int = 0) -> None:
        """``BPF_MAP_UPDATE_ELEM`` (flags: 0 = BPF_ANY, 1 = NOEXIST, 2 = EXIST, 4 = F_LOCK)."""
        self._elem(_MAP_UPDATE_ELEM, "BPF_MAP_UPDATE_ELEM", self._key(key), self._value(value), flags)

    def lookup(self, key: int | bytes | None, flags: int = 0, *,
               value_size: int | None = None) -> bytes | None:
        """``BPF_MAP_LOOKUP_ELEM``: the value (``value_size`` bytes, default :attr:`elem_size`),
        or None when the key is absent."""
        size = self.elem_size if value_size is None else value_size
        v = ctypes.create_string_buffer(max(size, 1))
        if not self._elem(_MAP_LOOKUP_ELEM, "BPF_MAP_LOOKUP_ELEM", self._key(key), v, flags,
                          absent_ok=True):
            return None
        return v.raw[:size]

    def contains_value(self, value: bytes, flags: int = 0) -> bool:
        """``BPF_MAP_LOOKUP_ELEM`` with a NULL key: a bloom filter's membership test."""
        return self._elem(_MAP_LOOKUP_ELEM, "BPF_MAP_LOOKUP_ELEM", None,
                          _in_buf(value, self.value_size), flags, absent_ok=True)

    def delete(self, key: int | bytes | None) -> bool:
        """``BPF_MAP_DELETE_ELEM``: False when the key was absent (ENOENT)."""
        return self._elem(_MAP_DELETE_ELEM, "BPF_MAP_DELETE_ELEM", self._key(key), absent_ok=True)

    def lookup_and_delete(self, key: int | bytes | None, flags: int = 0, *,
                          value_size: int | None = None) -> bytes | None:
        """``BPF_MAP_LOOKUP_AND_DELETE_ELEM`` (a pop for queues and stacks): the value, or None."""
        size = self.elem_size if value_size is None else value_size
        v = ctypes.create_string_buffer(max(size, 1))
        if not self._elem(_MAP_LOOKUP_AND_DELETE_ELEM, "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
                          self._key(key), v, flags, absent_ok=True):
            return None
        return v.raw[:size]

    def next_key(self, key: int | bytes | None) -> bytes | None:
        """``BPF_MAP_GET_NEXT_KEY``: the key after ``key`` (the first for None), None at the end."""
        nxt = ctypes.create_string_buffer(max(self.key_size, 1))
        if not self._elem(_MAP_GET_NEXT_KEY, "BPF_MAP_GET_NEXT_KEY", self._key(key), nxt,
                          absent_ok=True):
            return None
        return nxt.raw[: self.key_size]

    def iter_keys(self) -> Iterator[bytes]:
        """Every key, in the kernel's order (``next_key`` from None until the end)."""
        key = self.next_key(None)
        while key is not None:
            yield key
            key = self.next_key(key)

    def freeze(self) -> None:
        """``BPF_MAP_FREEZE``: no more writes from user space."""
        _syscall(_MAP_FREEZE, _MapElemAttr(map_fd=self.fd), "BPF_MAP_FREEZE")

    def _batch(self, cmd: int, what: str, keys: Sequence[bytes], values: Sequence[bytes] | None,
               elem_flags: int) -> int:
        kb = _in_buf(b"".join(keys), self.key_size * len(keys))
        vb = None if values is None else _in_buf(b"".join(values), self.elem_size * len(values))
        attr = _MapBatchAttr(keys=_addr(kb), values=_addr(vb), count=len(keys), map_fd=self.fd,
                             elem_flags=elem_flags)
        try:
            _syscall(cmd, attr, what)
        except KernelError as e:
            raise KernelBatchError(str(e.reason), errno=e.errno or 0, count=attr.count) from None
        return int(attr.count)

    def update_batch(self, keys: Sequence[bytes], values: Sequence[bytes], elem_flags: int = 0) -> int:
        """``BPF_MAP_UPDATE_BATCH``: how many were updated (:class:`KernelBatchError` says on failure)."""
        return self._batch(_MAP_UPDATE_BATCH, "BPF_MAP_UPDATE_BATCH", keys, values, elem_flags)

    def delete_batch(self, keys: Sequence[bytes], elem_flags: int = 0) -> int:
        """``BPF_MAP_DELETE_BATCH``: how many were deleted (:class:`KernelBatchError` says on failure)."""
        return self._batch(_MAP_DELETE_BATCH, "BPF_MAP_DELETE_BATCH", keys, None, elem_flags)


# Ring buffer record header (kernel/bpf/ringbuf.c): u32 length with these flags, u32 page offset.
_RINGBUF_BUSY = 1 << 31
_RINGBUF_DISCARD = 1 << 30
_RINGBUF_HDR = 8


def read_ringbuf(ringbuf: BpfMap, *, consume: bool = True) -> list[bytes]:
    """The committed, not discarded records of a ring buffer map, read through mmap().

    As libbpf's ``ring_buffer__consume``: from the consumer position up to the
    producer's, stopping at a record still being written.  ``consume`` moves the
    consumer position past what was read; without it the map is only read.
    """
    fd, size, page = ringbuf.fd, ringbuf.max_entries, mmap.PAGESIZE
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if consume else 0)
    try:
        # The consumer page, then the producer page and the data pages, mapped twice.
        cons = mmap.mmap(fd, page, mmap.MAP_SHARED, prot, offset=0)
        try:
            prod = mmap.mmap(fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        except BaseException:
            cons.close()
            raise
    except OSError as e:
        raise KernelError(f"mmap of ring buffer: {os.strerror(e.errno or 0)}", errno=e.errno or 0) from e
    with cons, prod:
        (pos,) = struct.unpack_from("<Q", cons, 0)
        (end,) = struct.unpack_from("<Q", prod, 0)
        records = []
        while pos < end:
            base = page + (pos & (size - 1))
            length, _pg_off = struct.unpack_from("<II", prod, base)
            if length & _RINGBUF_BUSY:
                break
            n = length & ~(_RINGBUF_BUSY | _RINGBUF_DISCARD)
            if not length & _RINGBUF_DISCARD:
                records.append(bytes(prod[base + _RINGBUF_HDR: base + _RINGBUF_HDR + n]))
            pos += (_RINGBUF_HDR + n + 7) // 8 * 8
        if consume:
            struct.pack_into("<Q", cons, 0, pos)
        return records


@dataclass(frozen=True, slots=True)
class TestRun:
    """What ``BPF_PROG_TEST_RUN`` reports: 32-bit ``retval``, mean ``duration`` in ns."""

    __test__ = False  # not a pytest test class despite the name

    retval: int
    duration: int
    data_out: bytes
    ctx_out: bytes


class BpfProgram(_FdOwner):
    """A loaded program; ``log`` is the verifier log (empty at log level 0)."""

    def __init__(self, fd: int, log: str, prog_type: int) -> None:
        super().__init__(fd)
        self.log = log
        self.prog_type = prog_type

    def test_run(self, data: bytes = b"", *, ctx: bytes | None = None, repeat: int = 1,
                 data_out_size: int | None = None, ctx_out_size: int = 0) -> TestRun:
        """Run once (or ``repeat`` times) with ``BPF_PROG_TEST_RUN``."""
        data = bytes(data)
        din = ctypes.create_string_buffer(data, max(len(data), 1))
        out_size = len(data) if data_out_size is None else data_out_size
        dout = ctypes.create_string_buffer(max(out_size, 1))
        attr = _TestRunAttr(prog_fd=self.fd, repeat=repeat)
        if data:
            attr.data_size_in = len(data)
            attr.data_in = ctypes.addressof(din)
        if out_size:
            attr.data_size_out = out_size
            attr.data_out = ctypes.addressof(dout)
        cin = ctypes.create_string_buffer(bytes(ctx or b""), max(len(ctx or b""), 1))
        if ctx:
            attr.ctx_size_in = len(ctx)
            attr.ctx_in = ctypes.addressof(cin)
        cout = ctypes.create_string_buffer(max(ctx_out_size, 1))
        if ctx_out_size:
            attr.ctx_size_out = ctx_out_size
            attr.ctx_out = ctypes.addressof(cout)
        _syscall(_PROG_TEST_RUN, attr, "BPF_PROG_TEST_RUN")
        return TestRun(retval=attr.retval, duration=attr.duration,
                       data_out=dout.raw[: min(attr.data_size_out, out_size)],
                       ctx_out=cout.raw[: min(attr.ctx_size_out, ctx_out_size)])


def _prog_load(raw: bytes, prog_type: int, license: str, name: str, log_level: int,
               log_size: int, prog_flags: int, expected_attach_type: int) -> tuple[int, str, int]:
    """One BPF_PROG_LOAD: (fd or -errno, log)."""
    code = ctypes.create_string_buffer(raw, max(len(raw), 1))
    lic = ctypes.create_string_buffer(license.encode())
    logbuf = ctypes.create_string_buffer(log_size if log_level else 1)
    attr = _ProgLoadAttr(prog_type=prog_type, insn_cnt=len(raw) // 8, insns=ctypes.addressof(code),
                         license=ctypes.addressof(lic), prog_flags=prog_flags,
                         prog_name=_name(name), expected_attach_type=expected_attach_type)
    if log_level:
        attr.log_level = log_level
        attr.log_size = log_size
        attr.log_buf = ctypes.addressof(logbuf)
    try:
        fd = _syscall(_PROG_LOAD, attr, "BPF_PROG_LOAD")
    except KernelError as e:
        return -(e.errno or _errno.EINVAL), logbuf.value.decode(errors="replace"), attr.log_true_size
    return fd, logbuf.value.decode(errors="replace"), attr.log_true_size


def load_program(program: Program | bytes, prog_type: int = BPF_PROG_TYPE_XDP, *,
                 license: str = "GPL", name: str = "pybpf", log_level: int = 0,
                 log_size: int = _DEFAULT_LOG_SIZE, prog_flags: int = 0,
                 expected_attach_type: int = 0) -> BpfProgram:
    """``BPF_PROG_LOAD``; the verifier log is kept on the result.

    ``log_level`` is the kernel's (1 = verdicts and states at branches,
    2 = every instruction, 4 = statistics; they combine).  At level 0 a
    rejected program is loaded a second time at level 1 so that the
    :class:`KernelError` always carries the verifier's explanation.
    """
    raw = encode(program) if isinstance(program, Program) else bytes(program)
    if not raw or len(raw) % 8:
        raise KernelError(f"BPF_PROG_LOAD: program of {len(raw)} bytes is not a whole number "
                          "of instructions", errno=_errno.EINVAL)
    args = (prog_type, license, name)
    fd, log, true_size = _prog_load(raw, *args, log_level, log_size, prog_flags, expected_attach_type)
    if fd == -_errno.ENOSPC and log_level and log_size < true_size <= _MAX_LOG_SIZE:
        # The log did not fit (the kernel then fails the load): once more with
        # the size it asked for (log_true_size, 6.4+).
        fd, log, _ = _prog_load(raw, *args, log_level, true_size, prog_flags, expected_attach_type)
    if fd < 0 and log_level == 0:
        fd2, log, _ = _prog_load(raw, *args, 1, log_size, prog_flags, expected_attach_type)
        if fd2 >= 0:  # accepted the second time (should not happen): keep it anyway
            return BpfProgram(fd2, log, prog_type)
    if fd < 0:
        err = -fd
        # The log ends with statistics; the verdict is the last line before them.
        lines = [ln for ln in log.splitlines() if ln.strip() and not ln.startswith("processed ")]
        last = lines[-1] if lines else os.strerror(err)
        raise KernelError(f"BPF_PROG_LOAD rejected the program: {last}", errno=err, log=log)
    return BpfProgram(fd, log, prog_type)


_availability: tuple[bool, str] | None = None


def _probe() -> tuple[bool, str]:
    if SYS_BPF is None:
        return False, f"no bpf() syscall number for {platform.machine()}"
    try:
        with BpfMap(value_size=8, name="pybpf_probe") as m:
            m.update(0, bytes(8))
        # r0 = 0; exit: checks that program loading is allowed too.
        with load_program(bytes.fromhex("b700000000000000" "9500000000000000")):
            pass
    except KernelError as e:
        hint = " (needs root or CAP_BPF)" if e.errno in (_errno.EPERM, _errno.EACCES) else ""
        return False, f"bpf() unavailable: {e.reason}{hint}"
    except OSError as e:  # e.g. libc without syscall(): treat as unavailable
        return False, f"bpf() unavailable: {e}"
    return True, "bpf() works"


def available() -> bool:
    """True when bpf() can create maps and load programs here.

    The probe creates a one-entry array map and a two-instruction program and
    closes both; nothing is pinned or attached, no sysctl is touched.  The
    answer is cached for the process.
    """
    global _availability
    if _availability is None:
        _availability = _probe()
    return _availability[0]


def availability() -> tuple[bool, str]:
    """``(available(), unavailable_reason())`` in one call."""
    return available(), unavailable_reason()


def unavailable_reason() -> str:
    """Why :func:`available` is False ("bpf() works" when it is True)."""
    available()
    assert _availability is not None
    return _availability[1]

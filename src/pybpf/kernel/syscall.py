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
import os
import platform
import weakref
from dataclasses import dataclass
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
    "TestRun",
    "availability",
    "available",
    "load_program",
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
_PROG_LOAD = 5
_PROG_TEST_RUN = 10

BPF_PROG_TYPE_SOCKET_FILTER = 1
BPF_PROG_TYPE_SCHED_CLS = 3
BPF_PROG_TYPE_XDP = 6
BPF_MAP_TYPE_ARRAY = 2
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


class BpfMap(_FdOwner):
    """A kernel map (``BPF_MAP_CREATE``); array maps by default.

    >>> with BpfMap(value_size=8) as m:          # doctest: +SKIP
    ...     m.update(0, bytes(range(8)))
    ...     m.lookup(0)
    b'\\x00\\x01\\x02\\x03\\x04\\x05\\x06\\x07'
    """

    def __init__(self, *, value_size: int, max_entries: int = 1, key_size: int = 4,
                 map_type: int = BPF_MAP_TYPE_ARRAY, flags: int = 0, name: str = "",
                 inner_map_fd: int = 0, map_extra: int = 0) -> None:
        # Sizes of 0 are valid for some types (ring buffers, queues, stacks, bloom
        # filters): only the field widths are checked here, the kernel decides the rest.
        for field_name, v in (("key_size", key_size), ("value_size", value_size),
                              ("max_entries", max_entries)):
            if not 0 <= v < (1 << 32):
                raise KernelError(f"BPF_MAP_CREATE: {field_name} {v} out of range", errno=_errno.EINVAL)
        attr = _MapCreateAttr(map_type=map_type, key_size=key_size, value_size=value_size,
                              max_entries=max_entries, map_flags=flags, map_name=_name(name),
                              inner_map_fd=inner_map_fd, map_extra=map_extra)
        super().__init__(_syscall(_MAP_CREATE, attr, "BPF_MAP_CREATE"))
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries

    def _key(self, key: int | bytes) -> ctypes.Array[ctypes.c_char]:
        raw = key.to_bytes(self.key_size, "little") if isinstance(key, int) else bytes(key)
        if len(raw) != self.key_size:
            raise KernelError(f"key of {len(raw)} bytes, map has key_size {self.key_size}",
                              errno=_errno.EINVAL)
        return ctypes.create_string_buffer(raw, len(raw))

    def update(self, key: int | bytes, value: bytes, flags: int = 0) -> None:
        """``BPF_MAP_UPDATE_ELEM`` (flags: 0 = BPF_ANY, 1 = NOEXIST, 2 = EXIST)."""
        if len(value) != self.value_size:
            raise KernelError(f"value of {len(value)} bytes, map has value_size {self.value_size}",
                              errno=_errno.EINVAL)
        k = self._key(key)
        v = ctypes.create_string_buffer(bytes(value), len(value))
        attr = _MapElemAttr(map_fd=self.fd, key=ctypes.addressof(k), value=ctypes.addressof(v),
                            flags=flags)
        _syscall(_MAP_UPDATE_ELEM, attr, "BPF_MAP_UPDATE_ELEM")

    def lookup(self, key: int | bytes) -> bytes | None:
        """``BPF_MAP_LOOKUP_ELEM``: the value, or None when the key is absent."""
        k = self._key(key)
        v = ctypes.create_string_buffer(self.value_size)
        attr = _MapElemAttr(map_fd=self.fd, key=ctypes.addressof(k), value=ctypes.addressof(v))
        try:
            _syscall(_MAP_LOOKUP_ELEM, attr, "BPF_MAP_LOOKUP_ELEM")
        except KernelError as e:
            if e.errno == _errno.ENOENT:
                return None
            raise
        return v.raw


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

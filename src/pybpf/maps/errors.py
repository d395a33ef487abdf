"""Map errors: one class per errno the kernel's map code returns.

Every class derives from :class:`MapError`, which is both a
:class:`~pybpf.errors.PyBpfError` and an :class:`OSError` whose ``errno`` is
the value bpf() would have set, so code written against the real syscall
(``except OSError as e: if e.errno == ENOENT``) keeps working.

Program-side operations (helpers) never raise these: they return the negative
errno, as the kernel's helpers do.  :func:`map_error` turns such a value back
into the matching exception for the syscall-side API.
"""

from __future__ import annotations

import errno as _errno

from ..errors import PyBpfError

__all__ = [
    "ENOTSUPP",
    "MapBadFdError",
    "MapBusyError",
    "MapError",
    "MapExistsError",
    "MapFullError",
    "MapInvalidError",
    "MapKeyNotFoundError",
    "MapNoDeviceError",
    "MapNoMemoryError",
    "MapNoSpaceError",
    "MapNotSupportedError",
    "MapOverflowError",
    "MapPermissionError",
    "MapTryAgainError",
    "map_error",
]

# The kernel-internal ENOTSUPP (include/linux/errno.h), which bpf() leaks to
# user space for unsupported map commands; it is not in Python's errno module.
ENOTSUPP = 524


class MapError(PyBpfError, OSError):
    """A map operation failed; ``errno`` is what the kernel's bpf() would set."""

    default_errno = 0

    def __init__(self, reason: str, *, errno: int | None = None) -> None:
        super().__init__(reason)
        # OSError.__init__ resets ``errno``, so it is assigned afterwards.
        self.errno = self.default_errno if errno is None else errno


class MapKeyNotFoundError(MapError, KeyError):
    """ENOENT: no such key (or an empty queue/stack, or the end of iteration)."""

    default_errno = _errno.ENOENT

    def __str__(self) -> str:
        # KeyError.__str__ would wrap the message in quotes.
        return self._format()


class MapExistsError(MapError):
    """EEXIST: BPF_NOEXIST on a present key, or any insert into an array slot."""

    default_errno = _errno.EEXIST


class MapFullError(MapError):
    """E2BIG: the map is full, an index is beyond max_entries, or a size is too big."""

    default_errno = _errno.E2BIG


class MapInvalidError(MapError, ValueError):
    """EINVAL: a malformed request (bad flags, sizes, key, or unsupported delete)."""

    default_errno = _errno.EINVAL


class MapNoSpaceError(MapError):
    """ENOSPC: an LPM trie is full."""

    default_errno = _errno.ENOSPC


class MapPermissionError(MapError, PermissionError):
    """EPERM: the map is frozen or read-only/write-only from this side."""

    default_errno = _errno.EPERM


class MapNoMemoryError(MapError, MemoryError):
    """ENOMEM: an allocation the kernel would refuse."""

    default_errno = _errno.ENOMEM


class MapBusyError(MapError):
    """EBUSY: e.g. freezing an already frozen map."""

    default_errno = _errno.EBUSY


class MapNotSupportedError(MapError):
    """EOPNOTSUPP / ENOTSUPP: the map type does not implement this command."""

    default_errno = _errno.EOPNOTSUPP


class MapBadFdError(MapError):
    """EBADF: a reference (inner map, program) that is not usable."""

    default_errno = _errno.EBADF


class MapNoDeviceError(MapError):
    """ENODEV: a cpumap key naming a CPU that does not exist."""

    default_errno = _errno.ENODEV


class MapOverflowError(MapError):
    """EOVERFLOW: a cpumap queue size beyond the kernel's limit."""

    default_errno = _errno.EOVERFLOW


class MapTryAgainError(MapError):
    """EAGAIN: no room in a ring buffer right now."""

    default_errno = _errno.EAGAIN


_BY_ERRNO: dict[int, type[MapError]] = {
    _errno.ENOENT: MapKeyNotFoundError,
    _errno.EEXIST: MapExistsError,
    _errno.E2BIG: MapFullError,
    _errno.EINVAL: MapInvalidError,
    _errno.ENOSPC: MapNoSpaceError,
    _errno.EPERM: MapPermissionError,
    _errno.ENOMEM: MapNoMemoryError,
    _errno.EBUSY: MapBusyError,
    _errno.EOPNOTSUPP: MapNotSupportedError,
    ENOTSUPP: MapNotSupportedError,
    _errno.EBADF: MapBadFdError,
    _errno.ENODEV: MapNoDeviceError,
    _errno.EOVERFLOW: MapOverflowError,
    _errno.EAGAIN: MapTryAgainError,
}


def map_error(err: int, reason: str) -> MapError:
    """The exception for errno ``err`` (positive or negative, as helpers return)."""
    err = abs(err)
    cls = _BY_ERRNO.get(err, MapError)
    return cls(reason, errno=err)

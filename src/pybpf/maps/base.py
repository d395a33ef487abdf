"""The common map model: bpf() command semantics, program-side ops, memory contract.

Three faces of one map
----------------------
* **Syscall side** (what user space does through bpf()): :meth:`Map.lookup`,
  :meth:`Map.update`, :meth:`Map.delete`, :meth:`Map.get_next_key`,
  :meth:`Map.lookup_and_delete`, the batch commands and :meth:`Map.freeze`.
  They take and return raw ``bytes`` and raise a
  :class:`~pybpf.maps.errors.MapError` carrying the kernel's errno.  They
  honour ``BPF_F_RDONLY``/``BPF_F_WRONLY`` and freezing (EPERM).
* **Program side** (what helpers do): ``prog_lookup``, ``prog_update``,
  ``prog_delete``, ``prog_push``/``prog_pop``/``prog_peek``.  They never raise
  for a failed operation: like the kernel's helpers they return 0 or a negative
  errno, and a lookup returns a :class:`ValueRef` or None.  Freezing does not
  restrict them (the kernel freezes only the syscall side); ``BPF_F_RDONLY_PROG``
  does (see :attr:`Map.prog_writable`).
* **Python** (dict-like): ``m[k]``, ``m[k] = v``, ``del m[k]``, ``k in m``,
  ``len(m)``, iteration, ``items()``, ``values()``, ``get()``, ``clear()``.
  These are the syscall side plus key/value conversion (ints, ctypes objects,
  :mod:`~pybpf.maps.codec` codecs).

Memory contract (for the runtime)
---------------------------------
A value a program may point into lives in a ``bytearray`` whose identity
never changes while the element exists: ``prog_lookup`` returns
``ValueRef(buffer, offset, size)`` and the program's pointer is
``region_base(buffer) + offset``.  Writes through that pointer are the map's
contents (Python sees them immediately).  Array maps keep every value in one
contiguous buffer (slots of ``round_up(value_size, 8)`` bytes, as the kernel's
arraymap) that lives as long as the map.  Hash-like maps give each element its
own buffer; deleting or replacing an element *retires* its buffer: the map
drops it, never reuses it, and calls every callback registered with
:meth:`Map.add_free_listener` with the retired buffer.  A program still holding
a pointer into it keeps writing to the dead buffer (as the kernel's RCU keeps a
freed element readable until the program ends), which can never corrupt a live
element.  :attr:`Map.generation` counts retirements so a runtime can cheaply
notice that its region table needs pruning.

Per-CPU maps
------------
``num_cpus`` (default ``os.cpu_count()``; the kernel uses the number of
*possible* CPUs) sets how many values each element has.  The syscall side
reads and writes all of them at once, each in an 8-byte-rounded slot (the
kernel's copy layout); the Python side takes and returns a list with one
value per CPU.  Program-side operations take ``cpu``, the CPU the program
runs on, and see that CPU's value only.

Locking
-------
Every operation takes the map's re-entrant lock, so Python threads may update
a map while programs run.  Program stores through a ValueRef are not locked,
exactly as in the kernel (only ``bpf_spin_lock`` serialises them).
"""

from __future__ import annotations

import errno as E
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .codec import Codec, to_bytes
from .errors import MapError, MapInvalidError, MapKeyNotFoundError, MapNotSupportedError, MapPermissionError
from .spec import MapFlags, MapSpec, MapType

__all__ = [
    "ACCESS_MASK",
    "BPF_ANY",
    "BPF_EXIST",
    "BPF_F_LOCK",
    "BPF_NOEXIST",
    "BatchResult",
    "Map",
    "ValueRef",
    "check_access_flags",
    "default_num_cpus",
    "round_up",
]

BPF_ANY = 0
BPF_NOEXIST = 1
BPF_EXIST = 2
BPF_F_LOCK = 4

ACCESS_MASK = int(MapFlags.RDONLY | MapFlags.WRONLY | MapFlags.RDONLY_PROG | MapFlags.WRONLY_PROG)


def round_up(n: int, align: int) -> int:
    return (n + align - 1) // align * align


def default_num_cpus() -> int:
    return os.cpu_count() or 1


def check_access_flags(flags: int) -> bool:
    """``bpf_map_flags_access_ok`` plus map_create's RDONLY|WRONLY check."""
    both_prog = int(MapFlags.RDONLY_PROG | MapFlags.WRONLY_PROG)
    both_sys = int(MapFlags.RDONLY | MapFlags.WRONLY)
    return (flags & both_prog) != both_prog and (flags & both_sys) != both_sys


@dataclass(frozen=True, slots=True)
class ValueRef:
    """Where a value lives: ``buffer[offset:offset + size]``."""

    buffer: bytearray
    offset: int
    size: int

    def read(self) -> bytes:
        return bytes(self.buffer[self.offset : self.offset + self.size])

    def write(self, data: bytes) -> None:
        if len(data) != self.size:
            raise MapInvalidError(f"value is {len(data)} bytes, slot is {self.size}")
        self.buffer[self.offset : self.offset + self.size] = data


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One chunk of a batch lookup: ``next`` is the token to pass on, None at the end."""

    keys: list[bytes]
    values: list[bytes]
    next: bytes | None


class Map:
    """Base class of every map.  Subclasses implement the ``_``-prefixed hooks.

    Hooks run with the lock held and raise MapError; the public methods add
    permission checks, conversion and locking.
    """

    #: Map types this class implements (for the factory and repr).
    types: ClassVar[tuple[MapType, ...]] = ()
    #: True for per-CPU maps (syscall values hold one slot per CPU).
    percpu: ClassVar[bool] = False
    #: Batch commands this type implements (the kernel answers ENOTSUPP for the others):
    #: a subset of {"lookup", "lookup_and_delete", "update", "delete"}.
    batch_ops: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        spec: MapSpec,
        *,
        num_cpus: int | None = None,
        key_codec: Codec | None = None,
        value_codec: Codec | None = None,
    ) -> None:
        # Constructing a class directly validates exactly as create_map() does,
        # so no map object ever exists for a spec the kernel would refuse.
        from .validate import validate_spec

        if self.types and spec.type not in self.types:
            raise MapInvalidError(
                f"{type(self).__name__} implements {[t.name for t in self.types]}, not {spec.type.name}"
            )
        validate_spec(spec)
        self.spec = spec
        self.num_cpus = default_num_cpus() if num_cpus is None else num_cpus
        if self.num_cpus <= 0:
            raise MapInvalidError(f"num_cpus must be positive, got {self.num_cpus}")
        self.key_codec = key_codec
        self.value_codec = value_codec
        self.frozen = False
        self.generation = 0
        self._lock = threading.RLock()
        self._free_listeners: list[Callable[[bytearray], None]] = []

    # -- properties ------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def type(self) -> MapType:
        return self.spec.type

    @property
    def key_size(self) -> int:
        return self.spec.key_size

    @property
    def value_size(self) -> int:
        return self.spec.value_size

    @property
    def max_entries(self) -> int:
        return self.spec.max_entries

    @property
    def flags(self) -> int:
        return self.spec.flags

    @property
    def lock(self) -> threading.RLock:
        """The map's lock (re-entrant); hold it to do several operations atomically."""
        return self._lock

    @property
    def prog_readable(self) -> bool:
        return not self.spec.flags & MapFlags.WRONLY_PROG

    @property
    def prog_writable(self) -> bool:
        """False for BPF_F_RDONLY_PROG maps: the runtime maps their values read-only."""
        return not self.spec.flags & MapFlags.RDONLY_PROG

    @property
    def sys_value_size(self) -> int:
        """Bytes a syscall-side value has (all CPUs' 8-byte-rounded slots for per-CPU maps)."""
        if self.percpu:
            return round_up(self.value_size, 8) * self.num_cpus
        return self.value_size

    @property
    def has_spin_lock(self) -> bool:
        return self.spec.spin_lock_offset is not None

    # -- memory contract -----------------------------------------------------

    def add_free_listener(self, callback: Callable[[bytearray], None]) -> None:
        """Call ``callback(buffer)`` whenever an element's buffer is retired."""
        with self._lock:
            self._free_listeners.append(callback)

    def remove_free_listener(self, callback: Callable[[bytearray], None]) -> None:
        with self._lock:
            self._free_listeners.remove(callback)

    def _retire(self, buffer: bytearray) -> None:
        self.generation += 1
        for cb in list(self._free_listeners):
            cb(buffer)

    # -- permission checks ------------------------------------------------------

    def _check_sys_read(self) -> None:
        if self.spec.flags & MapFlags.WRONLY:
            raise MapPermissionError(f"map '{self.name}' is write-only from user space (BPF_F_WRONLY)")

    def _check_sys_write(self) -> None:
        if self.frozen:
            raise MapPermissionError(f"map '{self.name}' is frozen")
        if self.spec.flags & MapFlags.RDONLY:
            raise MapPermissionError(f"map '{self.name}' is read-only from user space (BPF_F_RDONLY)")

    def _check_lock_flag(self, flags: int) -> None:
        # syscall.c refuses BPF_F_LOCK on a map whose value has no bpf_spin_lock
        # before the map's own code sees the request.
        if flags & BPF_F_LOCK and not self.has_spin_lock:
            raise MapInvalidError("BPF_F_LOCK on a map whose value has no bpf_spin_lock")

    # -- key/value conversion ----------------------------------------------------

    def encode_key(self, key: Any) -> bytes:
        if self.key_codec is not None and not isinstance(key, bytes | bytearray | memoryview):
            key = self.key_codec.encode(key, self.key_size)
        return to_bytes(key, self.key_size, "key")

    def encode_value(self, value: Any) -> bytes:
        """A syscall-side value; per-CPU maps take a sequence with one value per CPU."""
        if self.percpu and isinstance(value, list | tuple):
            if len(value) != self.num_cpus:
                raise MapInvalidError(f"per-CPU value needs {self.num_cpus} entries, got {len(value)}")
            slot = round_up(self.value_size, 8)
            return b"".join(self._encode_one(v).ljust(slot, b"\0") for v in value)
        if self.percpu and not isinstance(value, bytes | bytearray | memoryview):
            raise MapInvalidError(
                f"per-CPU map '{self.name}' takes a list of {self.num_cpus} values or "
                f"{self.sys_value_size} raw bytes"
            )
        if self.percpu:
            return to_bytes(value, self.sys_value_size, "value")
        return self._encode_one(value)

    def _encode_one(self, value: Any) -> bytes:
        if self.value_codec is not None and not isinstance(value, bytes | bytearray | memoryview):
            value = self.value_codec.encode(value, self.value_size)
        return to_bytes(value, self.value_size, "value")

    def decode_key(self, data: bytes) -> Any:
        return data if self.key_codec is None else self.key_codec.decode(data)

    def decode_value(self, data: bytes) -> Any:
        if self.percpu:
            slot = round_up(self.value_size, 8)
            size = self.value_size
            return [self._decode_one(data[i * slot : i * slot + size]) for i in range(self.num_cpus)]
        return self._decode_one(data)

    def _decode_one(self, data: bytes) -> Any:
        return data if self.value_codec is None else self.value_codec.decode(data)

    # -- hooks for subclasses ------------------------------------------------------

    def _lookup(self, key: bytes, flags: int) -> bytes:
        raise MapNotSupportedError(f"{self.type.name} maps do not support lookup", errno=E.EOPNOTSUPP)

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        raise MapNotSupportedError(f"{self.type.name} maps do not support update", errno=E.EOPNOTSUPP)

    def _delete(self, key: bytes) -> None:
        raise MapNotSupportedError(f"{self.type.name} maps do not support delete", errno=E.EOPNOTSUPP)

    def _get_next_key(self, key: bytes | None) -> bytes:
        raise MapNotSupportedError(f"{self.type.name} maps do not support get_next_key", errno=E.EOPNOTSUPP)

    def _lookup_and_delete(self, key: bytes, flags: int) -> bytes:
        from .errors import ENOTSUPP

        raise MapNotSupportedError(f"{self.type.name} maps do not support lookup_and_delete", errno=ENOTSUPP)

    def _value_ref(self, key: bytes, cpu: int) -> ValueRef | None:
        """The program's view of ``key`` (None: no element)."""
        return None

    def _prog_lookup_touch(self, key: bytes) -> None:
        """Program lookups mark LRU entries as used; nothing elsewhere."""

    def _prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> None:
        """Program-side update: a single CPU's value for per-CPU maps."""
        self._update(key, value, flags)

    def _count(self) -> int | None:
        """Number of elements, or None where len() is meaningless."""
        return None

    def _clear(self) -> None:
        key = self._get_first_or_none()
        while key is not None:
            self._delete(key)
            key = self._get_first_or_none()

    def _get_first_or_none(self) -> bytes | None:
        try:
            return self._get_next_key(None)
        except MapKeyNotFoundError:
            return None

    def _sys_key(self, key: Any) -> bytes:
        if key is None and self.key_size == 0:
            return b""  # keyless maps (queue, stack, bloom, ringbuf) take a NULL key
        return self.encode_key(key)

    # -- syscall side -----------------------------------------------------------------

    def lookup(self, key: Any, flags: int = 0) -> bytes:
        """BPF_MAP_LOOKUP_ELEM: the value bytes (all CPUs' slots for per-CPU maps)."""
        k = self._sys_key(key)
        # syscall.c checks unknown flags before permissions, BPF_F_LOCK after.
        if flags & ~BPF_F_LOCK:
            raise MapInvalidError(f"lookup flags {flags:#x}: only BPF_F_LOCK is allowed")
        with self._lock:
            self._check_sys_read()
            self._check_lock_flag(flags)
            return self._mask_lock(self._lookup(k, flags))

    def update(self, key: Any, value: Any, flags: int = BPF_ANY) -> None:
        """BPF_MAP_UPDATE_ELEM with BPF_ANY/BPF_NOEXIST/BPF_EXIST (| BPF_F_LOCK)."""
        k = self._sys_key(key)
        v = self.encode_value(value)
        with self._lock:
            self._check_sys_write()
            self._check_lock_flag(flags)
            self._update(k, v, flags)

    def delete(self, key: Any) -> None:
        """BPF_MAP_DELETE_ELEM."""
        k = self._sys_key(key)
        with self._lock:
            self._check_sys_write()
            self._delete(k)

    def get_next_key(self, key: Any = None) -> bytes:
        """BPF_MAP_GET_NEXT_KEY; ``None`` asks for the first key.  ENOENT at the end."""
        k = None if key is None else self._sys_key(key)
        with self._lock:
            self._check_sys_read()
            return self._get_next_key(k)

    def lookup_and_delete(self, key: Any = None, flags: int = 0) -> bytes:
        """BPF_MAP_LOOKUP_AND_DELETE_ELEM (pop for queue/stack)."""
        k = b"" if key is None and self.key_size == 0 else self._sys_key(key)
        if flags & ~BPF_F_LOCK:
            raise MapInvalidError(f"lookup_and_delete flags {flags:#x}: only BPF_F_LOCK is allowed")
        with self._lock:
            self._check_sys_read()
            self._check_sys_write()
            if flags and self.type in (MapType.QUEUE, MapType.STACK):
                raise MapInvalidError("queue/stack pop takes no flags")
            self._check_lock_flag(flags)
            return self._mask_lock(self._lookup_and_delete(k, flags))

    def freeze(self) -> None:
        """BPF_MAP_FREEZE: from now on the syscall side cannot write."""
        with self._lock:
            if self.has_spin_lock:
                from .errors import ENOTSUPP

                raise MapNotSupportedError("maps with special fields cannot be frozen", errno=ENOTSUPP)
            # A frozen map has lost user-space write permission, so freezing it
            # again fails the permission check (EPERM) before the EBUSY check.
            self._check_sys_write()
            self.frozen = True

    def _mask_lock(self, data: bytes) -> bytes:
        # copy_map_value() never copies the bpf_spin_lock word out: user space sees zeros.
        off = self.spec.spin_lock_offset
        if off is None:
            return data
        return data[:off] + b"\0\0\0\0" + data[off + 4 :]

    # -- batch commands -----------------------------------------------------------

    def lookup_batch(
        self, start: bytes | None = None, count: int = 0, *, delete: bool = False
    ) -> BatchResult:
        """BPF_MAP_LOOKUP_BATCH (``delete``: LOOKUP_AND_DELETE_BATCH).

        ``start`` is the previous result's ``next`` token (None: from the
        beginning); ``count`` 0 means "all".  The token is the last key
        returned, so a key deleted meanwhile restarts the walk as
        get_next_key does.
        """
        with self._lock:
            self._check_sys_read()
            if delete:
                self._check_sys_write()
            self._check_batch("lookup_and_delete" if delete else "lookup")
            if count < 0:
                raise MapInvalidError("batch count must be >= 0")
            keys: list[bytes] = []
            values: list[bytes] = []
            # b"" is the "restart" token lookup_and_delete batches hand out.
            prev = start or None
            while not count or len(keys) < count:
                try:
                    k = self._get_next_key(prev)
                except MapKeyNotFoundError:
                    return self._finish_batch(keys, values, None, delete)
                keys.append(k)
                values.append(self._mask_lock(self._lookup(k, 0)))
                prev = k
            try:
                self._get_next_key(prev)
                nxt: bytes | None = prev
            except MapKeyNotFoundError:
                nxt = None
            return self._finish_batch(keys, values, nxt, delete)

    def _finish_batch(
        self, keys: list[bytes], values: list[bytes], nxt: bytes | None, delete: bool
    ) -> BatchResult:
        if delete:
            for k in keys:
                self._lookup_and_delete(k, 0)
            # The returned keys are gone, so the walk goes on from the first
            # remaining key: the token b"" means "restart".
            nxt = None if nxt is None else b""
        return BatchResult(keys, values, nxt)

    def _check_batch(self, op: str) -> None:
        if op not in self.batch_ops:
            from .errors import ENOTSUPP

            raise MapNotSupportedError(f"{self.type.name} maps have no {op} batch command", errno=ENOTSUPP)

    def update_batch(self, keys: Sequence[Any], values: Sequence[Any], flags: int = BPF_ANY) -> int:
        """BPF_MAP_UPDATE_BATCH: returns how many elements were applied.

        All keys and values are converted first, so malformed input applies
        nothing.  Then elements are applied in order and, as in the kernel, an
        errno failure stops the batch with the earlier elements applied: the
        exception's ``count`` attribute says how many.
        """
        if len(keys) != len(values):
            raise MapInvalidError(f"{len(keys)} keys but {len(values)} values")
        ks = [self._sys_key(k) for k in keys]
        vs = [self.encode_value(v) for v in values]
        with self._lock:
            self._check_sys_write()
            self._check_batch("update")
            # Batches take only BPF_F_LOCK as element flags (generic_map_update_batch).
            if flags & ~BPF_F_LOCK:
                raise MapInvalidError(f"batch element flags {flags:#x}: only BPF_F_LOCK is allowed")
            self._check_lock_flag(flags)
            for i, (k, v) in enumerate(zip(ks, vs, strict=True)):
                try:
                    self._update(k, v, flags)
                except MapError as exc:
                    exc.count = i  # type: ignore[attr-defined]
                    raise
            return len(ks)

    def delete_batch(self, keys: Sequence[Any]) -> int:
        """BPF_MAP_DELETE_BATCH, with update_batch's partial-failure rule."""
        ks = [self._sys_key(k) for k in keys]
        with self._lock:
            self._check_sys_write()
            self._check_batch("delete")
            for i, k in enumerate(ks):
                try:
                    self._delete(k)
                except MapError as exc:
                    exc.count = i  # type: ignore[attr-defined]
                    raise
            return len(ks)

    # -- program side ---------------------------------------------------------------

    def value_ref(self, key: Any, cpu: int = 0) -> ValueRef | None:
        """Where ``key``'s value lives (key encoded like the Python API), None when absent.

        Unlike :meth:`prog_lookup` this does not count as a use (LRU order is untouched).
        """
        k = self.encode_key(key)
        with self._lock:
            return self._value_ref(k, cpu)

    def prog_lookup(self, key: bytes, cpu: int = 0) -> ValueRef | None:
        """bpf_map_lookup_elem(): where the value lives (this CPU's for per-CPU maps)."""
        with self._lock:
            ref = self._value_ref(bytes(key), cpu)
            if ref is not None:
                self._prog_lookup_touch(bytes(key))
            return ref

    def prog_update(self, key: bytes, value: bytes, flags: int = BPF_ANY, cpu: int = 0) -> int:
        """bpf_map_update_elem(): 0 or a negative errno (frozen maps stay writable)."""
        with self._lock:
            if not self.prog_writable:
                return -E.EPERM
            if flags & BPF_F_LOCK and not self.has_spin_lock:
                return -E.EINVAL
            try:
                self._prog_update(bytes(key), bytes(value), flags, cpu)
            except MapError as exc:
                return -(exc.errno or E.EINVAL)
            return 0

    def prog_delete(self, key: bytes) -> int:
        """bpf_map_delete_elem(): 0 or a negative errno."""
        with self._lock:
            if not self.prog_writable:
                return -E.EPERM
            try:
                self._delete(bytes(key))
            except MapError as exc:
                return -(exc.errno or E.EINVAL)
            return 0

    # -- Python mapping API -------------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        return self.decode_value(self.lookup(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        self.update(key, value, BPF_ANY)

    def __delitem__(self, key: Any) -> None:
        self.delete(key)

    def __contains__(self, key: Any) -> bool:
        try:
            self.lookup(key)
        except MapKeyNotFoundError:
            return False
        return True

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self[key]
        except MapKeyNotFoundError:
            return default

    def keys_raw(self) -> list[bytes]:
        """Every key, in get_next_key order, taken atomically under the lock."""
        with self._lock:
            self._check_sys_read()
            out: list[bytes] = []
            prev: bytes | None = None
            while True:
                try:
                    prev = self._get_next_key(prev)
                except MapKeyNotFoundError:
                    return out
                out.append(prev)

    def __iter__(self) -> Iterator[Any]:
        # A snapshot: iterating while another thread updates never raises.
        return iter([self.decode_key(k) for k in self.keys_raw()])

    def keys(self) -> list[Any]:
        return list(self)

    def items(self) -> list[tuple[Any, Any]]:
        with self._lock:
            out = []
            for k in self.keys_raw():
                out.append((self.decode_key(k), self.decode_value(self._mask_lock(self._lookup(k, 0)))))
            return out

    def values(self) -> list[Any]:
        return [v for _, v in self.items()]

    def __len__(self) -> int:
        with self._lock:
            n = self._count()
        if n is None:
            raise TypeError(f"len() is not meaningful for {self.type.name} maps")
        return n

    def __bool__(self) -> bool:
        # A map object is always truthy, even when empty (len() may be undefined).
        return True

    def clear(self) -> None:
        """Delete every element (arrays: zero every value, they cannot delete)."""
        with self._lock:
            self._check_sys_write()
            self._clear()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, type={self.type.name}, key_size={self.key_size}, "
            f"value_size={self.value_size}, max_entries={self.max_entries})"
        )

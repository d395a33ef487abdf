"""Maps whose values are references to kernel objects, not bytes.

In the kernel the syscall side writes a file descriptor (program, map, perf
event, socket) and the map stores the object.  In pybpf the Python side
stores the object itself: ``m[i] = program``.  :class:`RefArrayMap` follows
``kernel/bpf/arraymap.c``'s fd-array rules, :class:`RefHashMap` the
hash-of-maps rules of ``hashtab.c``.  Subclasses say which objects are
acceptable by overriding :meth:`RefArrayMap._check_ref` (raising a
MapError, EINVAL or EBADF, like ``map_fd_get_ptr``).

The bytes-level syscall API (``lookup``/``update`` with bytes values) is not
available for these maps: :meth:`lookup` refuses with ENOTSUPP, as the kernel
does for fd arrays without ``map_fd_sys_lookup_elem``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import BPF_ANY, BPF_EXIST, BPF_NOEXIST, Map
from .errors import ENOTSUPP, MapExistsError, MapFullError, MapInvalidError, MapKeyNotFoundError
from .errors import MapNotSupportedError as _NotSupported
from .hash import OrderedKeys
from .spec import MapSpec

__all__ = ["RefArrayMap", "RefHashMap"]


class RefArrayMap(Map):
    """An array of object references (empty slots hold None)."""

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self._refs: list[Any] = [None] * spec.max_entries

    def _check_ref(self, obj: Any) -> Any:
        """Validate ``obj`` for a slot (and maybe convert it); raise MapError if unusable."""
        return obj

    def _index(self, key: Any) -> int:
        return int.from_bytes(self.encode_key(key), "little")

    # -- syscall-like API on objects ------------------------------------------------------

    def set(self, key: Any, obj: Any, flags: int = BPF_ANY) -> None:
        """BPF_MAP_UPDATE_ELEM with an object where the kernel takes an fd."""
        i = self._index(key)
        with self.lock:
            self._check_sys_write()
            self._set(i, obj, flags)

    def _set(self, i: int, obj: Any, flags: int) -> None:
        if flags != BPF_ANY:
            raise MapInvalidError(f"{self.type.name} updates take only BPF_ANY (got {flags:#x})")
        if i >= self.max_entries:
            raise MapFullError(f"index {i} is beyond max_entries {self.max_entries}")
        self._refs[i] = self._check_ref(obj)

    def _delete(self, key: bytes) -> None:
        i = int.from_bytes(key, "little")
        if i >= self.max_entries:
            raise MapFullError(f"index {i} is beyond max_entries {self.max_entries}")
        if self._refs[i] is None:
            raise MapKeyNotFoundError(f"slot {i} of '{self.name}' is empty")
        self._refs[i] = None

    def _get_next_key(self, key: bytes | None) -> bytes:
        i = -1 if key is None else int.from_bytes(key, "little")
        if i >= self.max_entries:
            i = -1
        if i == self.max_entries - 1:
            raise MapKeyNotFoundError("no key after the last index")
        return (i + 1).to_bytes(4, "little")

    def _lookup(self, key: bytes, flags: int) -> bytes:
        raise _NotSupported(f"{self.type.name} values are objects; use m[key] or get_ref()", errno=ENOTSUPP)

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        raise _NotSupported(f"{self.type.name} values are objects; assign an object", errno=ENOTSUPP)

    def get_ref(self, index: int) -> Any:
        """The object in slot ``index`` or None (what the program side resolves)."""
        with self.lock:
            if not 0 <= index < self.max_entries:
                return None
            return self._refs[index]

    def _count(self) -> int:
        return self.max_entries

    def _clear(self) -> None:
        self._refs = [None] * self.max_entries

    # -- Python API ----------------------------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        i = self._index(key)
        with self.lock:
            self._check_sys_read()
            if i >= self.max_entries or self._refs[i] is None:
                raise MapKeyNotFoundError(f"slot {i} of '{self.name}' is empty")
            return self._refs[i]

    def __setitem__(self, key: Any, obj: Any) -> None:
        self.set(key, obj)

    def __contains__(self, key: Any) -> bool:
        i = self._index(key)
        with self.lock:
            return i < self.max_entries and self._refs[i] is not None

    def items(self) -> list[tuple[Any, Any]]:
        with self.lock:
            refs = enumerate(self._refs)
            return [(self.decode_key(i.to_bytes(4, "little")), r) for i, r in refs if r is not None]

    def __iter__(self) -> Iterator[Any]:
        # get_next_key walks every index (kernel order); Python iteration yields
        # only occupied slots so that ``k in m`` holds for every ``k`` iterated.
        return iter([k for k, _ in self.items()])


class RefHashMap(Map):
    """A hash of object references (hash_of_maps, devmap_hash), insertion-ordered."""

    def __init__(self, spec: MapSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self._refs: dict[bytes, Any] = {}
        self._order = OrderedKeys()

    def _check_ref(self, obj: Any) -> Any:
        return obj

    def set(self, key: Any, obj: Any, flags: int = BPF_ANY) -> None:
        k = self.encode_key(key)
        with self.lock:
            self._check_sys_write()
            self._set(k, obj, flags)

    def _set(self, k: bytes, obj: Any, flags: int) -> None:
        if flags > BPF_EXIST:
            raise MapInvalidError(f"update flags {flags:#x} not valid for {self.type.name}")
        present = k in self._refs
        if present and flags == BPF_NOEXIST:
            raise MapExistsError(f"key {k.hex()} already in '{self.name}' (BPF_NOEXIST)")
        if not present and flags == BPF_EXIST:
            raise MapKeyNotFoundError(f"key {k.hex()} not in '{self.name}' (BPF_EXIST)")
        obj = self._check_ref(obj)
        if not present:
            if len(self._refs) >= self.max_entries:
                raise MapFullError(f"map '{self.name}' is full ({self.max_entries} entries)")
            self._order.add(k)
        self._refs[k] = obj

    def _delete(self, key: bytes) -> None:
        if key not in self._refs:
            raise MapKeyNotFoundError(f"key {key.hex()} not in '{self.name}'")
        del self._refs[key]
        self._order.remove(key)

    def _get_next_key(self, key: bytes | None) -> bytes:
        nxt = self._order.head if key is None or key not in self._order else self._order.after(key)
        if nxt is None:
            raise MapKeyNotFoundError("no more keys")
        return nxt

    def _lookup(self, key: bytes, flags: int) -> bytes:
        raise _NotSupported(f"{self.type.name} values are objects; use m[key] or get_ref()", errno=ENOTSUPP)

    def _update(self, key: bytes, value: bytes, flags: int) -> None:
        raise _NotSupported(f"{self.type.name} values are objects; assign an object", errno=ENOTSUPP)

    def get_ref(self, key: bytes) -> Any:
        with self.lock:
            return self._refs.get(bytes(key))

    def _count(self) -> int:
        return len(self._refs)

    def _clear(self) -> None:
        self._refs.clear()
        self._order = OrderedKeys()

    def __getitem__(self, key: Any) -> Any:
        k = self.encode_key(key)
        with self.lock:
            self._check_sys_read()
            if k not in self._refs:
                raise MapKeyNotFoundError(f"key {k.hex()} not in '{self.name}'")
            return self._refs[k]

    def __setitem__(self, key: Any, obj: Any) -> None:
        self.set(key, obj)

    def __contains__(self, key: Any) -> bool:
        k = self.encode_key(key)
        with self.lock:
            return k in self._refs

    def items(self) -> list[tuple[Any, Any]]:
        with self.lock:
            return [(self.decode_key(k), self._refs[k]) for k in self.keys_raw()]

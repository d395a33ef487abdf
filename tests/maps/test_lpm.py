"""LPM trie: longest-prefix match against brute force, and the kernel's post-order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pybpf.maps import (
    BPF_EXIST,
    BPF_NOEXIST,
    LpmTrieMap,
    MapExistsError,
    MapInvalidError,
    MapKeyNotFoundError,
    MapSpec,
    MapType,
    create_map,
    lpm_key,
)
from pybpf.maps.errors import MapError, MapNoSpaceError


def trie(n: int = 16, data: int = 4) -> LpmTrieMap:
    m = create_map(MapSpec("t", MapType.LPM_TRIE, 4 + data, 4, n, flags=1))
    assert isinstance(m, LpmTrieMap)
    return m


def ip(a: int, b: int, c: int, d: int) -> bytes:
    return bytes([a, b, c, d])


def test_longest_prefix_wins() -> None:
    m = trie()
    m[lpm_key(8, ip(10, 0, 0, 0))] = 8
    m[lpm_key(16, ip(10, 1, 0, 0))] = 16
    m[lpm_key(24, ip(10, 1, 2, 0))] = 24
    assert m[lpm_key(32, ip(10, 1, 2, 3))] == (24).to_bytes(4, "little")
    assert m[lpm_key(32, ip(10, 1, 9, 3))] == (16).to_bytes(4, "little")
    assert m[lpm_key(32, ip(10, 9, 9, 9))] == (8).to_bytes(4, "little")
    # The lookup key's own prefixlen caps the match length.
    assert m[lpm_key(20, ip(10, 1, 2, 3))] == (16).to_bytes(4, "little")
    with pytest.raises(MapKeyNotFoundError):
        m.lookup(lpm_key(32, ip(11, 0, 0, 0)))
    with pytest.raises(MapKeyNotFoundError):  # beyond max prefixlen: nothing (kernel 6.18)
        m.lookup(lpm_key(33, ip(10, 1, 2, 3)))


def test_exact_update_delete_and_errors() -> None:
    m = trie(n=2)
    k8 = lpm_key(8, ip(10, 0, 0, 0))
    m.update(k8, 1, BPF_NOEXIST)
    with pytest.raises(MapExistsError):
        m.update(lpm_key(8, ip(10, 7, 7, 7)), 1, BPF_NOEXIST)  # same prefix, other host bits
    with pytest.raises(MapKeyNotFoundError):
        m.update(lpm_key(9, ip(10, 0, 0, 0)), 1, BPF_EXIST)
    with pytest.raises(MapInvalidError):
        m.update(lpm_key(33, ip(0, 0, 0, 0)), 1)
    with pytest.raises(MapInvalidError):
        m.update(k8, 1, 3)
    m[lpm_key(0, ip(0, 0, 0, 0))] = 0
    with pytest.raises(MapNoSpaceError) as ei:
        m[lpm_key(16, ip(10, 1, 0, 0))] = 2
    assert ei.value.errno == 28
    m[k8] = 5  # replacing when full is fine
    with pytest.raises(MapKeyNotFoundError):
        del m[lpm_key(16, ip(10, 1, 0, 0))]
    with pytest.raises(MapInvalidError):
        del m[lpm_key(40, ip(10, 1, 0, 0))]
    del m[k8]
    assert len(m) == 1
    with pytest.raises(MapError) as e2:
        m.lookup_and_delete(k8)
    assert e2.value.errno == 524


def test_key_bytes_are_returned_as_last_given() -> None:
    m = trie()
    m[lpm_key(8, ip(10, 1, 2, 3))] = 1
    assert m.get_next_key(None) == lpm_key(8, ip(10, 1, 2, 3))
    m[lpm_key(8, ip(10, 9, 9, 9))] = 2
    assert m.keys() == [lpm_key(8, ip(10, 9, 9, 9))]


def test_postorder_example() -> None:
    m = trie()
    keys = [
        lpm_key(0, ip(0, 0, 0, 0)),
        lpm_key(8, ip(10, 0, 0, 0)),
        lpm_key(16, ip(10, 1, 0, 0)),
        lpm_key(16, ip(10, 128, 0, 0)),
        lpm_key(8, ip(192, 0, 0, 0)),
        lpm_key(24, ip(10, 1, 1, 0)),
    ]
    for i, key in enumerate(keys):
        m[key] = i
    # descendants first, the 0-branch before the 1-branch, the root last
    assert m.keys() == [keys[5], keys[2], keys[3], keys[1], keys[4], keys[0]]
    assert m.get_next_key(lpm_key(12, ip(1, 2, 3, 4))) == keys[5]  # not present: restart


# -- a reference trie, built like the kernel's, for get_next_key order ----------------


class _Node:
    def __init__(self, plen: int, bits: str, real: bool) -> None:
        self.plen, self.bits, self.real = plen, bits, real
        self.child: list[_Node | None] = [None, None]


def _insert(root: _Node | None, bits: str) -> _Node:
    """Insert a prefix into a path-compressed binary trie (intermediate nodes at forks)."""
    if root is None:
        return _Node(len(bits), bits, True)
    common = 0
    limit = min(len(bits), root.plen)
    while common < limit and bits[common] == root.bits[common]:
        common += 1
    if common == root.plen == len(bits):
        root.real = True
        return root
    if common == root.plen:
        b = int(bits[common])
        root.child[b] = _insert(root.child[b], bits)
        return root
    if common == len(bits):
        node = _Node(common, bits, True)
        node.child[int(root.bits[common])] = root
        return node
    mid = _Node(common, bits[:common], False)
    mid.child[int(bits[common])] = _Node(len(bits), bits, True)
    mid.child[int(root.bits[common])] = root
    return mid


def _postorder(node: _Node | None, out: list[str]) -> None:
    if node is None:
        return
    _postorder(node.child[0], out)
    _postorder(node.child[1], out)
    if node.real:
        out.append(node.bits)


prefixes = st.lists(st.tuples(st.integers(0, 16), st.integers(0, 0xFFFF)), max_size=25)


@settings(max_examples=200, deadline=None)
@given(prefixes, st.lists(st.tuples(st.integers(0, 17), st.integers(0, 0xFFFF)), max_size=10))
def test_matches_brute_force_and_reference_trie(
    entries: list[tuple[int, int]], probes: list[tuple[int, int]]
) -> None:
    m = trie(n=100, data=2)
    model: dict[str, int] = {}
    for i, (plen, data) in enumerate(entries):
        m[lpm_key(plen, data.to_bytes(2, "big"))] = i
        model[format(data, "016b")[:plen]] = i
    # lookup = brute-force longest match
    for plen, data in probes + entries:
        bits = format(data, "016b")
        best = None
        if plen <= 16:
            for p in range(plen, -1, -1):
                if bits[:p] in model:
                    best = model[bits[:p]]
                    break
        got = m.get(lpm_key(plen, data.to_bytes(2, "big")))
        assert got == (None if best is None else best.to_bytes(4, "little"))
    # get_next_key order = post-order of the kernel-shaped trie
    root: _Node | None = None
    for bits in model:
        root = _insert(root, bits)
    expect: list[str] = []
    _postorder(root, expect)
    got_order = []
    for key in m.keys_raw():
        plen = int.from_bytes(key[:4], "little")
        got_order.append(format(int.from_bytes(key[4:], "big"), "016b")[:plen])
    assert got_order == expect

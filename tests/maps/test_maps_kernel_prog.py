"""Program-side differential tests: helpers run in the kernel (BPF_PROG_TEST_RUN) vs pybpf.

Tiny hand-assembled XDP programs call one helper on a kernel map and return
its result; pybpf's program-side API must return the same values in the same
order.  This checks what the syscall side cannot reach: ring buffer space
accounting and queue/stack pushes from programs.
"""

from __future__ import annotations

import struct

import pytest

from kernel_maps import KernelMap
from pybpf import kernel
from pybpf.maps import MapSpec, MapType, QueueMap, RingBufMap, create_map

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("need_kernel")]

RINGBUF_OUTPUT, RINGBUF_QUERY = 130, 134
MAP_PUSH, MAP_POP = 87, 88


def _insn(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", op, (src << 4) | dst, off, imm)


def _ld_map(fd: int) -> bytes:
    return _insn(0x18, 1, 1, 0, fd) + _insn(0)  # r1 = map (BPF_PSEUDO_MAP_FD)


def _zero_stack(n: int) -> bytes:
    return b"".join(_insn(0x7A, 10, 0, -8 * (i + 1), 0) for i in range(n // 8))


def _call_with_stack_buf(fd: int, helper: int, size: int, flags: int) -> bytes:
    """r0 = helper(map, r10 - size, size, flags) for output/push-like helpers."""
    body = _zero_stack(size) + _ld_map(fd)
    body += _insn(0xBF, 2, 10) + _insn(0x07, 2, 0, 0, -size)  # r2 = r10 - size
    if helper == RINGBUF_OUTPUT:
        body += _insn(0xB7, 3, 0, 0, size) + _insn(0xB7, 4, 0, 0, flags)
    else:
        body += _insn(0xB7, 3, 0, 0, flags)
    return body + _insn(0x85, imm=helper) + _insn(0x95)


def _run(code: bytes) -> int:
    with kernel.load_program(code, kernel.BPF_PROG_TYPE_XDP) as prog:
        ret = prog.test_run(bytes(64)).retval
    return ret - (1 << 32) if ret >= 1 << 31 else ret  # retval is r0's low 32 bits


@pytest.mark.parametrize("size", [1, 8, 56, 64, 200])
def test_ringbuf_output_fills_like_the_kernel(size: int) -> None:
    ours = create_map(MapSpec("rb", MapType.RINGBUF, 0, 0, 4096))
    assert isinstance(ours, RingBufMap)
    with KernelMap(int(MapType.RINGBUF), 0, 0, 4096) as km:
        out = _call_with_stack_buf(km.fd, RINGBUF_OUTPUT, (size + 7) // 8 * 8, 0)
        runs = 4096 // ((size + 7) // 8 * 8 + 8) + 2  # until it is full, then twice more
        k_results = [_run(out) for _ in range(runs)]
        p_results = [ours.output(bytes((size + 7) // 8 * 8)) for _ in range(runs)]
        assert k_results == p_results
        assert -11 in k_results  # the ring did fill up (EAGAIN)
        for flag in range(5):
            query = _ld_map(km.fd) + _insn(0xB7, 2, 0, 0, flag) + _insn(0x85, imm=RINGBUF_QUERY) + _insn(0x95)
            assert _run(query) == ours.query(flag), f"query flag {flag}"


def test_ringbuf_output_bad_flags_like_the_kernel() -> None:
    ours = create_map(MapSpec("rb", MapType.RINGBUF, 0, 0, 4096))
    assert isinstance(ours, RingBufMap)
    with KernelMap(int(MapType.RINGBUF), 0, 0, 4096) as km:
        for flags in (1, 2, 3, 4):
            code = _call_with_stack_buf(km.fd, RINGBUF_OUTPUT, 8, flags)
            assert _run(code) == ours.output(bytes(8), flags), flags


@pytest.mark.parametrize("kind", [MapType.QUEUE, MapType.STACK])
def test_program_push_pop_like_the_kernel(kind: MapType) -> None:
    ours = create_map(MapSpec("q", kind, 0, 8, 3))
    assert isinstance(ours, QueueMap)
    with KernelMap(int(kind), 0, 8, 3) as km:
        for flags in (0, 0, 0, 0, 2, 1, 3, 2):
            code = _call_with_stack_buf(km.fd, MAP_PUSH, 8, flags)
            assert _run(code) == ours.prog_push(bytes(8), flags), flags
        pop = _zero_stack(8) + _ld_map(km.fd) + _insn(0xBF, 2, 10) + _insn(0x07, 2, 0, 0, -8)
        pop += _insn(0x85, imm=MAP_POP) + _insn(0x95)
        for _ in range(5):
            got = ours.prog_pop()
            assert _run(pop) == (got if isinstance(got, int) else 0)

"""The ctypes layer over bpf(2): maps, program load, test runs, errors, fd hygiene."""

from __future__ import annotations

import errno
import gc
import os
from collections.abc import Iterator

import pytest

from pybpf import kernel
from pybpf.errors import KernelError, PyBpfError
from pybpf.isa import Insn, Program, decode
from pybpf.kernel.link import Linker, rewrite

pytestmark = pytest.mark.kernel

RET_42 = bytes.fromhex("b7000000 2a000000 95000000 00000000".replace(" ", ""))
# r0 = r5; exit: r5 is never initialised
BAD = bytes.fromhex("bf50000000000000" "9500000000000000")


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def _needs_bpf() -> Iterator[None]:
    if not kernel.available():
        pytest.skip(kernel.unavailable_reason())
    before = _fd_count()
    yield
    # every test must leave the fd table as it found it
    assert _fd_count() == before


def test_available_is_cached_and_explains() -> None:
    assert kernel.available() is True
    assert kernel.unavailable_reason() == "bpf() works"


def test_map_round_trip() -> None:
    with kernel.BpfMap(value_size=12, max_entries=3, name="t_rt") as m:
        assert m.lookup(1) == bytes(12)  # array elements exist, zeroed
        m.update(1, bytes(range(12)))
        m.update(b"\x02\x00\x00\x00", b"x" * 12)
        assert m.lookup(1) == bytes(range(12))
        assert m.lookup(2) == b"x" * 12
        assert m.lookup(0) == bytes(12)
        assert m.lookup(3) is None  # out of range: ENOENT, not an error
        assert m.fd >= 0
    assert m.closed


def test_map_errors_are_kernel_errors() -> None:
    with kernel.BpfMap(value_size=4) as m:
        with pytest.raises(KernelError) as info:
            m.update(0, b"\x00\x00\x00\x00", flags=1)  # BPF_NOEXIST on an array: EEXIST
        assert info.value.errno == errno.EEXIST
        assert isinstance(info.value, PyBpfError)
        with pytest.raises(KernelError):
            m.update(0, b"short")
    with pytest.raises(KernelError) as info:
        kernel.BpfMap(value_size=4, map_type=0x7FFF)  # no such map type
    assert info.value.errno == errno.EINVAL
    with pytest.raises(KernelError):
        _ = m.fd  # closed


def test_load_and_test_run() -> None:
    with kernel.load_program(decode(RET_42), log_level=1) as prog:
        assert "processed 2 insns" in prog.log
        run = prog.test_run(bytes(64), repeat=3)
        assert run.retval == 42
        assert run.duration >= 0
        assert run.data_out == bytes(64)


def test_rejected_program_carries_the_verifier_log() -> None:
    with pytest.raises(KernelError) as info:
        kernel.load_program(BAD)
    err = info.value
    assert err.errno == errno.EACCES
    assert "R5 !read_ok" in err.log
    assert "R5 !read_ok" in err.reason
    with pytest.raises(KernelError):
        kernel.load_program(b"\x95\x00")  # not a whole instruction


def test_run_in_kernel_returns_64_bit_r0_and_memory() -> None:
    # r0 = 0x1122334455667788; *(u64 *)(r1 + 0) = r0; r0 += r2; exit
    prog = Program([Insn(0x18, 0, 0, 0, 0x1122334455667788), Insn(0x7B, 1, 0, 0, 0),
                    Insn(0x0F, 0, 2), Insn(0x95)])
    run = kernel.run_in_kernel(prog, bytes(16))
    assert run.r0 == 0x1122334455667788 + 16
    assert run.mem == (0x1122334455667788).to_bytes(8, "little") + bytes(8)
    assert "processed" in run.log


def test_run_in_kernel_keeps_local_calls_and_multiple_exits() -> None:
    # main: if r2 == 8 goto +1; exit (not taken path returns r0 from below)
    link = Linker()
    link.emit(Insn(0xB7, 0, 0, 0, 5))             # r0 = 5
    link.emit(Insn(0x15, 2, 0, 0, 8), "call")      # if r2 == 8 goto call
    link.emit(Insn(0x95))                          # exit (r0 = 5)
    link.label("call")
    link.emit(Insn(0x85, 0, 1, 0, 0), "sub")       # call sub
    link.emit(Insn(0x07, 0, 0, 0, 1))              # r0 += 1
    link.emit(Insn(0x95))
    link.label("sub")
    link.emit(Insn(0x18, 0, 0, 0, 0xFFFF_FFFF_0000_0000))
    link.emit(Insn(0x95))
    prog = link.link()
    assert kernel.run_in_kernel(prog, bytes(8)).r0 == 0xFFFF_FFFF_0000_0001
    assert kernel.run_in_kernel(prog, bytes(4)).r0 == 5


def test_runner_reuses_maps_and_rejects_out_of_bounds() -> None:
    # r0 = *(u64 *)(r1 + 8): fine for 16 bytes, out of the map value for 12
    prog = decode(bytes.fromhex("7910080000000000" "9500000000000000"))
    with kernel.KernelRunner() as runner:
        assert runner.run(prog, bytes(range(16))).r0 == int.from_bytes(bytes(range(8, 16)), "little")
        assert runner.run(prog, bytes(16)).r0 == 0
        with pytest.raises(KernelError) as info:
            runner.run(prog, bytes(12))
        assert "invalid access to map value" in info.value.log
        # empty memory: r1 = 0, r2 = 0
        assert runner.run(decode(bytes.fromhex("bf20000000000000" "9500000000000000")), b"").r0 == 0


def test_main_function_must_end_in_exit_or_goto() -> None:
    with pytest.raises(KernelError):
        kernel.run_in_kernel(decode(bytes.fromhex("b700000000000000")), bytes(8))


def test_rewrite_keeps_jump_targets() -> None:
    # if r1 == 0 goto +1; r0 = 1; exit  -> insert r0 = 2 before r0 = 1
    prog = decode(bytes.fromhex("1501010000000000" "b700000001000000" "9500000000000000"))
    out = rewrite(prog, lambda i, insn: [Insn(0xB7, 0, 0, 0, 2), insn] if i == 1 else None)
    assert [i.opcode for i in out] == [0x15, 0xB7, 0xB7, 0x95]
    assert out[0].jump_target(0) == 3  # still lands on exit


@pytest.mark.parametrize("prog_type", [kernel.BPF_PROG_TYPE_XDP, kernel.BPF_PROG_TYPE_SCHED_CLS,
                                       kernel.BPF_PROG_TYPE_SOCKET_FILTER])
def test_run_in_kernel_program_types(prog_type: int) -> None:
    # r0 = *(u8 *)(r1 + 4095); r0 += r2; exit  -- 4 KiB of memory
    prog = decode(bytes.fromhex("7110ff0f00000000" "0f20000000000000" "9500000000000000"))
    mem = bytes(4095) + b"\x07"
    assert kernel.run_in_kernel(prog, mem, prog_type=prog_type, log_level=0).r0 == 7 + 4096


def test_log_level_2_traces_every_instruction() -> None:
    with kernel.load_program(decode(RET_42), log_level=2) as prog:
        assert "0: (b7) r0 = 42" in prog.log
        assert "1: (95) exit" in prog.log
    assert kernel.availability() == (True, "bpf() works")


def test_small_log_buffer_is_retried_with_the_size_the_kernel_wants() -> None:
    with kernel.load_program(decode(RET_42), log_level=2, log_size=16) as prog:
        assert "1: (95) exit" in prog.log


def test_forgotten_objects_close_their_fds() -> None:
    before = _fd_count()
    m = kernel.BpfMap(value_size=4)
    p = kernel.load_program(RET_42)
    assert _fd_count() == before + 2
    del m, p  # no close(): the finalizers do it
    gc.collect()
    assert _fd_count() == before


def test_maps_with_zero_sized_keys_or_values_are_the_kernels_to_judge() -> None:
    if not kernel.available():
        pytest.skip(f"bpf() unavailable: {kernel.unavailable_reason()}")
    from pybpf.kernel.syscall import BpfMap

    with BpfMap(map_type=27, key_size=0, value_size=0, max_entries=4096, name="rb"):  # ringbuf
        pass
    with BpfMap(map_type=30, key_size=0, value_size=4, max_entries=16, map_extra=3):  # bloom filter
        pass
    with pytest.raises(KernelError) as exc:
        BpfMap(map_type=2, key_size=0, value_size=4)  # an array needs a 4-byte key
    assert exc.value.errno == errno.EINVAL


# -- generic map commands -------------------------------------------------------------

HASH, PERCPU_ARRAY, QUEUE, RINGBUF, BLOOM = 1, 6, 22, 27, 30


def test_hash_map_element_commands() -> None:
    with kernel.BpfMap(map_type=HASH, key_size=4, value_size=8, max_entries=4, name="t_hash") as m:
        assert m.next_key(None) is None and list(m.iter_keys()) == []
        m.update(1, b"a" * 8)
        m.update(2, b"b" * 8, flags=1)  # BPF_NOEXIST
        with pytest.raises(KernelError) as info:
            m.update(2, b"c" * 8, flags=1)
        assert info.value.errno == errno.EEXIST
        assert sorted(m.iter_keys()) == [b"\x01\x00\x00\x00", b"\x02\x00\x00\x00"]
        first = m.next_key(None)
        assert first is not None and m.next_key(first) is not None
        assert m.lookup(1) == b"a" * 8 and m.lookup(3) is None
        assert m.lookup(2, value_size=4) == b"bbbb"
        assert m.delete(1) is True and m.delete(1) is False
        assert m.lookup_and_delete(2) == b"b" * 8 and m.lookup_and_delete(2) is None
        assert list(m.iter_keys()) == []
        with pytest.raises(KernelError) as info:
            m.lookup(b"\x01\x00")  # wrong key size: refused before the syscall
        assert info.value.errno == errno.EINVAL


def test_freeze_stops_user_space_writes() -> None:
    with kernel.BpfMap(value_size=4, max_entries=2) as m:
        m.update(0, b"abcd")
        m.freeze()
        with pytest.raises(KernelError) as info:
            m.update(1, b"efgh")
        assert info.value.errno == errno.EPERM
        assert m.lookup(0) == b"abcd"


def test_queue_takes_null_keys_and_zero_sized_keys() -> None:
    with kernel.BpfMap(map_type=QUEUE, key_size=0, value_size=4, max_entries=2) as q:
        q.update(None, b"one!")
        q.update(None, b"two!")
        assert q.lookup(None) == b"one!"  # peek
        assert q.lookup_and_delete(None) == b"one!"  # pop
        assert q.lookup_and_delete(None) == b"two!"
        assert q.lookup_and_delete(None) is None  # empty: ENOENT


def test_bloom_filter_membership() -> None:
    with kernel.BpfMap(map_type=BLOOM, key_size=0, value_size=4, max_entries=16, map_extra=3) as b:
        b.update(None, b"in!!")
        assert b.contains_value(b"in!!") is True


def test_per_cpu_values_have_a_slot_per_possible_cpu() -> None:
    ncpu = kernel.possible_cpus()
    assert ncpu >= 1
    with kernel.BpfMap(map_type=PERCPU_ARRAY, value_size=4, max_entries=1) as m:
        assert m.elem_size == 8 * ncpu
        value = b"".join(i.to_bytes(8, "little") for i in range(ncpu))
        m.update(0, value)
        assert m.lookup(0) == value
        with pytest.raises(KernelError) as info:
            m.update(0, b"abc")
        assert info.value.errno == errno.EINVAL


def test_batches_report_how_many_were_done() -> None:
    with kernel.BpfMap(map_type=HASH, key_size=4, value_size=4, max_entries=2) as m:
        keys = [i.to_bytes(4, "little") for i in range(2)]
        assert m.update_batch(keys, [b"aaaa", b"bbbb"]) == 2
        assert m.delete_batch(keys[:1]) == 1
        with pytest.raises(kernel.KernelBatchError) as info:
            m.delete_batch([keys[1], keys[0]])  # the second is gone: ENOENT after one
        assert info.value.errno == errno.ENOENT and info.value.count == 1
        assert isinstance(info.value, KernelError)
        assert list(m.iter_keys()) == []


def test_map_create_passes_btf_fields() -> None:
    with pytest.raises(KernelError) as info:
        kernel.BpfMap(map_type=HASH, value_size=4, btf_fd=(1 << 31) - 1, btf_key_type_id=1,
                      btf_value_type_id=1)
    assert info.value.errno in (errno.EBADF, errno.EINVAL)


def _ringbuf_output_program(map_fd: int) -> bytes:
    import struct

    def insn(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
        return struct.pack("<BBhi", op, (src << 4) | dst, off, imm)

    return b"".join([
        insn(0x7A, 10, off=-8, imm=42),          # *(u64 *)(r10 - 8) = 42
        insn(0x18, 1, 1, imm=map_fd), insn(0),   # r1 = map
        insn(0xBF, 2, 10), insn(0x07, 2, imm=-8),  # r2 = r10 - 8
        insn(0xB7, 3, imm=8), insn(0xB7, 4),     # r3 = 8; r4 = 0
        insn(0x85, imm=130),                     # bpf_ringbuf_output
        insn(0xB7, 0, imm=2), insn(0x95),        # return XDP_PASS
    ])


def test_read_ringbuf_sees_committed_records() -> None:
    with kernel.BpfMap(map_type=RINGBUF, key_size=0, value_size=0, max_entries=4096) as rb:
        assert kernel.read_ringbuf(rb) == []
        with kernel.load_program(_ringbuf_output_program(rb.fd)) as prog:
            prog.test_run(bytes(64))
            prog.test_run(bytes(64))
        record = (42).to_bytes(8, "little")
        assert kernel.read_ringbuf(rb, consume=False) == [record, record]
        assert kernel.read_ringbuf(rb) == [record, record]
        assert kernel.read_ringbuf(rb) == []  # consumed


def test_read_ringbuf_of_another_map_type_is_a_kernel_error() -> None:
    with kernel.BpfMap(value_size=4) as m, pytest.raises(KernelError):
        kernel.read_ringbuf(m)

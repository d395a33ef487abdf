"""Time, random, CPU, current task, printk/snprintf/strncmp and probe_read helpers."""

from __future__ import annotations

from rtbuild import build

from pybpf.platform import ProgType
from pybpf.runtime.task import Task

RAW_TP = ProgType.RAW_TRACEPOINT


def _run(asm: str, **kw: object) -> int:
    obj = build(asm, RAW_TP, **kw)  # type: ignore[arg-type]
    return obj.programs["prog"].test_run(ctx=bytes(8)).retval


def test_current_task_and_cpu() -> None:
    task = Task(pid=11, tgid=22, uid=1000, gid=100, comm="worker")
    obj = build("""
    call 14
    r6 = r0
    call 15
    r7 = r0
    call 8
    r8 = r0
    r1 = r10
    r1 += -16
    r2 = 16
    call 16
    r0 = *(u64 *)(r10 - 16)
    exit
    """, RAW_TP, task=task, num_cpus=4, cpu=3)
    res = obj.programs["prog"].test_run(ctx=bytes(8), trace=True)
    assert res.retval == int.from_bytes(b"work", "little")  # low 32 bits of "worker\0\0"
    regs = {name: value for step in res.trace or () for name, value in step.changes}
    assert regs["r6"] == 22 << 32 | 11
    assert regs["r7"] == 100 << 32 | 1000
    assert regs["r8"] == 3


def test_clocks_move_forward_and_prandom_is_seeded() -> None:
    asm = """
    call 5
    r6 = r0
    call 5
    r0 -= r6
    exit
    """
    assert 0 <= _run(asm) < 1 << 31
    rnd = "call 7\nexit"
    assert _run(rnd, seed=1) == _run(rnd, seed=1)
    assert _run("call 118\nexit") > 0 and _run("call 125\nexit") > 0


def _str_on_stack(text: bytes, at: int) -> str:
    """Assembly storing ``text`` (padded to 8) at r10 - at."""
    text = text.ljust((len(text) + 7) // 8 * 8, b"\0")
    lines = []
    for i in range(0, len(text), 8):
        lines.append(f"r1 = {int.from_bytes(text[i:i + 8], 'little'):#x} ll")
        lines.append(f"*(u64 *)(r10 - {at - i}) = r1")
    return "\n".join(lines)


def test_trace_printk_formats_and_captures() -> None:
    fmt = b"x=%d u=%x %s\n\0"
    obj = build(_str_on_stack(fmt, 48) + "\n" + _str_on_stack(b"hi\0", 56) + """
    r1 = r10
    r1 += -48
    r2 = 16
    r3 = -5
    r4 = 7
    r5 = r10
    r5 += -56
    call 6
    exit
    """, RAW_TP)
    res = obj.programs["prog"].test_run(ctx=bytes(8))
    assert obj.trace_output == ["x=-5 u=7 hi"]
    assert res.retval == len("x=-5 u=7 hi\n")  # the kernel counts the newline


def test_trace_printk_rejects_bad_formats() -> None:
    obj = build(_str_on_stack(b"%q\0", 8) + """
    r1 = r10
    r1 += -8
    r2 = 3
    call 6
    exit
    """, RAW_TP)
    assert obj.programs["prog"].test_run(ctx=bytes(8)).retval == (-22) & 0xFFFF_FFFF
    assert obj.trace_output == []


def test_snprintf_and_strncmp() -> None:
    obj = build(_str_on_stack(b"n=%llu\0", 8) + """
    r1 = 1234
    *(u64 *)(r10 - 16) = r1
    r1 = r10
    r1 += -32
    r2 = 16
    r3 = r10
    r3 += -8
    r4 = r10
    r4 += -16
    r5 = 8
    call 165
    r6 = r0
    r0 = *(u64 *)(r10 - 32)
    exit
    """, RAW_TP)
    res = obj.programs["prog"].test_run(ctx=bytes(8))
    assert res.retval == int.from_bytes(b"n=1234\0\0"[:4], "little") | 0  # low 32 bits
    cmp = build(_str_on_stack(b"abcd\0", 8) + "\n" + _str_on_stack(b"abce\0", 16) + """
    r1 = r10
    r1 += -8
    r2 = 3
    r3 = r10
    r3 += -16
    call 182
    r6 = r0
    r1 = r10
    r1 += -8
    r2 = 4
    r3 = r10
    r3 += -16
    call 182
    r0 <<= 8
    r0 |= r6
    exit
    """, RAW_TP)
    assert cmp.programs["prog"].test_run(ctx=bytes(8)).retval == 0xFFFFFF00  # (-1 << 8) | 0


def test_probe_read_faults_cleanly() -> None:
    obj = build("""
    r1 = -1
    *(u64 *)(r10 - 8) = r1
    r1 = r10
    r1 += -8
    r2 = 8
    r3 = 16
    call 113
    r6 = r0
    r0 = *(u64 *)(r10 - 8)
    r0 |= r6
    exit
    """, RAW_TP)
    # -EFAULT, and the destination was zeroed
    assert obj.programs["prog"].test_run(ctx=bytes(8)).retval == (-14) & 0xFFFF_FFFF


def test_probe_read_str_copies_from_ctx() -> None:
    obj = build("""
    r3 = r1
    r1 = r10
    r1 += -16
    r2 = 16
    call 115
    exit
    """, RAW_TP)
    res = obj.programs["prog"].test_run(ctx=b"hello\0\0\0")
    assert res.retval == 6


def test_trace_vprintk_and_get_func_ip() -> None:
    obj = build(_str_on_stack(b"%d-%d\0", 8) + """
    r1 = 3
    *(u64 *)(r10 - 24) = r1
    r1 = 4
    *(u64 *)(r10 - 16) = r1
    r1 = r10
    r1 += -8
    r2 = 6
    r3 = r10
    r3 += -24
    r4 = 16
    call 177
    exit
    """, RAW_TP)
    assert obj.programs["prog"].test_run(ctx=bytes(8)).retval == 3
    assert obj.trace_output == ["3-4"]
    kp = build("call 173\nexit", ProgType.KPROBE)
    assert kp.programs["prog"].test_run(ctx={"ip": 0xFFFF_1234}).retval == 0xFFFF_1234

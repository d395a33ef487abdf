"""load_object: maps, refs, and the load-time checks (helpers, ctx accesses, map loads)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rtbuild import build

from pybpf.elf import load_spec
from pybpf.errors import PyBpfError
from pybpf.objects import BpfProgram, load_object
from pybpf.platform import ProgType
from pybpf.runtime.context import CtxAccessError
from pybpf.runtime.linux_helpers import HelperCheckError

DATA = Path(__file__).resolve().parents[1] / "data" / "runtime"


def test_load_from_path_bytes_and_spec() -> None:
    path = DATA / "xdp_rewrite.o"
    for source in (path, str(path), path.read_bytes(), load_spec(path)):
        obj = load_object(source)
        assert set(obj.maps) == {"by_proto", "stats", "bytes", "last_len"}
        prog = obj.programs["xdp_rewrite"]
        assert isinstance(prog, BpfProgram)
        assert prog.prog_type is ProgType.XDP and prog.section == "xdp"
        assert len(prog.insns) > 10


def test_unknown_helper_names_program_pc_and_id() -> None:
    with pytest.raises(HelperCheckError, match=r"pc 1: program 'prog': invalid func unknown#9999"):
        build("r0 = 0\ncall 9999\nexit")


def test_helper_not_allowed_for_the_type() -> None:
    with pytest.raises(HelperCheckError, match="cannot use helper bpf_xdp_adjust_head#44"):
        build("call 44\nexit", ProgType.SOCKET_FILTER)


def test_user_helper_by_id() -> None:
    calls = []

    def mine(ctx: object, r1: int, r2: int, r3: int, r4: int, r5: int) -> int:
        calls.append(r1)
        return r1 * 2

    obj = build("r1 = 21\ncall 9999\nexit", helpers={9999: mine})
    assert obj.programs["prog"].test_run(bytes(64)).retval == 42 and calls == [21]
    later = build("r1 = 4\ncall 7\nexit")
    later.register_helper(7, mine)
    assert later.programs["prog"].test_run(bytes(64)).retval == 8


@pytest.mark.parametrize(("asm", "ptype", "message"), [
    ("r0 = *(u16 *)(r1 + 0)\nexit", ProgType.XDP, "off=0 size=2"),          # narrow data load
    ("r2 = 1\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit", ProgType.XDP, "off=0 size=4"),   # xdp_md is read-only
    ("r0 = *(u32 *)(r1 + 76)\nexit", ProgType.SOCKET_FILTER, "off=76 size=4"),  # no data for filters
    ("r6 = r1\n*(u64 *)(r10 - 8) = r6\nr7 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r7 + 200)\nexit",
     ProgType.SCHED_CLS, "off=200 size=4"),                                   # followed through a spill
])
def test_ctx_access_rules_are_checked_at_load(asm: str, ptype: ProgType, message: str) -> None:
    with pytest.raises(CtxAccessError, match=message):
        build(asm, ptype)


def test_allowed_ctx_writes_land_in_the_skb() -> None:
    obj = build("""
    r2 = 0x55
    *(u32 *)(r1 + 8) = r2
    *(u32 *)(r1 + 52) = r2
    r0 = 0
    exit
    """, ProgType.SCHED_CLS)
    res = obj.programs["prog"].test_run(bytes(12) + b"\x08\x06" + bytes(28), ctx={})
    assert res.ctx_out is not None
    assert res.ctx_out[8:12] == b"\x55\0\0\0" and res.ctx_out[52:56] == b"\x55\0\0\0"


def test_map_load_without_a_map_is_refused() -> None:
    from pybpf.elf import ObjectSpec, ProgramSpec
    from pybpf.isa import Insn, Program, PseudoSrc

    prog = Program([Insn(0x18, dst=1, src=PseudoSrc.MAP_FD, imm=3), Insn(0xB7, imm=0), Insn(0x95)])
    spec = ObjectSpec(programs={"p": ProgramSpec("p", "xdp", ProgType.XDP, prog)}, maps={})
    with pytest.raises(PyBpfError, match="pc 0"):
        load_object(spec)


def test_initial_refs_fill_prog_arrays_and_maps_of_maps() -> None:
    from rtbuild import program

    from pybpf.elf import ObjectSpec, ProgramSpec
    from pybpf.maps import MapSpec, MapType

    inner = MapSpec("inner", MapType.ARRAY, 4, 8, 1, contents=((bytes(4), (5).to_bytes(8, "little")),))
    outer = MapSpec("outer", MapType.ARRAY_OF_MAPS, 4, 4, 2, inner_map=inner, initial_refs=((1, "inner"),))
    jt = MapSpec("jt", MapType.PROG_ARRAY, 4, 4, 2, initial_refs=((0, "target"),))
    maps = {"outer": outer, "inner": inner, "jt": jt}
    entry = program("""
    r6 = r1
    r1 = 0xAA000000 ll
    r2 = r10
    r2 += -4
    *(u32 *)(r2 + 0) = 1
    call 1
    if r0 == 0 goto out
    r1 = r0
    r2 = r10
    r2 += -4
    *(u32 *)(r2 + 0) = 0
    call 1
    if r0 == 0 goto out
    r7 = *(u64 *)(r0 + 0)
    if r7 != 5 goto out
    r1 = r6
    r2 = 0xAA000002 ll
    r3 = 0
    call 12
    out:
    r0 = 1
    exit
    """, maps)
    target = program("r0 = 3\nexit", maps)
    spec = ObjectSpec(programs={"entry": ProgramSpec("entry", "xdp", ProgType.XDP, entry),
                                "target": ProgramSpec("target", "xdp", ProgType.XDP, target)}, maps=maps)
    obj = load_object(spec)
    assert obj.maps["jt"][0] is obj.programs["target"]
    assert obj.programs["entry"].test_run(bytes(64)).verdict == "XDP_TX"


def test_tracepoint_record_is_read_only() -> None:
    obj = build("r0 = *(u32 *)(r1 + 8)\nexit", ProgType.TRACEPOINT)
    assert obj.programs["prog"].test_run(ctx=bytes(8) + (77).to_bytes(4, "little")).retval == 77
    with pytest.raises(CtxAccessError):
        build("r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit", ProgType.TRACEPOINT)

"""The log format (kernel/bpf/log.c) and the ``pybpf verify`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pybpf.asm import assemble
from pybpf.cli import main
from pybpf.platform.types import RegType, TypeFlag
from pybpf.verifier import verify
from pybpf.verifier.log import VerifierLog, reg_str, snum, unum
from pybpf.verifier.regstate import RegState


def test_numbers() -> None:
    assert unum(0xFFFF) == "65535" and unum(0x10000) == "0x10000"
    assert snum(-32768) == "-32768" and snum(-32769) == "0xffffffffffff7fff" and snum(0x8000) == "0x8000"


def _scalar(umax: int) -> RegState:
    r = RegState()
    r.mark_unknown()
    r.umax = umax
    from pybpf.verifier.bounds import reg_bounds_sync

    reg_bounds_sync(r)
    return r


def test_reg_strings() -> None:
    assert reg_str(_scalar(255)) == "scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))"
    unknown = RegState()
    unknown.mark_unknown()
    assert reg_str(unknown) == "scalar()"
    const = RegState()
    const.mark_const(-1)
    assert reg_str(const) == "-1"
    fp = RegState()
    fp.mark_known_zero_ptr(RegType.PTR_TO_STACK)
    fp.off = -8
    assert reg_str(fp) == "fp-8"
    pkt = RegState()
    pkt.mark_known_zero_ptr(RegType.PTR_TO_PACKET)
    pkt.off, pkt.range = 14, 14
    assert reg_str(pkt) == "pkt(off=14,r=14)"
    null = RegState()
    null.mark_known_zero_ptr(RegType.PTR_TO_SOCKET, TypeFlag.PTR_MAYBE_NULL)
    null.id = null.ref_obj_id = 2
    assert reg_str(null) == "sock_or_null(id=2,ref_obj_id=2)"


def test_alignment_of_state_suffix() -> None:
    # vlog_alignment(): the ';' lands on column 38 for short instructions.
    log = verify(assemble("r0 = 0\nexit"), prog_type="xdp", log_level=2).log
    assert "0: (b7) r0 = 0                        ; R0=0" in log.splitlines()
    assert VerifierLog.alignment(30) == 9


def test_level2_log_matches_the_kernel_format() -> None:
    prog = assemble("r0 = *(u32 *)(r1 +76)\nr2 = *(u32 *)(r1 +80)\nr3 = r0\nr3 += 14\n"
                    "if r3 > r2 goto +2\nr0 = *(u8 *)(r0 +12)\nr0 &= 255\nr0 = 0\nexit\n")
    log = verify(prog, prog_type="sched_cls", log_level=2).log
    assert log.splitlines()[:3] == ["func#0 @0", "Live regs before insn:",
                                    "      0: .1........ (61) r0 = *(u32 *)(r1 +76)"]
    assert "4: (2d) if r3 > r2 goto pc+2          ; R2=pkt_end() R3=pkt(off=14,r=14)" in log
    assert "from 4 to 7: R0=pkt(r=0) R1=ctx() R2=pkt_end() R3=pkt(off=14,r=0xfffffffffffffffe) R10=fp0" in log
    assert log.endswith("processed 11 insns (limit 1000000) max_states_per_insn 0 total_states 1 "
                        "peak_states 1 mark_read 0\n")


def test_level1_keeps_only_the_failing_path() -> None:
    prog = assemble("r0 = 0\nif r1 == 0 goto +1\nexit\nr0 = r5\nexit")
    log = verify(prog, prog_type="xdp").log
    assert "2: (95) exit" not in log  # the path that ended well was rewound
    assert "R5 !read_ok" in log


def test_cli_verify_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.s"
    bad.write_text("r0 = r2\nexit\n")
    good = tmp_path / "good.s"
    good.write_text("r0 = 2\nexit\n")
    assert main(["verify", str(good), "--type", "xdp"]) == 0
    assert main(["verify", str(bad), "--json"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    record = json.loads(out[-1])
    assert record == {"program": "bad", "accepted": False, "error": "R2 !read_ok", "processed_insns": 1,
                      "log": record["log"]}
    assert "0: (bf) r0 = r2" in record["log"]


def test_cli_verify_raw_bytes_with_map_fd(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "prog.bin"
    raw.write_bytes(assemble("r1 = map[fd:3]\nr0 = 0\nexit").to_bytes())
    assert main(["verify", str(raw), "--log-level", "2"]) == 1
    assert "fd 3 is not pointing to valid bpf_map" in capsys.readouterr().out


def test_cli_verify_elf(capsys: pytest.CaptureFixture[str]) -> None:
    obj = Path(__file__).resolve().parents[1] / "data" / "elf" / "socket_filter-el.o"
    if not obj.exists():
        pytest.skip("no ELF fixture")
    assert main(["verify", str(obj), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["accepted"] is True

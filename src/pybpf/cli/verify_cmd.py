"""``pybpf verify``: run the verifier on a program and print the kernel-style log.

``pybpf verify FILE [--prog NAME] [--type TYPE] [--log-level 1|2] [--strict-alignment]
[--unprivileged] [--json]``

FILE is an ELF object (every program, or ``--prog``; maps from the object),
raw instructions (``.bin``: an LD_IMM64 with src 1 and imm N names map fd N,
which then fails as the kernel fails, since there are no maps) or assembly
text.  Exit status 0 when every program is accepted, 1 otherwise.  ``--json``
prints one line per program: ``{"program", "accepted", "error",
"processed_insns", "log"}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..asm import assemble
from ..errors import PyBpfError
from ..isa import Program, decode
from ..maps.spec import MapSpec
from ..verifier import Report, verify

__all__ = ["register"]

_GPL = {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"}


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "verify", help="check a program the way the Linux verifier does",
        description="Verify an ELF object, raw .bin instructions or assembly; exit 1 if rejected.")
    p.add_argument("file", help="ELF object, raw instructions (.bin) or assembly text ('-' = stdin)")
    p.add_argument("--prog", help="only this program of an ELF object (name or section)")
    p.add_argument("--type", help="program type (socket_filter, xdp, sched_cls, kprobe ...); "
                                  "default: from the ELF section, else socket_filter")
    p.add_argument("--log-level", type=int, choices=(1, 2), default=1)
    p.add_argument("--strict-alignment", action="store_true", help="as BPF_F_STRICT_ALIGNMENT")
    p.add_argument("--unprivileged", action="store_true", help="verify as an unprivileged user")
    p.add_argument("--json", action="store_true", help="one JSON object per program")
    p.set_defaults(func=_run)


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise PyBpfError(f"{name}: {exc.strerror}") from None


_Target = tuple[str, Program, str, dict[int | str, MapSpec], bool, bool]


def _targets(args: argparse.Namespace) -> list[_Target]:
    data = _read(args.file)
    name = Path(args.file).stem if args.file != "-" else "stdin"
    default_type = args.type or "socket_filter"
    if data[:4] == b"\x7fELF":
        from ..elf import load_spec

        spec = load_spec(data)
        progs = list(spec.programs.values())
        if args.prog:
            progs = [p for p in progs if args.prog in (p.name, p.section)]
            if not progs:
                have = ", ".join(spec.programs) or "none"
                raise PyBpfError(f"{args.file}: no program or section {args.prog!r} (have: {have})")
        maps: dict[int | str, MapSpec] = {name: m for name, m in spec.maps.items()}
        return [(p.name, p.insns, args.type or p.prog_type.name.lower(), maps,
                 p.license in _GPL or not p.license, p.sleepable) for p in progs]
    text: str | None = None
    if not args.file.endswith(".bin"):
        try:
            text = data.decode()
        except UnicodeDecodeError:
            text = None
        if text is not None and "\x00" in text:
            text = None
    program = assemble(text) if text is not None else decode(data)
    return [(name, program, default_type, {}, True, False)]


def _run(args: argparse.Namespace) -> int:
    ok = True
    for name, program, ptype, maps, gpl, sleepable in _targets(args):
        report: Report = verify(program, prog_type=ptype, maps=maps, log_level=args.log_level,
                                unprivileged=args.unprivileged, strict_alignment=args.strict_alignment,
                                gpl=gpl,
                                sleepable=sleepable)
        ok &= report.accepted
        if args.json:
            print(json.dumps({"program": name, "accepted": report.accepted, "error": report.error,
                              "processed_insns": report.processed_insns, "log": report.log}))
        else:
            sys.stdout.write(report.log)
            verdict = "accepted" if report.accepted else f"rejected: {report.error}"
            print(f"{name}: {verdict}")
    return 0 if ok else 1

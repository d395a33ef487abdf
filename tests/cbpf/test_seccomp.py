"""seccomp: seccomp_data, actions, realistic filters, the CLI."""

from __future__ import annotations

import struct

import pytest

from pybpf.cbpf import AUDIT_ARCH, Action, SeccompData, SeccompFilter, SeccompResult, parse_asm
from pybpf.cbpf.seccomp import SeccompError, evaluate_stack, syscall_name, syscall_number
from pybpf.cli import main

# An allow-list in the style systemd/docker generate, written in bpf_asm syntax.
ALLOWLIST = """
    ld [4]                          ; arch
    jne #0xc000003e, kill           ; not x86_64: kill the process
    ld [0]                          ; nr
    jge #0x40000000, kill           ; x32 ABI
    jeq #0, allow                   ; read
    jeq #1, allow                   ; write
    jeq #60, allow                  ; exit
    jeq #231, allow                 ; exit_group
    jeq #257, openat
    jeq #59, trace                  ; execve
    jeq #62, trap                   ; kill
    jeq #101, notify                ; ptrace
    jeq #39, log                    ; getpid
    ret #0x00050026                 ; ERRNO(ENOSYS)
openat:
    ld [32]                         ; args[2] (flags), low word
    jset #3, deny_write, allow      ; O_WRONLY|O_RDWR
deny_write:
    ret #0x0005000d                 ; ERRNO(EACCES)
allow: ret #0x7fff0000
kill: ret #0x80000000
trace: ret #0x7ff00007
trap: ret #0x00030001
notify: ret #0x7fc00000
log: ret #0x7ffc0000
"""


@pytest.fixture(scope="module")
def allowlist() -> SeccompFilter:
    return SeccompFilter(parse_asm(ALLOWLIST))


@pytest.mark.parametrize(("name", "args", "want"), [
    ("read", (), "ALLOW"), ("write", (1, 0, 5), "ALLOW"), ("exit_group", (0,), "ALLOW"),
    ("openat", (0, 0, 0), "ALLOW"), ("openat", (0, 0, 1), "ERRNO(13)"), ("openat", (0, 0, 0x42), "ERRNO(13)"),
    ("execve", (), "TRACE(7)"), ("kill", (), "TRAP(1)"), ("ptrace", (), "USER_NOTIF"), ("getpid", (), "LOG"),
    ("socket", (), "ERRNO(38)"),
])
def test_allowlist(allowlist: SeccompFilter, name: str, args: tuple[int, ...], want: str) -> None:
    assert allowlist.evaluate(SeccompData.for_syscall(name, "x86_64", args)).describe() == want


def test_other_arch_is_killed(allowlist: SeccompFilter) -> None:
    res = allowlist.evaluate(SeccompData.for_syscall("read", "aarch64"))
    assert res.action is Action.KILL_PROCESS and res.describe() == "KILL_PROCESS"
    x32 = SeccompData(0x40000000 | 0, AUDIT_ARCH["x86_64"])
    assert allowlist.evaluate(x32).action is Action.KILL_PROCESS


def test_seccomp_data_layout() -> None:
    d = SeccompData(-1, 0xC000003E, 0x1122334455667788, (1, 2, 3, 4, 5, 6))
    raw = d.pack()
    assert len(raw) == 64
    assert struct.unpack("<iIQ6Q", raw) == (-1, 0xC000003E, 0x1122334455667788, 1, 2, 3, 4, 5, 6)
    # 64-bit arguments are read as two aligned 32-bit halves
    f = SeccompFilter(parse_asm("ld [20]\nret a"))
    assert f.evaluate(SeccompData(0, args=(0xAAAABBBB_CCCCDDDD,))).value == 0xAAAABBBB
    f = SeccompFilter(parse_asm("ld [12]\nret a"))
    assert f.evaluate(d).value == 0x11223344
    assert SeccompFilter(parse_asm("ld #len\nret a")).evaluate(d).value == 64


def test_actions() -> None:
    assert SeccompResult(0).action is Action.KILL_THREAD
    assert SeccompResult(0x80000000).action is Action.KILL_PROCESS
    assert SeccompResult(0x00050001).describe() == "ERRNO(1)"
    assert SeccompResult(0x12340000).action is Action.KILL_PROCESS  # unknown action: the kernel kills
    assert [a.name for a in sorted(Action, key=lambda a: (a.value ^ 0x80000000))] == [
        "KILL_PROCESS", "KILL_THREAD", "TRAP", "ERRNO", "USER_NOTIF", "TRACE", "LOG", "ALLOW"]


def test_stacked_filters_most_restrictive_wins(allowlist: SeccompFilter) -> None:
    errno_all = SeccompFilter(parse_asm("ret #0x00050001"))
    data = SeccompData.for_syscall("read")
    assert evaluate_stack([allowlist, errno_all], data).describe() == "ERRNO(1)"
    assert evaluate_stack([], data).action is Action.ALLOW


def test_syscall_tables() -> None:
    assert syscall_number("read") == 0 and syscall_number("openat") == 257 and syscall_number("execve") == 59
    assert syscall_number("read", "aarch64") == 63 and syscall_number("openat", "aarch64") == 56
    assert syscall_name(231) == "exit_group"
    with pytest.raises(SeccompError):
        syscall_number("no_such_call")
    with pytest.raises(SeccompError):
        SeccompData.for_syscall("read", "vax")


def test_cli_seccomp(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "f.bpf"
    path.write_text(ALLOWLIST)
    argv = ["seccomp", str(path), "--arch", "x86_64", "--syscall", "openat", "--args", "0", "0", "2"]
    assert main(argv) == 0
    assert "ERRNO(13)" in capsys.readouterr().out
    assert main(["seccomp", str(path), "--syscall", "read"]) == 0
    assert "ALLOW" in capsys.readouterr().out
    assert main(["seccomp", str(path), "--arch", "aarch64", "--syscall", "read"]) == 0
    assert "KILL_PROCESS" in capsys.readouterr().out
    bad = tmp_path / "bad.bpf"
    bad.write_text("ldh [0]\nret a")
    assert main(["seccomp", str(bad), "--syscall", "read"]) == 1
    assert "not allowed in seccomp" in capsys.readouterr().err
    assert main(["seccomp", str(path), "--syscall", "nope"]) == 1

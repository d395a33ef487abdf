"""The kernel's own verdicts on classic programs: SO_ATTACH_FILTER and seccomp()."""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import signal
import socket
import struct
import time

from pybpf.cbpf import SockFilter, encode

SO_ATTACH_FILTER = 26
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER = 1
SYS_SECCOMP = 317  # x86_64


def _fprog(prog: list[SockFilter]) -> tuple[bytes, ctypes.Array[ctypes.c_char]]:
    buf = ctypes.create_string_buffer(encode(prog), max(8 * len(prog), 8))
    return struct.pack("HxxxxxxQ", len(prog), ctypes.addressof(buf)), buf


def so_attach_available() -> bool:
    try:
        return attach_verdict([SockFilter(0x06, 0, 0, 0)]) == 0
    except OSError:
        return False


def attach_verdict(prog: list[SockFilter]) -> int:
    """0 when the kernel attaches ``prog`` to a socket, else the errno."""
    raw, keep = _fprog(prog)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, raw)
        except OSError as exc:
            return exc.errno or errno.EINVAL
    del keep
    return 0


def seccomp_verdict(prog: list[SockFilter]) -> int:
    """0 when seccomp(SET_MODE_FILTER) accepts ``prog`` (tried in a forked child), else the errno."""
    raw, keep = _fprog(prog)
    shared = mmap.mmap(-1, 8)
    shared[:8] = struct.pack("<q", -1)
    libc = ctypes.CDLL(None, use_errno=True)
    pid = os.fork()
    if pid == 0:  # child: no syscalls after the install, only a memory write and a spin
        try:
            libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            fprog = ctypes.create_string_buffer(raw)
            rc = libc.syscall(SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, 0, fprog)
            err = ctypes.get_errno() if rc != 0 else 0
            shared[:8] = struct.pack("<q", err)
            while True:
                pass
        finally:
            os._exit(99)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            value = struct.unpack("<q", shared[:8])[0]
            if value >= 0:
                return int(value)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                pid = 0
                # Killed by its own filter before reporting: it was installed.
                return 0 if os.WIFSIGNALED(status) else -1
            time.sleep(0.001)
        return -1
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        shared.close()
        del keep

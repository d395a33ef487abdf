"""The "current task" a program sees (bpf_get_current_pid_tgid/uid_gid/comm).

The kernel reads these from ``current``; pybpf has no current task, so the
user configures one.  The default is deterministic (pid 4242) so runs are
reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TASK_COMM_LEN", "Task"]

TASK_COMM_LEN = 16


@dataclass(frozen=True)
class Task:
    """``pid`` is the thread id (kernel ``pid``), ``tgid`` the process id."""

    pid: int = 4242
    tgid: int = 4242
    uid: int = 0
    gid: int = 0
    comm: str = "pybpf"

    @property
    def pid_tgid(self) -> int:
        """bpf_get_current_pid_tgid(): ``tgid << 32 | pid``."""
        return (self.tgid & 0xFFFF_FFFF) << 32 | (self.pid & 0xFFFF_FFFF)

    @property
    def uid_gid(self) -> int:
        """bpf_get_current_uid_gid(): ``gid << 32 | uid``."""
        return (self.gid & 0xFFFF_FFFF) << 32 | (self.uid & 0xFFFF_FFFF)

    def comm_bytes(self, size: int) -> bytes:
        """``comm`` as the kernel copies it: NUL-terminated, truncated to ``size``, zero padded."""
        raw = self.comm.encode()[: TASK_COMM_LEN - 1]
        raw = raw[: max(size - 1, 0)]
        return raw.ljust(size, b"\0")[:size]

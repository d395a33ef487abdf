"""The platform a program is verified and run against: one object bundling the data.

As PREVAIL's ``ebpf_platform_t``, the verifier, the runtime and the JIT ask a
:class:`Platform` instead of importing tables, so a test can hand them a
restricted platform (no CAP_PERFMON, say) and :data:`LINUX` is the default:
Linux 6.18 on x86_64 with every capability (what root gets).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PyBpfError
from ..isa.helper_ids import HelperId
from . import contexts, helpers, progtypes
from .contexts import CtxAccess, CtxLayout
from .helpers import HelperProto
from .progtypes import Cap, ProgTypeInfo, SectionMatch

__all__ = ["LINUX", "HelperNotAllowedError", "Platform"]


class HelperNotAllowedError(PyBpfError, ValueError):
    """A program type calls a helper its ``*_func_proto`` does not return."""


@dataclass(frozen=True)
class Platform:
    """Helper prototypes, program types and contexts, seen with ``caps`` privileges.

    ``caps`` selects the tiers of ``bpf_base_func_proto``; ``capable`` is the
    kernel's ``bpf_capable()`` used by ctx rules (cgroup_skb packet access).
    """

    name: str = "linux-6.18-x86_64"
    caps: Cap = Cap.PERFMON

    @property
    def capable(self) -> bool:
        return self.caps >= Cap.BPF

    def prog_type(self, key: int | str) -> ProgTypeInfo:
        """A program type by id or name; raises UnknownProgTypeError."""
        return progtypes.prog_type_info(key)

    def allowed_helpers(self, prog_type: int | str) -> dict[HelperId, str]:
        """Helper id -> kernel proto symbol for every helper ``prog_type`` may call."""
        return self.prog_type(prog_type).helpers(self.caps)

    def helper_proto(self, prog_type: int | str, helper_id: int) -> HelperProto | None:
        """The prototype ``helper_id`` has in ``prog_type``, or None if not callable there.

        Raises :class:`KeyError` when the helper is callable but pybpf has no
        prototype data for that kernel symbol.
        """
        info = self.prog_type(prog_type)
        if info.func_proto is None:
            return None
        sym = progtypes.resolve_helper(info.func_proto, helper_id, self.caps)
        return None if sym is None else helpers.PROTOS[sym]

    def require_helper(self, prog_type: int | str, helper_id: int) -> HelperProto:
        """As :meth:`helper_proto`, raising the kernel's message when not callable."""
        found = self.helper_proto(prog_type, helper_id)
        if found is None:
            try:
                name = f"bpf_{HelperId(helper_id).name}"
            except ValueError:
                raise HelperNotAllowedError(f"invalid func unknown#{helper_id}") from None
            raise HelperNotAllowedError(f"program of this type cannot use helper {name}#{helper_id}")
        return found

    def ctx_layout(self, prog_type: int | str) -> CtxLayout | None:
        ctx = self.prog_type(prog_type).ctx
        return None if ctx is None else contexts.LAYOUTS.get(ctx)

    def ctx_access(self, prog_type: int | str, off: int, size: int, write: bool,
                   attach: int | None = None) -> CtxAccess:
        info = self.prog_type(prog_type)
        return contexts.check_ctx_access(info.type, off, size, write, attach=attach, capable=self.capable)

    def return_range(self, prog_type: int | str, attach: int | None = None) -> tuple[int, int] | None:
        return progtypes.return_range(self.prog_type(prog_type).type, attach)

    def section(self, name: str) -> SectionMatch:
        return progtypes.resolve_section(name)

    def map_func_incompatibility(self, map_type: int, helper_id: int) -> str | None:
        return helpers.map_func_incompatibility(map_type, helper_id)


LINUX = Platform()
"""Linux as root sees it: every helper tier, bpf_capable()."""

"""Run converted classic programs on pybpf's eBPF interpreter."""

from __future__ import annotations

from pybpf.cbpf import PacketMeta, SockFilter, convert, sk_buff_ctx
from pybpf.cbpf.convert import CBPF_HELPERS, HELPER_GET_PRANDOM_U32, HELPER_GET_SMP_PROCESSOR_ID
from pybpf.interp import Interpreter
from pybpf.runtime.helpers import HelperContext, HelperRegistry
from pybpf.runtime.memory import Memory


def registry(meta: PacketMeta) -> HelperRegistry:
    """Helpers for the calls conversion emits, answering from ``meta`` as the classic interpreter does."""
    reg = HelperRegistry()

    def packet(ctx: HelperContext) -> bytes:
        region = ctx.memory.region_named("packet")
        return bytes(region.buffer) if region else b""

    reg.register(HELPER_GET_PRANDOM_U32, lambda ctx, *a: meta.random() if meta.random else 0, name="rand")
    reg.register(HELPER_GET_SMP_PROCESSOR_ID, lambda ctx, *a: meta.cpu, name="cpu")
    from pybpf.cbpf.model import Anc

    reg.register(CBPF_HELPERS[Anc.HATYPE][0], lambda ctx, *a: meta.hatype & 0xFFFF, name="hatype")
    reg.register(CBPF_HELPERS[Anc.PAY_OFFSET][0],
                 lambda ctx, *a: meta.pay_offset(packet(ctx)) if meta.pay_offset else 0, name="poff")
    reg.register(CBPF_HELPERS[Anc.NLATTR][0],
                 lambda ctx, r1, r2, r3, r4, r5: meta.nlattr(packet(ctx), r2, r3) if meta.nlattr else 0,
                 name="nla")
    reg.register(CBPF_HELPERS[Anc.NLATTR_NEST][0],
                 lambda ctx, r1, r2, r3, r4, r5: meta.nlattr_nest(packet(ctx), r2, r3)
                 if meta.nlattr_nest else 0, name="nlan")
    return reg


class EbpfRunner:
    def __init__(self, prog: list[SockFilter], meta: PacketMeta | None = None) -> None:
        self.meta = meta or PacketMeta()
        self.interp = Interpreter(convert(prog), helpers=registry(self.meta))
        self.memory = Memory()

    def run(self, data: bytes, wirelen: int | None = None, meta: PacketMeta | None = None) -> int:
        m = meta or self.meta
        if wirelen is not None:
            m = PacketMeta(**{**m.__dict__, "len": wirelen})
        ctx = self.memory.add("ctx", sk_buff_ctx(data, m), kind="ctx")
        try:
            return self.interp.run(self.memory, r1=ctx.base, packet=data).r0 & 0xFFFF_FFFF
        finally:
            self.memory.remove(ctx)

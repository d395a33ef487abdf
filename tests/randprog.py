"""Seeded random eBPF programs that the kernel verifier accepts (as root).

``generate(seed)`` returns a uBPF-style program (r1 = memory, r2 = length)
plus random memory.  Same seed, same program, on every machine.

What keeps every program verifiable, and deterministic at run time:

* Registers: at each function's entry r9 takes the memory pointer (from r1)
  and is never written again; every other register r0-r8 gets a scalar, so
  no instruction ever reads an uninitialised register.  The generator tracks
  the initialised set through branches (intersection at join points) and
  bpf-to-bpf calls (which clobber r1-r5), and never uses r9/r10 as a value.
* Memory: constant offsets from r9 inside ``mem_size`` bytes; atomics aligned.
* Stack: slots ``fp-16 .. fp-8*(STACK_SLOTS+1)`` are all written at function
  entry (the kernel lets root read uninitialised stack, which would be
  garbage), accesses are size-aligned as the verifier requires.  ``fp-8`` is
  never touched: it is the scratch slot the kernel differential test uses when
  it rewrites stack atomics (see test_kernel_diff.py).
* Control flow: forward jumps only into the same function, built as
  structured constructs (if, if/else with goto or gotol, early exit), so no
  instruction is unreachable; loops count a register the body cannot write up
  to a small constant bound; calls go to later subprograms only (no
  recursion) and never sit inside loops.
* Immediates: no division by a zero immediate, shifts by in-range
  immediates (the verifier rejects the others), END widths 16/32/64.
* Every function ends by folding its live registers into r0, so a wrong
  value anywhere tends to show in the result.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from pybpf.isa import AluOp, AtomicOp, Class, Insn, JmpOp, Mode, Program, Size, Source
from pybpf.kernel.link import Linker

__all__ = ["MEM_SIZE", "SCRATCH_OFF", "STACK_SLOTS", "RandomProgram", "generate"]

MEM_SIZE = 64
STACK_SLOTS = 8
SCRATCH_OFF = -8  # reserved for the differential test's rewrites, never used here
_FP = 10
_BASE = 9  # memory pointer, read-only for the body
_VALUE_REGS = tuple(range(9))  # r0-r8 hold scalars only
_COUNTER_REGS = (6, 7, 8)
_SIZES = (Size.B, Size.H, Size.W, Size.DW)
_NBYTES = {Size.B: 1, Size.H: 2, Size.W: 4, Size.DW: 8}
_CONDS = (JmpOp.JEQ, JmpOp.JGT, JmpOp.JGE, JmpOp.JSET, JmpOp.JNE, JmpOp.JSGT, JmpOp.JSGE,
          JmpOp.JLT, JmpOp.JLE, JmpOp.JSLT, JmpOp.JSLE)
_LD_IMM64 = Class.LD | Mode.IMM | Size.DW
_EXIT = Class.JMP | JmpOp.EXIT
_CALL = Class.JMP | JmpOp.CALL


@dataclass(frozen=True, slots=True)
class RandomProgram:
    seed: int
    program: Program
    mem: bytes


def _imm32(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.3:
        return rng.choice((0, 1, -1, 2, 7, 31, 32, 63, 64, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF,
                           0x7FFFFFFF, -0x80000000, -2, -0x8000))
    if r < 0.6:
        return rng.randint(-300, 300)
    return rng.randint(-(1 << 31), (1 << 31) - 1)


def _imm64(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.3:
        return rng.choice((0, 1, (1 << 64) - 1, 1 << 63, (1 << 63) - 1, 0xFFFF_FFFF, 0xFFFF_FFFF_0000_0000,
                           0xFFFF_FFFF_8000_0000, 0x8000_0000, 0x1_0000_0000, 0x8000_0000_0000_0001))
    if r < 0.5:
        return rng.randint(0, 1 << 40)
    return rng.getrandbits(64)


class _Gen:
    """Emits the functions of one program into a shared Linker."""

    def __init__(self, rng: random.Random, mem_size: int, n_funcs: int, atomic_weight: float) -> None:
        self.rng = rng
        self.atomic_weight = atomic_weight
        self.mem_size = mem_size
        self.n_funcs = n_funcs
        self.out = Linker()
        self.labels = 0
        self.called: set[int] = set()  # subprograms some call reaches (others are not emitted)
        # per-function state
        self.func = 0
        self.init: set[int] = set()
        self.counters: list[int] = []

    # -- small helpers -------------------------------------------------------------
    def emit(self, insn: Insn, target: Hashable | None = None) -> None:
        self.out.emit(insn, target)

    def new_label(self) -> tuple[str, int]:
        self.labels += 1
        return ("L", self.labels)

    def src_reg(self) -> int:
        return self.rng.choice(sorted(self.init))

    def dst_reg(self, *, must_be_init: bool) -> int:
        pool = [r for r in _VALUE_REGS if r not in self.counters and (r in self.init or not must_be_init)]
        return self.rng.choice(pool)

    def stack_off(self, nbytes: int) -> int:
        slot = -(16 + 8 * self.rng.randrange(STACK_SLOTS))
        return slot + nbytes * self.rng.randrange(8 // nbytes)

    def mem_off(self, nbytes: int, *, aligned: bool) -> int:
        if aligned:
            return nbytes * self.rng.randrange(self.mem_size // nbytes)
        return self.rng.randrange(self.mem_size - nbytes + 1)

    # -- functions -----------------------------------------------------------------
    def function(self, index: int, budget: int) -> None:
        rng = self.rng
        self.func = index
        self.counters = []
        self.out.label(("fn", index))
        self.emit(Insn(Class.ALU64 | AluOp.MOV | Source.X, _BASE, 1))
        # main keeps r2 (the length); subprograms keep r2, r3 (arguments)
        keep = {2} if index == 0 else {2, 3}
        self.init = set(keep)
        for r in _VALUE_REGS:
            if r in keep:
                continue
            if rng.random() < 0.4:
                self.emit(Insn(_LD_IMM64, r, imm=_imm64(rng)))
            else:
                self.emit(Insn(Class.ALU64 | AluOp.MOV | Source.K, r, imm=_imm32(rng)))
            self.init.add(r)
        for k in range(STACK_SLOTS):
            off = -(16 + 8 * k)
            if rng.random() < 0.3:
                self.emit(Insn(Class.ST | Mode.MEM | Size.DW, _FP, 0, off, _imm32(rng)))
            else:
                self.emit(Insn(Class.STX | Mode.MEM | Size.DW, _FP, self.src_reg(), off))
        self.block(budget, depth=0)
        for r in sorted(self.init - {0}):
            self.emit(Insn(Class.ALU64 | AluOp.MUL | Source.K, 0, imm=0x01000193))
            self.emit(Insn(Class.ALU64 | AluOp.XOR | Source.X, 0, r))
        self.emit(Insn(_EXIT))

    # -- blocks and constructs -----------------------------------------------------
    def block(self, budget: int, depth: int) -> None:
        """``budget`` units; the initialised set afterwards is a subset of the real one."""
        rng = self.rng
        units: list[tuple[float, Callable[[int], int]]] = [
            (30, lambda d: self.alu()),
            (4, lambda d: self.ld_imm64()),
            (10, lambda d: self.mem_access()),
            (8, lambda d: self.stack_access()),
            (self.atomic_weight, lambda d: self.atomic()),
            (7 if depth < 3 else 0, self.if_skip),
            (3 if depth < 3 else 0, self.if_else),
            (2 if depth < 2 and len(self.counters) < 2 else 0, self.loop),
            (3 if not self.counters and self.func + 1 < self.n_funcs else 0, lambda d: self.call()),
            (1, lambda d: self.early_exit()),
        ]
        weights = [w for w, _ in units]
        while budget > 0:
            _, unit = rng.choices(units, weights)[0]
            budget -= unit(depth)

    def cond_jump(self, target: Hashable) -> None:
        rng = self.rng
        cls = Class.JMP32 if rng.random() < 0.35 else Class.JMP
        op = rng.choice(_CONDS)
        if rng.random() < 0.5:
            self.emit(Insn(cls | op | Source.K, self.src_reg(), 0, 0, _imm32(rng)), target)
        else:
            self.emit(Insn(cls | op | Source.X, self.src_reg(), self.src_reg()), target)

    def sub_block(self, budget: int, depth: int) -> set[int]:
        """Generate a block on a copy of the state; return the state after it."""
        saved = set(self.init)
        self.block(budget, depth)
        after = self.init
        self.init = saved
        return after

    def if_skip(self, depth: int) -> int:
        end = self.new_label()
        self.cond_jump(end)
        n = self.rng.randint(1, 6)
        after = self.sub_block(n, depth + 1)
        self.init &= after
        self.out.label(end)
        return n + 1

    def if_else(self, depth: int) -> int:
        rng = self.rng
        other, end = self.new_label(), self.new_label()
        self.cond_jump(other)
        n1, n2 = rng.randint(1, 4), rng.randint(1, 4)
        a = self.sub_block(n1, depth + 1)
        if rng.random() < 0.5:
            self.emit(Insn(Class.JMP | JmpOp.JA), end)
        else:  # gotol: 32-bit offset in imm (v4)
            self.emit(Insn(Class.JMP32 | JmpOp.JA), end)
        self.out.label(other)
        b = self.sub_block(n2, depth + 1)
        self.init &= a & b
        self.out.label(end)
        return n1 + n2 + 2

    def loop(self, depth: int) -> int:
        rng = self.rng
        counter = rng.choice([r for r in _COUNTER_REGS if r not in self.counters])
        bound = rng.randint(2, 4)
        self.emit(Insn(Class.ALU64 | AluOp.MOV | Source.K, counter, imm=0))
        self.init.add(counter)
        top = self.new_label()
        self.out.label(top)
        self.counters.append(counter)
        n = rng.randint(2, 6)
        # no call in the body (it would clobber r1-r5 for the next iteration),
        # so the initialised set only grows and the first iteration's is safe
        self.block(n, depth + 1)
        self.counters.pop()
        self.emit(Insn(Class.ALU64 | AluOp.ADD | Source.K, counter, imm=1))
        self.emit(Insn(Class.JMP | JmpOp.JLT | Source.K, counter, imm=bound), top)
        return n + 3

    def call(self) -> int:
        rng = self.rng
        callee = rng.randrange(self.func + 1, self.n_funcs)
        self.emit(Insn(Class.ALU64 | AluOp.MOV | Source.X, 1, _BASE))
        for r in (2, 3):
            if r not in self.init:
                self.emit(Insn(Class.ALU64 | AluOp.MOV | Source.K, r, imm=_imm32(rng)))
                self.init.add(r)
        self.emit(Insn(_CALL, 0, 1, 0, 0), ("fn", callee))
        self.called.add(callee)
        self.init -= {1, 2, 3, 4, 5}
        self.init.add(0)
        return 3

    def early_exit(self) -> int:
        end = self.new_label()
        self.cond_jump(end)
        self.emit(Insn(_EXIT))
        self.out.label(end)
        return 2

    # -- straight-line instructions ------------------------------------------------
    def alu(self) -> int:
        rng = self.rng
        cls = Class.ALU64 if rng.random() < 0.6 else Class.ALU
        bits = 64 if cls is Class.ALU64 else 32
        op = rng.choice(list(AluOp))
        off = 0
        if op is AluOp.NEG:
            dst = self.dst_reg(must_be_init=True)
            self.emit(Insn(cls | op, dst))
        elif op is AluOp.END:
            dst = self.dst_reg(must_be_init=True)
            src = Source.X if cls is Class.ALU and rng.random() < 0.5 else Source.K  # to-be / to-le, bswap
            self.emit(Insn(cls | op | src, dst, imm=rng.choice((16, 32, 64))))
        else:
            if op in (AluOp.DIV, AluOp.MOD) and rng.random() < 0.25:
                return self.div_edge(cls, op)
            dst = self.dst_reg(must_be_init=op is not AluOp.MOV)
            if op in (AluOp.DIV, AluOp.MOD) and rng.random() < 0.5:
                off = 1  # sdiv / smod
            if rng.random() < 0.5:
                imm = _imm32(rng)
                if op in (AluOp.LSH, AluOp.RSH, AluOp.ARSH):
                    imm = rng.randrange(bits)
                elif op in (AluOp.DIV, AluOp.MOD) and imm == 0:
                    imm = rng.choice((1, -1, 3))
                self.emit(Insn(cls | op | Source.K, dst, 0, off, imm))
            else:
                if op is AluOp.MOV and rng.random() < 0.3:
                    off = rng.choice((8, 16, 32) if cls is Class.ALU64 else (8, 16))  # movsx
                self.emit(Insn(cls | op | Source.X, dst, self.src_reg(), off))
        self.init.add(dst)
        return 1

    def div_edge(self, cls: Class, op: AluOp) -> int:
        """Division at its edges, which the kernel patches at run time.

        A zero divisor register (for 32-bit ops, one whose low half only is
        zero): the ISA defines x / 0 = 0 and x % 0 = x.  Signed INT_MIN / -1,
        which overflows: the ISA defines sdiv = INT_MIN and smod = 0.
        """
        rng = self.rng
        is64 = cls is Class.ALU64
        dst = self.dst_reg(must_be_init=True)
        src = rng.choice([r for r in _VALUE_REGS if r not in self.counters and r != dst])
        if rng.random() < 0.5:
            zero = 0 if is64 else rng.choice((0, 1 << 32, 0xFFFF_FFFF_0000_0000))
            self.emit(Insn(_LD_IMM64, src, imm=zero))
            self.init.add(src)
            self.emit(Insn(cls | op | Source.X, dst, src, rng.choice((0, 1))))
            return 3
        int_min = 1 << 63 if is64 else rng.choice((0x8000_0000, 0xFFFF_FFFF_8000_0000, 0x1234_5678_8000_0000))
        self.emit(Insn(_LD_IMM64, dst, imm=int_min))
        if rng.random() < 0.3:
            self.emit(Insn(cls | op | Source.K, dst, 0, 1, -1))
        else:
            minus_one = (1 << 64) - 1 if is64 else rng.choice((0xFFFF_FFFF, (1 << 64) - 1))
            self.emit(Insn(_LD_IMM64, src, imm=minus_one))
            self.init.add(src)
            self.emit(Insn(cls | op | Source.X, dst, src, 1))
        return 3

    def ld_imm64(self) -> int:
        dst = self.dst_reg(must_be_init=False)
        self.emit(Insn(_LD_IMM64, dst, imm=_imm64(self.rng)))
        self.init.add(dst)
        return 1

    def _load_or_store(self, base: int, off_for: Callable[[int], int]) -> None:
        rng = self.rng
        size = rng.choice(_SIZES)
        nbytes = _NBYTES[size]
        off = off_for(nbytes)
        kind = rng.random()
        if kind < 0.45:
            dst = self.dst_reg(must_be_init=False)
            mode = Mode.MEMSX if size is not Size.DW and rng.random() < 0.3 else Mode.MEM
            self.emit(Insn(Class.LDX | mode | size, dst, base, off))
            self.init.add(dst)
        elif kind < 0.8:
            self.emit(Insn(Class.STX | Mode.MEM | size, base, self.src_reg(), off))
        else:
            self.emit(Insn(Class.ST | Mode.MEM | size, base, 0, off, _imm32(rng)))

    def mem_access(self) -> int:
        self._load_or_store(_BASE, lambda n: self.mem_off(n, aligned=False))
        return 1

    def stack_access(self) -> int:
        self._load_or_store(_FP, self.stack_off)
        return 1

    def atomic(self) -> int:
        rng = self.rng
        size = rng.choice((Size.W, Size.DW))
        nbytes = _NBYTES[size]
        op = rng.choice(list(AtomicOp))
        if rng.random() < 0.5:
            base, off = _FP, self.stack_off(nbytes)
        else:
            base, off = _BASE, self.mem_off(nbytes, aligned=True)
        # a fetch writes src (cmpxchg writes r0, never a loop counter)
        fetch_src = op.fetches and op is not AtomicOp.CMPXCHG
        src = self.dst_reg(must_be_init=True) if fetch_src else self.src_reg()
        if op is AtomicOp.CMPXCHG and rng.random() < 0.5:
            # Expect what is there, as a CAS loop does, so the exchange succeeds;
            # a 64-bit load also leaves r0's upper half set for a 32-bit cmpxchg.
            load_size = Size.DW if off % 8 == 0 else size
            self.emit(Insn(Class.LDX | Mode.MEM | load_size, 0, base, off))
            self.init.add(0)
        elif op is AtomicOp.CMPXCHG and 0 not in self.init:
            self.emit(Insn(Class.ALU64 | AluOp.MOV | Source.K, 0, imm=_imm32(rng)))
            self.init.add(0)
        self.emit(Insn(Class.STX | Mode.ATOMIC | size, base, src, off, int(op)))
        return 1


def generate(seed: int, *, mem_size: int = MEM_SIZE, size: int = 40,
             atomic_weight: float = 7) -> RandomProgram:
    """A verifiable random program of about ``size`` units, and its memory.

    ``atomic_weight`` is the relative frequency of atomics (ALU ops weigh 30);
    raising it helps hunting the kernel's atomic-related deviations.
    """
    rng = random.Random(seed)
    n_funcs = 1 + (rng.choice((0, 0, 1, 2)))
    gen = _Gen(rng, mem_size, n_funcs, atomic_weight)
    gen.function(0, rng.randint(size // 2, size))
    for f in range(1, n_funcs):
        if f not in gen.called:  # the kernel rejects unreachable code
            continue
        gen.function(f, rng.randint(3, max(4, size // 3)))
    program = gen.out.link(name=f"rand{seed}")
    mem = rng.randbytes(mem_size)
    return RandomProgram(seed, program, mem)

"""The catalogue: every message the verifier prints, in Linux 6.18's words.

Each :class:`Message` has a stable ``code`` (what tests and tools match on)
and a ``template`` in :meth:`str.format` syntax whose text is the kernel's
``verbose()`` format string of kernel/bpf/verifier.c (``%d`` -> ``{name}``).
Where the kernel documentation shows an older wording, the running kernel
wins: e.g. the doc's ``invalid stack off=8 size=8`` is
``invalid write to stack R10 off=8 size=8`` since Linux 6.x, and
``R0 invalid mem access 'imm'`` is ``... 'scalar'``.

>>> M.NOT_READ_OK.format(regno=2)
'R2 !read_ok'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Message", "M", "CATALOGUE"]


@dataclass(frozen=True, slots=True)
class Message:
    code: str
    template: str

    def format(self, **fields: Any) -> str:
        return self.template.format(**fields)


class M:
    """Namespace of every message; attribute name == code."""

    # structure (check_subprogs, check_cfg, resolve_pseudo_ldimm64)
    UNREACHABLE = Message("UNREACHABLE", "unreachable insn {insn}")
    JUMP_OUT_OF_RANGE = Message("JUMP_OUT_OF_RANGE", "jump out of range from insn {frm} to {to}")
    LAST_INSN = Message("LAST_INSN", "last insn is not an exit or jmp")
    JUMP_INTO_LDIMM64 = Message("JUMP_INTO_LDIMM64", "jump into the middle of ldimm64 insn {insn}")
    BACK_EDGE = Message("BACK_EDGE", "back-edge from insn {frm} to {to}")
    UNKNOWN_OPCODE = Message("UNKNOWN_OPCODE", "unknown opcode {opcode:02x}")
    INVALID_LDIMM64 = Message("INVALID_LDIMM64", "invalid bpf_ld_imm64 insn")
    UNRECOGNIZED_LDIMM64 = Message("UNRECOGNIZED_LDIMM64", "unrecognized bpf_ld_imm64 insn")
    BAD_MAP_FD = Message("BAD_MAP_FD", "fd {fd} is not pointing to valid bpf_map")
    CALL_DEST = Message("CALL_DEST", "call to invalid destination")
    TOO_MANY_INSNS = Message("TOO_MANY_INSNS", "BPF program is too large. Processed {n} insn")
    INFINITE_LOOP = Message("INFINITE_LOOP", "infinite loop detected at insn {insn}")
    CALL_STACK_TOO_DEEP = Message("CALL_STACK_TOO_DEEP", "the call stack of {frames} frames is too deep")
    COMBINED_STACK = Message("COMBINED_STACK", "combined stack size of {frames} calls is {size}. Too large")
    PROG_TOO_LARGE = Message("PROG_TOO_LARGE", "BPF program is too large. Processed {n} insn")
    LDABS_NOT_ALLOWED = Message("LDABS_NOT_ALLOWED",
                                "BPF_LD_[ABS|IND] instructions not allowed for this program type")
    # registers
    NOT_READ_OK = Message("NOT_READ_OK", "R{regno} !read_ok")
    FP_READ_ONLY = Message("FP_READ_ONLY", "frame pointer is read only")
    REG_INVALID = Message("REG_INVALID", "R{regno} is invalid")
    # reserved fields
    RESERVED_ALU = Message("RESERVED_ALU", "BPF_ALU uses reserved fields")
    RESERVED_MOV = Message("RESERVED_MOV", "BPF_MOV uses reserved fields")
    RESERVED_NEG = Message("RESERVED_NEG", "BPF_NEG uses reserved fields")
    RESERVED_END = Message("RESERVED_END", "BPF_END uses reserved fields")
    RESERVED_JMP = Message("RESERVED_JMP", "BPF_JMP/JMP32 uses reserved fields")
    RESERVED_JA = Message("RESERVED_JA", "BPF_JA uses reserved fields")
    RESERVED_EXIT = Message("RESERVED_EXIT", "BPF_EXIT uses reserved fields")
    RESERVED_CALL = Message("RESERVED_CALL", "BPF_CALL uses reserved fields")
    RESERVED_LDX = Message("RESERVED_LDX", "BPF_LDX uses reserved fields")
    RESERVED_STX = Message("RESERVED_STX", "BPF_STX uses reserved fields")
    RESERVED_ST = Message("RESERVED_ST", "BPF_ST uses reserved fields")
    RESERVED_LDABS = Message("RESERVED_LDABS", "BPF_LD_[ABS|IND] uses reserved fields")
    # ALU
    DIV_BY_ZERO = Message("DIV_BY_ZERO", "div by zero")
    INVALID_SHIFT = Message("INVALID_SHIFT", "invalid shift {imm}")
    PTR_ARITH_PROHIBITED = Message("PTR_ARITH_PROHIBITED", "R{regno} pointer arithmetic prohibited")
    PARTIAL_COPY = Message("PARTIAL_COPY", "R{regno} partial copy of pointer")
    SEXT_PTR = Message("SEXT_PTR", "R{regno} sign-extension part of pointer")
    PTR_OP_PTR = Message("PTR_OP_PTR", "R{regno} pointer {op} pointer prohibited")
    PTR32_ARITH = Message("PTR32_ARITH", "R{regno} 32-bit pointer arithmetic prohibited")
    PTR_ARITH_NULL = Message("PTR_ARITH_NULL",
                             "R{regno} pointer arithmetic on {type} prohibited, null-check it first")
    PTR_ARITH_ON = Message("PTR_ARITH_ON", "R{regno} pointer arithmetic on {type} prohibited")
    SUB_PTR_FROM_SCALAR = Message("SUB_PTR_FROM_SCALAR", "R{regno} tried to subtract pointer from scalar")
    SUB_FROM_STACK = Message("SUB_FROM_STACK", "R{regno} subtraction from stack pointer prohibited")
    BITWISE_PTR = Message("BITWISE_PTR", "R{regno} bitwise operator {op} on pointer prohibited")
    PTR_ARITH_OP = Message("PTR_ARITH_OP", "R{regno} pointer arithmetic with {op} operator prohibited")
    MATH_PTR_VAL = Message("MATH_PTR_VAL", "math between {type} pointer and {val} is not allowed")
    PTR_OFF_BAD = Message("PTR_OFF_BAD", "{type} pointer offset {off} is not allowed")
    MATH_UNBOUNDED_MIN = Message("MATH_UNBOUNDED_MIN",
        "math between {type} pointer and register with unbounded min value is not allowed")
    VALUE_OOB = Message("VALUE_OOB", "value {val} makes {type} pointer be out of bounds")
    # jumps
    PTR_COMPARISON = Message("PTR_COMPARISON", "R{regno} pointer comparison prohibited")
    # memory
    INVALID_MEM_ACCESS = Message("INVALID_MEM_ACCESS", "R{regno} invalid mem access '{type}'")
    INVALID_STACK = Message("INVALID_STACK", "invalid{rw} stack R{regno} off={off} size={size}")
    INVALID_VAR_STACK = Message("INVALID_VAR_STACK",
        "invalid variable-offset{rw} stack R{regno} var_off={var_off} off={off} size={size}")
    UNBOUNDED_VAR_STACK = Message(
        "UNBOUNDED_VAR_STACK", "invalid unbounded variable-offset{rw} stack R{regno}")
    INVALID_READ_STACK = Message("INVALID_READ_STACK", "invalid read from stack off {off}+{i} size {size}")
    INVALID_INDIRECT_READ = Message("INVALID_INDIRECT_READ",
                                    "invalid read from stack R{regno} off {off}+{i} size {size}")
    INVALID_INDIRECT_VAR_READ = Message("INVALID_INDIRECT_VAR_READ",
                                        "invalid read from stack R{regno} var_off {var_off}+{i} size {size}")
    ZERO_SIZED_READ = Message("ZERO_SIZED_READ", "invalid zero-sized read")
    VAR_STACK_NOT_ROOT = Message("VAR_STACK_NOT_ROOT",
        "R{regno} variable offset stack access prohibited for !root, var_off={var_off}")
    CORRUPT_SPILL = Message("CORRUPT_SPILL", "attempt to corrupt spilled pointer on stack")
    SPILL_SIZE = Message("SPILL_SIZE", "invalid size of register spill")
    FILL_SIZE = Message("FILL_SIZE", "invalid size of register fill")
    LEAK_FROM_STACK = Message("LEAK_FROM_STACK", "leaking pointer from stack off {off}")
    MISALIGNED = Message("MISALIGNED", "misaligned {desc}access off {var_off}+{off}+{extra} size {size}")
    MISALIGNED_PKT = Message(
        "MISALIGNED_PKT", "misaligned packet access off {ip}+{var_off}+{off}+{extra} size {size}")
    CTX_ACCESS = Message("CTX_ACCESS", "invalid bpf_context access off={off} size={size}")
    MODIFIED_CTX = Message("MODIFIED_CTX", "dereference of modified {type} ptr R{regno} off={off} disallowed")
    VARIABLE_PTR = Message("VARIABLE_PTR", "variable {type} access var_off={var_off} disallowed")
    MAP_VALUE_ACCESS = Message("MAP_VALUE_ACCESS",
                               "invalid access to map value, value_size={size} off={off} size={access}")
    MAP_KEY_ACCESS = Message("MAP_KEY_ACCESS",
                             "invalid access to map key, key_size={size} off={off} size={access}")
    MEM_ACCESS = Message("MEM_ACCESS", "invalid access to memory, mem_size={size} off={off} size={access}")
    PKT_ACCESS = Message("PKT_ACCESS",
                         "invalid access to packet, off={off} size={size}, "
                         "R{regno}(id={id},off={off},r={range})")
    PKT_OUTSIDE = Message("PKT_OUTSIDE", "R{regno} offset is outside of the packet")
    MIN_NEGATIVE = Message("MIN_NEGATIVE",
        "R{regno} min value is negative, either use unsigned index or do a if (index >=0) check.")
    MIN_OUTSIDE = Message("MIN_OUTSIDE", "R{regno} min value is outside of the allowed memory range")
    MAX_OUTSIDE = Message("MAX_OUTSIDE", "R{regno} max value is outside of the allowed memory range")
    UNBOUNDED_ACCESS = Message("UNBOUNDED_ACCESS",
                               "R{regno} unbounded memory access, make sure to bounds check any such access")
    WRITE_TO_KEY = Message("WRITE_TO_KEY", "write to change key R{regno} not allowed")
    CANNOT_WRITE_INTO = Message("CANNOT_WRITE_INTO", "R{regno} cannot write into {type}")
    CANNOT_WRITE_PKT = Message("CANNOT_WRITE_PKT", "cannot write into packet")
    LEAKS_INTO = Message("LEAKS_INTO", "R{regno} leaks addr into {where}")
    # helpers
    INVALID_FUNC = Message("INVALID_FUNC", "invalid func {name}#{id}")
    HELPER_NOT_ALLOWED = Message("HELPER_NOT_ALLOWED", "program of this type cannot use helper {name}#{id}")
    GPL_ONLY = Message("GPL_ONLY", "cannot call GPL-restricted function from non-GPL compatible program")
    ARG_TYPE = Message("ARG_TYPE", "R{regno} type={type} expected={expected}")
    LEAKS_INTO_HELPER = Message("LEAKS_INTO_HELPER", "R{regno} leaks addr into helper function")
    HELPER_PKT = Message("HELPER_PKT", "helper access to the packet is not allowed")
    MAP_PTR_KEY = Message("MAP_PTR_KEY", "invalid map_ptr to access map->key")
    MAP_PTR_VALUE = Message("MAP_PTR_VALUE", "invalid map_ptr to access map->value")
    SIZE_NEGATIVE = Message("SIZE_NEGATIVE",
                            "R{regno} min value is negative, either use unsigned or 'var &= const'")
    ZERO_SIZE = Message("ZERO_SIZE", "R{regno} invalid zero-sized read: u64=[{umin},{umax}]")
    SIZE_UNBOUNDED = Message("SIZE_UNBOUNDED",
                             "R{regno} unbounded memory access, use 'var &= const' or 'if (var < const)'")
    NOT_CONST = Message("NOT_CONST", "R{regno} is not a known constant'")
    MUST_BE_REFERENCED = Message(
        "MUST_BE_REFERENCED", "R{regno} must be referenced when passed to release function")
    NOT_ACQUIRED = Message("NOT_ACQUIRED", "func {name}#{id} reference has not been acquired before")
    TAIL_CALL_MAP = Message("TAIL_CALL_MAP", "expected prog array map for tail call")
    MAP_FUNC_MISMATCH = Message("MAP_FUNC_MISMATCH", "cannot pass map_type {map_type} into func {name}#{id}")
    RELEASE_OFF = Message("RELEASE_OFF", "R{regno} must have zero offset when passed to release func")
    MODIFIED_PTR_ARG = Message(
        "MODIFIED_PTR_ARG", "dereference of modified {type} ptr R{regno} off={off} disallowed")
    # exit
    UNRELEASED = Message("UNRELEASED", "Unreleased reference id={id} alloc_insn={insn}")
    LEAKS_RETURN = Message("LEAKS_RETURN", "R{regno} leaks addr as return value")
    RET_NOT_KNOWN = Message(
        "RET_NOT_KNOWN", "At program exit the register R{regno} is not a known value ({type})")
    RET_RANGE = Message(
        "RET_RANGE", "At program exit the register R0 has{desc} should have been in [{lo}, {hi}]")
    MISSING_FUNC_INFO = Message("MISSING_FUNC_INFO", "missing btf func_info")
    NEEDS_BTF = Message(
        "NEEDS_BTF", "{type} programs need an attach BTF id, which pybpf does not support yet")
    SYSCALL_SLEEPABLE = Message("SYSCALL_SLEEPABLE", "Syscall programs can only be sleepable")
    # bpf-to-bpf calls
    CALLER_SPILL = Message("CALLER_SPILL", "cannot spill pointers to stack into stack frame of the caller")


CATALOGUE: dict[str, Message] = {
    name: value for name, value in vars(M).items() if isinstance(value, Message)
}
assert all(code == msg.code for code, msg in CATALOGUE.items())

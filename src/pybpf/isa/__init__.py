"""The eBPF instruction set: opcode tables, the instruction model and the codec.

>>> from pybpf.isa import decode
>>> prog = decode(bytes.fromhex("b700000003000000" "9500000000000000"))
>>> [hex(i.opcode) for i in prog]
['0xb7', '0x95']
"""

from .codec import INSN_SIZE, decode, decode_insns, encode, encode_insn, validate
from .helper_ids import LAST_HELPER_ID, HelperId, helper_name
from .insn import FP, MAX_REG, Insn, Program
from .opcodes import (
    ATOMIC_OPS,
    END_WIDTHS,
    MOVSX_OFFSETS,
    OPCODES,
    SIZE_BYTES,
    AluOp,
    AtomicOp,
    CallSrc,
    Class,
    Form,
    JmpOp,
    Mode,
    OpInfo,
    PseudoSrc,
    Size,
    Source,
)

__all__ = [
    "INSN_SIZE", "decode", "decode_insns", "encode", "encode_insn", "validate",
    "FP", "MAX_REG", "Insn", "Program", "LAST_HELPER_ID", "HelperId", "helper_name",
    "ATOMIC_OPS", "END_WIDTHS", "MOVSX_OFFSETS", "OPCODES", "SIZE_BYTES",
    "AluOp", "AtomicOp", "CallSrc", "Class", "Form", "JmpOp", "Mode", "OpInfo", "PseudoSrc",
    "Size", "Source",
]

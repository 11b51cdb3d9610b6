"""Input formats curation accepts, and the one formatted output every path produces.

Every input record becomes a ``Record``: the text curation compares (problem, solution,
seed) and the instruction/response pair training reads. SRC-INSTRUCT instructions come from
the one prompt module, so training and chat see exactly the same wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from magitui_core import prompts

SRC_INSTRUCT = "src-instruct"
EVOL_INSTRUCT = "evol-instruct"
CODEALPACA = "codealpaca"
INSTRUCTION_RESPONSE = "instruction-response"
AUTO = "auto"

# Checked in this order by auto-detection: the most specific shape first.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    SRC_INSTRUCT: ("problem", "solution"),
    INSTRUCTION_RESPONSE: ("instruction", "response"),
    CODEALPACA: ("instruction", "input", "output"),
    EVOL_INSTRUCT: ("instruction", "output"),
}
FORMATS: tuple[str, ...] = (*REQUIRED_FIELDS, AUTO)


class FormatError(ValueError):
    """A file whose records do not fit the format asked for; the message names the fix."""


@dataclass(slots=True)
class Record:
    source: str  # "file:line", how every report names a record
    problem: str
    solution: str
    seed: str
    instruction: str
    response: str
    raw: dict[str, Any] = field(repr=False)
    # Whether the input had a seed field at all: upstream's dedupe compares every record's seed,
    # an empty one included, but only generated data (which always has one) went through it.
    has_seed: bool = True

    def formatted(self) -> dict[str, str]:
        """The output line: what the training entry point reads."""
        return {"instruction": self.instruction, "response": self.response}


def _text(value: Any) -> str:
    # Missing or null fields count as empty text: the clean step rejects them by name.
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def fits(fmt: str, obj: dict[str, Any]) -> bool:
    return all(name in obj for name in REQUIRED_FIELDS[fmt])


def detect_format(obj: dict[str, Any]) -> str | None:
    for fmt in REQUIRED_FIELDS:
        if fits(fmt, obj):
            return fmt
    return None


def describe_needs(fmt: str) -> str:
    if fmt == AUTO:
        return "; ".join(f"{'+'.join(need)} ({name})" for name, need in REQUIRED_FIELDS.items())
    return "+".join(REQUIRED_FIELDS[fmt]) + f" ({fmt})"


def codealpaca_instruction(instruction: str, extra: str) -> str:
    """preprocess_data.form_codealpaca_instruction: the input follows after "Input: "."""
    if extra.strip() == "":
        return instruction
    return f"{instruction}\nInput: {extra}"


def to_record(fmt: str, obj: dict[str, Any], source: str) -> Record:
    """Convert one object already known to fit ``fmt``."""
    # Texts are kept byte for byte (no strip): the output must equal what the original
    # pipeline formats from the same record. Emptiness is judged later, on stripped text.
    seed, has_seed = _text(obj.get("seed")), "seed" in obj
    if fmt == SRC_INSTRUCT:
        problem, solution = _text(obj["problem"]), _text(obj["solution"])
        instruction = prompts.src_instruct_instruction(problem)
        return Record(source, problem, solution, seed, instruction, solution, obj, has_seed)
    if fmt == INSTRUCTION_RESPONSE:
        instruction, response = _text(obj["instruction"]), _text(obj["response"])
        return Record(source, instruction, response, seed, instruction, response, obj, has_seed)
    if fmt == CODEALPACA:
        instruction = codealpaca_instruction(_text(obj["instruction"]), _text(obj["input"]))
        response = _text(obj["output"])
        return Record(source, instruction, response, seed, instruction, response, obj, has_seed)
    if fmt == EVOL_INSTRUCT:
        instruction, response = _text(obj["instruction"]), _text(obj["output"])
        return Record(source, instruction, response, seed, instruction, response, obj, has_seed)
    raise FormatError(f"unknown format {fmt!r} — one of: {', '.join(FORMATS)}")

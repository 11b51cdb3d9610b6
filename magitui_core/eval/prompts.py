"""What the model is sent for each problem, and how its answer becomes a completion.

- ``base``: the raw benchmark prompt through ``/v1/completions`` with the Codex harness's stop
  sequences; the completion is what the model wrote, and the solution is prompt + completion.
- ``instruct``: upstream's ``experiments/text2code.py``: the stripped prompt in a ```python fence
  under "Write a solution to the following problem:", rendered with the Magicoder training prompt
  (``magitui_core.prompts.MAGICODER_PROMPT``), the response forced to start with ```python and the
  prompt; the completion is the model's continuation up to the next ```.
- ``chat``: the same instruction as one user turn through ``/v1/chat/completions``, so the
  server applies the model's own chat template; the answer's first fenced code block is the
  program (evalplus's way with chat models). Where that block defines the function it is the
  solution, after the prompt's imports; where it is only a body, prompt + body.
"""

from __future__ import annotations

import re
from typing import Literal

from magitui_core.prompts import MAGICODER_PROMPT

Mode = Literal["base", "instruct", "chat"]
MODES: tuple[str, ...] = ("auto", "base", "instruct", "chat")

# human-eval / Codex paper: a new top-level statement ends the function body.
BASE_STOP = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]
FENCE = "```"
INSTRUCT_STOP = [FENCE]

INSTRUCTION = "Write a solution to the following problem:\n```python\n{prompt}\n```"
RESPONSE_PREFIX = "```python\n{prompt}"


def instruct_text(prompt: str) -> str:
    """The whole text sent in instruct mode: training prompt with the forced response start."""
    stripped = prompt.strip()  # upstream strips it in both places
    return MAGICODER_PROMPT.format(
        instruction=INSTRUCTION.format(prompt=stripped),
        response=RESPONSE_PREFIX.format(prompt=stripped),
    )


def request_text(prompt: str, mode: Mode) -> str:
    return prompt if mode == "base" else instruct_text(prompt)


def chat_messages(prompt: str) -> list[dict[str, str]]:
    """Chat mode's one user turn: upstream's instruction, nothing forced into the answer."""
    return [{"role": "user", "content": INSTRUCTION.format(prompt=prompt.strip())}]


_BLOCK = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def code_block(answer: str) -> str:
    """The program in a chat answer: the first ```python block, else the first fenced block,
    else the whole answer (a model that answers in bare code)."""
    blocks = _BLOCK.findall(answer)
    for language, code in blocks:
        if language.lower() in ("python", "py", "python3"):
            return code
    return blocks[0][1] if blocks else answer


def chat_solution(prompt: str, entry_point: str, answer: str) -> tuple[str, str]:
    """(completion, solution) of a chat answer. A block that defines ``entry_point`` is the
    whole program (after the prompt's imports, which answers often leave out); a bare body
    continues the prompt."""
    code = code_block(answer)
    if re.search(rf"^\s*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE):
        imports = [
            line
            for line in prompt.splitlines()
            if line.startswith(("import ", "from ")) and line not in code
        ]
        header = "\n".join(imports) + "\n\n" if imports else ""
        return code, header + code
    return code, prompt + code


def stop_sequences(mode: Mode) -> list[str]:
    if mode == "chat":
        return []  # the whole answer comes back; its code block is taken afterwards
    return list(BASE_STOP if mode == "base" else INSTRUCT_STOP)


def cut_completion(text: str, mode: Mode) -> str:
    """Apply the stop sequences here too: a server that ignores ``stop`` scores the same."""
    stops = stop_sequences(mode)
    end = min((i for i in (text.find(s) for s in stops) if i != -1), default=len(text))
    return text[:end]

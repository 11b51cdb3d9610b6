"""The one prompt module: every text a model sees is defined here and nowhere else.

- OSS-Instruct: the teacher's system message and prompt, word for word as the
  Magicoder paper's data/prompt.txt and generate_data.py, and the parser of its
  [Problem Description] / [Solution] answer.
- SRC-INSTRUCT: how a generated problem becomes an instruction.
- The Magicoder training prompt, and the chat template derived from it, so a
  served fine-tuned model and the chat pane format a user turn exactly as
  training did.
"""

from __future__ import annotations

from pathlib import Path

OSS_INSTRUCT_SYSTEM = (
    "You are exceptionally skilled at crafting high-quality programming problems and offering "
    "precise solutions."
)

OSS_INSTRUCT_PROMPT = """Please gain inspiration from the following random code snippet to create a high-quality programming problem. Present your output in two distinct sections: [Problem Description] and [Solution].

Code snippet for inspiration:
```
{code}
```

Guidelines for each section:

1. [Problem Description]: This should be **completely self-contained**, providing all the contextual information one needs to understand and solve the problem. Assume common programming knowledge, but ensure that any specific context, variables, or code snippets pertinent to this problem are explicitly included.

2. [Solution]: Offer a comprehensive, **correct** solution that accurately addresses the [Problem Description] you provided."""  # noqa: E501 - the paper's text, kept byte for byte

SRC_INSTRUCT_INSTRUCTION = "Write a solution to the following coding problem:\n{problem}"

MAGICODER_SYSTEM = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate "
    "and reliable responses to user instructions."
)

MAGICODER_PROMPT = MAGICODER_SYSTEM + "\n\n@@ Instruction\n{instruction}\n\n@@ Response\n{response}"


class PromptError(ValueError):
    """A prompt template that cannot be used; the message names the file and the fix."""


def load_generation_prompt(path: Path | None = None) -> str:
    """The OSS-Instruct prompt, or a run's own from ``path`` (it must contain ``{code}``)."""
    if path is None:
        return OSS_INSTRUCT_PROMPT
    try:
        template = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"cannot read prompt file {path}: {exc.strerror}") from None
    if "{code}" not in template:
        raise PromptError(f"prompt file {path} has no {{code}} placeholder for the seed snippet")
    return template


def generation_prompt(code: str, template: str = OSS_INSTRUCT_PROMPT) -> str:
    # str.replace, not str.format: user templates may contain other braces (code, JSON).
    return template.replace("{code}", code)


def parse_problem_solution(text: str) -> tuple[str, str] | None:
    """Split a teacher answer into (problem, solution), exactly as the original parser does.

    The first line mentioning "[problem description]" and the first mentioning "[solution]"
    (case-insensitive) start the sections; the problem must come first. Returns None when the
    answer does not have that shape; the parts may be empty (callers reject those).
    """
    lines = text.splitlines(keepends=True)
    problem_start: int | None = None
    solution_start: int | None = None
    for index, line in enumerate(lines):
        lowered = line.lower()
        if "[problem description]" in lowered and problem_start is None:
            problem_start = index
        if "[solution]" in lowered and solution_start is None:
            solution_start = index
    if problem_start is None or solution_start is None or problem_start >= solution_start:
        return None
    problem = "".join(lines[problem_start + 1 : solution_start]).strip()
    solution = "".join(lines[solution_start + 1 :]).strip()
    return problem, solution


def src_instruct_instruction(problem: str) -> str:
    return SRC_INSTRUCT_INSTRUCTION.format(problem=problem)


def training_prompt(instruction: str) -> str:
    """What the model sees before its answer in training (BOS is added by the tokenizer)."""
    return MAGICODER_PROMPT.format(instruction=instruction, response="")


def training_text(instruction: str, response: str) -> str:
    """A whole training example as text, without BOS/EOS."""
    return training_prompt(instruction) + response


# The training prompt as a Hugging Face chat template. A system message replaces the
# default first sentence; each user turn becomes an "@@ Instruction" block and each
# assistant turn an "@@ Response" followed by EOS, as training ends every response.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{{ messages[0]['content'] }}{%- set rest = messages[1:] -%}"
    "{%- else -%}" + MAGICODER_SYSTEM + "{%- set rest = messages -%}{%- endif -%}"
    "{%- for message in rest -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{ '\\n\\n@@ Instruction\\n' + message['content'] + '\\n\\n@@ Response\\n' }}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{ message['content'] + eos_token }}"
    "{%- endif -%}"
    "{%- endfor -%}"
)


def render_chat(messages: list[dict[str, str]], bos: str = "", eos: str = "") -> str:
    """What CHAT_TEMPLATE renders, in Python: for the chat pane's raw-prompt view and tests."""
    text = bos
    rest = messages
    if messages and messages[0]["role"] == "system":
        text += messages[0]["content"]
        rest = messages[1:]
    else:
        text += MAGICODER_SYSTEM
    for message in rest:
        if message["role"] == "user":
            text += "\n\n@@ Instruction\n" + message["content"] + "\n\n@@ Response\n"
        elif message["role"] == "assistant":
            text += message["content"] + eos
    return text

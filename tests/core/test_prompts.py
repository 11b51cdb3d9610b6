"""The prompt module: the paper's texts, its parser's rules, and a chat template that
renders a user turn exactly like a training example."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from magitui_core import prompts


def test_oss_instruct_texts_are_the_papers() -> None:
    # Length and SHA-256 of the Magicoder repository's data/prompt.txt (709 characters).
    assert len(prompts.OSS_INSTRUCT_PROMPT) == 709
    assert prompts.OSS_INSTRUCT_PROMPT.count("{code}") == 1
    assert prompts.OSS_INSTRUCT_SYSTEM.startswith("You are exceptionally skilled at crafting")
    digest = hashlib.sha256(prompts.OSS_INSTRUCT_PROMPT.encode()).hexdigest()
    assert digest == "37119e47070be2fdb7269955ede52eba207e3594b36f9a62133086b6f18fb083"


def test_generation_prompt_inserts_code_verbatim() -> None:
    code = "def f(x):\n    return {'a': x}\n"
    text = prompts.generation_prompt(code)
    assert f"```\n{code}\n```" in text
    custom = prompts.generation_prompt("X", "Snippet {code} and {braces} stay")
    assert custom == "Snippet X and {braces} stay"


def test_prompt_file_needs_the_placeholder(tmp_path: Path) -> None:
    good = tmp_path / "p.txt"
    good.write_text("Use this: {code}")
    assert prompts.load_generation_prompt(good) == "Use this: {code}"
    bad = tmp_path / "bad.txt"
    bad.write_text("no placeholder")
    with pytest.raises(prompts.PromptError, match=r"no \{code\} placeholder"):
        prompts.load_generation_prompt(bad)
    with pytest.raises(prompts.PromptError, match="cannot read prompt file"):
        prompts.load_generation_prompt(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("[Problem Description]\nAdd.\n\n[Solution]\nx + y\n", ("Add.", "x + y")),
        ("intro\n**[PROBLEM DESCRIPTION]**\nP\n### [solution]\nS", ("P", "S")),
        ("[Problem Description]\n\n[Solution]\nS", ("", "S")),  # empty parts: caller rejects
        ("[Solution]\nS\n[Problem Description]\nP", None),  # wrong order
        ("[Problem Description] and [Solution] on one line\nbody", None),  # same line
        ("no sections at all", None),
        # Only the first mention of each header counts, as in the original.
        ("[Problem Description]\nP\n[Solution]\nS1\n[Solution]\nS2", ("P", "S1\n[Solution]\nS2")),
    ],
)
def test_parser_follows_the_original(answer: str, expected: tuple[str, str] | None) -> None:
    assert prompts.parse_problem_solution(answer) == expected


def test_src_instruct_and_training_prompt() -> None:
    instruction = prompts.src_instruct_instruction("Sum two numbers.")
    assert instruction == "Write a solution to the following coding problem:\nSum two numbers."
    assert prompts.training_prompt(instruction) == (
        "You are an exceptionally intelligent coding assistant that consistently delivers "
        "accurate and reliable responses to user instructions.\n\n@@ Instruction\n"
        + instruction
        + "\n\n@@ Response\n"
    )
    assert prompts.training_text("I", "R").endswith("@@ Response\nR")


def test_chat_template_renders_a_user_turn_like_training() -> None:
    jinja2 = pytest.importorskip("jinja2")
    template = jinja2.Environment().from_string(prompts.CHAT_TEMPLATE)
    conversations = [
        [{"role": "user", "content": "Sort a list."}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        [
            {"role": "user", "content": "A"},
            {"role": "assistant", "content": "B"},
            {"role": "user", "content": "C"},
        ],
    ]
    for messages in conversations:
        rendered = template.render(messages=messages, bos_token="<s>", eos_token="</s>")
        assert rendered == prompts.render_chat(messages, bos="<s>", eos="</s>")
    single = template.render(messages=conversations[0], bos_token="<s>", eos_token="</s>")
    assert single == "<s>" + prompts.training_prompt("Sort a list.")

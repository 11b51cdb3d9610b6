"""The demo's teacher stand-in as a real process on 127.0.0.1, spoken to with the openai client
and magitui's own chat client: models list, plain and streamed answers, wrong model, and an
answer that generation parses and curation keeps."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import openai
import pytest

from magitui_core.chat.client import ChatClient, ChatSettings, Conversation
from magitui_core.curation.dedupe import copies_problem
from magitui_core.curation.formats import Record
from magitui_core.demo.stand_in_teacher import STAND_IN_MODEL, STAND_IN_NOTE
from magitui_core.prompts import generation_prompt, parse_problem_solution

SNIPPET = "def area(r):\n    return 3.14159 * r * r"


@pytest.fixture(scope="module")
def stand_in() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "magitui_core.demo.stand_in_teacher", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/v1)", first)
        assert found, first
        assert "not an LLM" in first
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0)


def test_lists_itself_under_a_name_that_says_what_it_is(stand_in: str) -> None:
    models = [m.id for m in client(stand_in).models.list()]
    assert models == [STAND_IN_MODEL] and "not an LLM" in STAND_IN_MODEL


def test_answers_oss_instruct_prompts_in_the_teacher_format(stand_in: str) -> None:
    reply = client(stand_in).chat.completions.create(
        model=STAND_IN_MODEL,
        messages=[{"role": "user", "content": generation_prompt(SNIPPET)}],
    )
    text = reply.choices[0].message.content or ""
    assert reply.choices[0].finish_reason == "stop" and reply.usage is not None
    parsed = parse_problem_solution(text)
    assert parsed is not None
    problem, solution = parsed
    assert SNIPPET in problem and "stand-in" in problem
    assert "return 3.14159 * r * r" in solution
    # Curation keeps it: the solution's code block does not repeat the problem's.
    record = Record("t:1", problem, solution, SNIPPET, problem, solution, raw={})
    assert not copies_problem(record)


def test_streamed_answer_equals_the_plain_one(stand_in: str) -> None:
    messages = [{"role": "user", "content": generation_prompt(SNIPPET)}]
    plain = client(stand_in).chat.completions.create(model=STAND_IN_MODEL, messages=messages)
    chunks = client(stand_in).chat.completions.create(
        model=STAND_IN_MODEL, messages=messages, stream=True
    )
    pieces, finishes = [], []
    for chunk in chunks:
        pieces.append(chunk.choices[0].delta.content or "")
        finishes.append(chunk.choices[0].finish_reason)
    assert len(pieces) > 3 and "".join(pieces) == plain.choices[0].message.content
    assert finishes[-1] == "stop"


def test_chat_pane_client_gets_the_stand_in_note(stand_in: str) -> None:
    """What a user typing in the Chat pane to the stand-in sees: that it is not a model."""
    chat = ChatClient(Conversation(ChatSettings(stand_in, STAND_IN_MODEL)))
    assert "".join(chat.send("hello, who are you?")) == STAND_IN_NOTE


def test_quoted_section_names_do_not_split_the_answer(stand_in: str) -> None:
    snippet = '"""Parse the [Problem Description] / [Solution] answer."""\nx = 1'
    reply = client(stand_in).chat.completions.create(
        model=STAND_IN_MODEL,
        messages=[{"role": "user", "content": generation_prompt(snippet)}],
    )
    parsed = parse_problem_solution(reply.choices[0].message.content or "")
    assert parsed is not None and "(Problem Description) / (Solution)" in parsed[0]
    assert parsed[1].endswith("x = 1\n```")


def test_other_models_are_refused_by_name(stand_in: str) -> None:
    with pytest.raises(openai.NotFoundError, match="gpt-4o"):
        client(stand_in).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )

"""Chat against a real `transformers serve` on loopback: streaming, multi-turn, regenerate,
transcripts, and one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from magitui_core.chat.client import ChatClient, ChatError, ChatSettings, Conversation
from magitui_core.prompts import render_chat, training_prompt
from tests.conftest import env_with, magitui_cmd

pytestmark = pytest.mark.slow  # starts a model server


def client_for(server: tuple[str, str], **settings: object) -> ChatClient:
    base_url, model = server
    return ChatClient(Conversation(ChatSettings(base_url, model, **settings)))  # type: ignore[arg-type]


def test_streams_multi_turn_and_keeps_the_conversation(tiny_model_server: tuple[str, str]) -> None:
    client = client_for(tiny_model_server, max_tokens=5, system="Be brief.")
    first = "".join(client.send("Write add."))
    assert client.last.finish_reason in ("length", "stop")
    assert client.last.seconds > 0
    "".join(client.send("And subtract?"))
    roles = [m["role"] for m in client.conversation.messages()]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    assert client.conversation.turns[1]["content"] == first
    again = client.regenerate()
    "".join(again)
    assert len(client.conversation.turns) == 4


def test_errors_are_one_line_and_lose_nothing(tiny_model_server: tuple[str, str]) -> None:
    base_url, _ = tiny_model_server
    client = client_for((base_url, "no-such-model"), max_tokens=3)
    with pytest.raises(ChatError, match=r"has no model 'no-such-model' — served models: "):
        "".join(client.send("hi"))
    assert client.conversation.turns == []  # the failed turn can be sent again
    down = client_for(("http://127.0.0.1:9/v1", "m"))
    with pytest.raises(ChatError, match=r"cannot reach http://127\.0\.0\.1:9/v1"):
        "".join(down.send("hi"))


def test_transcripts_round_trip(tiny_model_server: tuple[str, str], tmp_path: Path) -> None:
    client = client_for(tiny_model_server, max_tokens=4)
    "".join(client.send("Hello"))
    saved = client.conversation.save(tmp_path / "chat.json")
    loaded = Conversation.load(saved)
    assert loaded.turns == client.conversation.turns
    assert loaded.settings == client.conversation.settings
    markdown = client.conversation.save(tmp_path / "chat.md").read_text()
    assert "## You\n\nHello" in markdown


def test_chat_command_prints_the_answer(tiny_model_server: tuple[str, str], tmp_path: Path) -> None:
    base_url, model = tiny_model_server
    result = subprocess.run(
        [
            *magitui_cmd(),
            "chat",
            "--base-url",
            base_url,
            "--model",
            model,
            "-p",
            "Write add.",
            "--max-tokens",
            "6",
            "--save",
            str(tmp_path / "t.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "finish " in result.stderr
    turns = json.loads((tmp_path / "t.json").read_text())["turns"]
    assert turns[0] == {"role": "user", "content": "Write add."}
    assert result.stdout.rstrip("\n") == turns[1]["content"].rstrip("\n")
    missing = subprocess.run(
        [*magitui_cmd(), "chat", "--base-url", base_url, "--model", "nope", "-p", "hi"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 1 and "served models: " + model in missing.stderr


@pytest.fixture(scope="module")
def base_model_server(
    tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """`magitui serve` of the tiny model as a base model (no chat template), as a job in a
    workspace of its own: (base_url, model)."""
    home = tmp_path_factory.mktemp("base-serve")
    env = env_with(
        MAGITUI_HOME=str(home / "workspace"),
        MAGITUI_CONFIG=str(home / "config.toml"),
        MAGITUI_CREDENTIALS=str(home / "credentials.toml"),
    )

    def magitui(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*magitui_cmd(), *args], env=env, capture_output=True, text=True, timeout=300
        )

    served = magitui("serve", str(tiny_model), "--engine", "transformers")
    assert served.returncode == 0, served.stderr
    job_id = served.stdout.strip()
    try:
        ready = re.search(r"ready at (\S+) \(model ", served.stderr)
        assert ready is not None, served.stderr
        yield ready.group(1), str(tiny_model)
    finally:
        stopped = magitui("jobs", "stop", job_id)
        assert stopped.returncode == 0, stopped.stderr


def test_a_base_model_talks_in_the_magicoder_format(
    base_model_server: tuple[str, str],
) -> None:
    template = client_for(base_model_server, max_tokens=3)
    with pytest.raises(
        ChatError, match=r"has no chat template, .* switch the prompt format to magicoder"
    ):
        "".join(template.send("Write add."))
    client = client_for(base_model_server, max_tokens=3, prompt_format="magicoder")
    answer = "".join(client.send("Write add."))
    # The tiny tokenizer adds no BOS by itself, so the text sent carries it, as training did.
    assert client.last_prompt == "<s>" + training_prompt("Write add.")
    assert client.conversation.turns[-1] == {"role": "assistant", "content": answer}
    assert client.last.finish_reason == "length" and client.last.completion_tokens == 3
    more = "".join(client.continue_last())
    assert client.last_prompt == "<s>" + training_prompt("Write add.") + answer  # no EOS
    assert client.conversation.turns[-1] == {"role": "assistant", "content": answer + more}
    assert len(client.conversation.turns) == 2


def test_continue_renders_the_models_own_template_and_extends_the_answer(
    tiny_model_server: tuple[str, str],
) -> None:
    client = client_for(tiny_model_server, max_tokens=3, system="Be brief.")
    answer = "".join(client.send("Write add."))
    assert client.last_prompt is None  # the server formatted the chat
    assert client.last.finish_reason == "length"
    more = "".join(client.continue_last())
    # transformers serve refuses continue_final_message; the model's template, rendered here
    # open-ended, goes to its completions API instead.
    expected = render_chat(client.conversation.messages()[:2], bos="<s>") + answer
    assert client.last_prompt == expected
    assert client.conversation.turns == [
        {"role": "user", "content": "Write add."},
        {"role": "assistant", "content": answer + more},
    ]

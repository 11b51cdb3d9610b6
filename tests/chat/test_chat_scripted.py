"""ChatClient against a scripted loopback server: the exact requests of each prompt format,
continuing an answer in place, cutting a stalled stream, and the tokenizer facts the raw
prompt depends on."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from magitui_core.chat.client import ChatClient, ChatError, ChatSettings, ChatStopped, Conversation
from magitui_core.chat.prompt_format import magicoder_prompt, tokenizer_adds_bos
from magitui_core.prompts import MAGICODER_SYSTEM, render_chat
from tests.chat.scripted_server import Script, scripted_server
from tests.conftest import magitui_cmd


def client_for(base_url: str, **settings: object) -> ChatClient:
    return ChatClient(Conversation(ChatSettings(base_url, "scripted", **settings)))  # type: ignore[arg-type]


def test_magicoder_format_sends_the_training_prompt_to_the_completions_api() -> None:
    with scripted_server() as server:
        client = client_for(server.base_url, prompt_format="magicoder", max_tokens=7)
        assert "".join(client.send("Write add.")) == "Hello world"
        assert "".join(client.send("And sub?")) == "Hello world"
    (path, first), (_, second) = server.requests
    assert path == "/v1/completions"
    assert first["prompt"] == f"{MAGICODER_SYSTEM}\n\n@@ Instruction\nWrite add.\n\n@@ Response\n"
    assert first["max_tokens"] == 7 and first["stream"] is True
    # The second turn carries the first answer, rendered as training did.
    assert second["prompt"] == render_chat(client.conversation.turns[:3])
    assert client.last_prompt == second["prompt"]  # what the raw-prompt view shows
    assert client.conversation.turns[-1] == {"role": "assistant", "content": "Hello world"}
    assert client.last.finish_reason == "stop" and client.last.completion_tokens == 2


def test_template_format_sends_messages_to_the_chat_api() -> None:
    with scripted_server() as server:
        client = client_for(server.base_url, system="Be brief.")
        "".join(client.send("hi"))
    ((path, body),) = server.requests
    assert path == "/v1/chat/completions"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert client.last_prompt is None  # the server's template formats it


def test_a_long_chat_goes_out_byte_for_byte_as_the_sdk_sends_it() -> None:
    """The messages skip the SDK's schema walk (slow on long chats); the body must not change."""
    from openai import OpenAI

    earlier = [
        {"role": role, "content": f'turn {index}: ünïcode, "quotes", ```code```\n'}
        for index in range(40)
        for role in ("user", "assistant")
    ]
    with scripted_server() as server:
        settings = ChatSettings(server.base_url, "scripted", system="Be brief.", max_tokens=9)
        client = ChatClient(Conversation(settings, list(earlier)))
        "".join(client.send("next"))
        sdk = OpenAI(base_url=server.base_url, api_key="not-needed", max_retries=0)
        messages = [{"role": "system", "content": "Be brief."}, *earlier]
        messages.append({"role": "user", "content": "next"})
        stream = sdk.chat.completions.create(
            model="scripted",
            messages=messages,  # type: ignore[arg-type]
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_tokens=9,
            stream=True,
            stream_options={"include_usage": True},
        )
        for _chunk in stream:
            pass
    ours, theirs = server.raw_bodies
    assert len(json.loads(ours)["messages"]) == 82
    assert ours == theirs


def test_a_dropped_client_is_collected_with_its_connections() -> None:
    """Its HTTP client is closed when it goes (a finalizer), which must not keep it alive."""
    import gc
    import weakref

    with scripted_server() as server:
        client = client_for(server.base_url)
        assert "".join(client.send("hi")) == "Hello world"
        sent = client.next_request_sent()
        "".join(client.send("again"))
        assert sent.is_set()  # the request's body was written
        gone = weakref.ref(client)
        del client
        gc.collect()
        assert gone() is None


def test_continue_in_magicoder_format_extends_the_same_answer() -> None:
    with scripted_server(Script(["def add(a, b):"], "length")) as server:
        client = client_for(server.base_url, prompt_format="magicoder")
        "".join(client.send("Write add."))
        assert client.last.finish_reason == "length"
        server.script = Script(["\n    return a + b\n"], "stop")
        assert "".join(client.continue_last()) == "\n    return a + b\n"
    sent = server.bodies()[1]["prompt"]
    # The prompt ends with the cut answer itself: no EOS, no new instruction.
    assert sent == render_chat([{"role": "user", "content": "Write add."}]) + "def add(a, b):"
    assert client.conversation.turns == [
        {"role": "user", "content": "Write add."},
        {"role": "assistant", "content": "def add(a, b):\n    return a + b\n"},
    ]
    assert client.last.finish_reason == "stop"


def test_continue_with_a_remote_template_asks_the_server_to_continue_the_final_message() -> None:
    with scripted_server(Script(["Part one"], "length")) as server:
        client = client_for(server.base_url)
        "".join(client.send("Tell me"))
        server.script = Script([", part two"], "stop")
        "".join(client.continue_last())
    body = server.bodies()[1]
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["messages"][-1] == {"role": "assistant", "content": "Part one"}
    assert client.conversation.turns[-1]["content"] == "Part one, part two"
    assert len(client.conversation.turns) == 2


def test_a_server_that_refuses_to_continue_says_so_and_keeps_the_answer() -> None:
    with scripted_server(Script(["Part one"], "length")) as server:
        client = client_for(server.base_url)
        "".join(client.send("Tell me"))
        server.script = Script(refuse={"continue_final_message"})  # as `transformers serve`
        with pytest.raises(ChatError, match=r"cannot continue an answer in place .* magicoder"):
            "".join(client.continue_last())
    assert client.conversation.turns[-1] == {"role": "assistant", "content": "Part one"}
    with pytest.raises(ChatError, match="nothing to continue yet"):
        "".join(client_for(server.base_url).continue_last())


def test_close_cuts_a_stream_stalled_mid_answer() -> None:
    with scripted_server(Script(["Partial ", "never sent"], stall=True)) as server:
        client = client_for(server.base_url)  # the read timeout (600 s) never fires here
        got: list[str] = []
        outcome: list[BaseException] = []

        def consume() -> None:
            try:
                for piece in client.send("hi"):
                    got.append(piece)
            except BaseException as exc:
                outcome.append(exc)

        reader = threading.Thread(target=consume, daemon=True)
        reader.start()
        assert server.stalled.wait(30)
        for _ in range(600):  # until the piece before the silence has been read
            if got:
                break
            reader.join(0.05)
        client.close()  # from this thread, while the reader is blocked on the socket
        reader.join(30)
        assert not reader.is_alive(), "close() did not wake the blocked read"
        assert got == ["Partial "]
        assert len(outcome) == 1 and isinstance(outcome[0], ChatStopped)
        assert client.conversation.turns == []  # as before the turn; the caller keeps the part
        # The client stays usable for the next turn.
        server.script = Script(["Again"])
        assert "".join(client.send("hi again")) == "Again"


def test_tokenizer_bos_decides_whether_the_raw_prompt_carries_it(tmp_path: Path) -> None:
    own = tmp_path / "own-bos"
    own.mkdir()
    (own / "tokenizer_config.json").write_text(
        json.dumps({"bos_token": "<s>", "eos_token": "</s>"})
    )
    assert not tokenizer_adds_bos(str(own))
    turns = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert magicoder_prompt(turns, str(own)).startswith("<s>" + MAGICODER_SYSTEM)
    assert magicoder_prompt(turns, str(own)).endswith("@@ Response\na</s>")
    adds = tmp_path / "adds-bos"
    adds.mkdir()
    (adds / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<s>"}))
    processor = {
        "type": "Sequence",
        "processors": [
            {"type": "ByteLevel"},
            {
                "type": "TemplateProcessing",
                "single": [
                    {"SpecialToken": {"id": "<s>", "type_id": 0}},
                    {"Sequence": {"id": "A"}},
                ],
            },
        ],
    }
    (adds / "tokenizer.json").write_text(json.dumps({"post_processor": processor}))
    assert tokenizer_adds_bos(str(adds))
    assert magicoder_prompt(turns, str(adds)).startswith(MAGICODER_SYSTEM)  # no double BOS
    assert magicoder_prompt(turns, "remote-model").startswith(MAGICODER_SYSTEM)


def test_transcripts_keep_the_prompt_format_and_refuse_an_unknown_one(tmp_path: Path) -> None:
    settings = ChatSettings("http://127.0.0.1:9/v1", "m", prompt_format="magicoder")
    path = Conversation(settings, [{"role": "user", "content": "x"}]).save(tmp_path / "c.json")
    assert Conversation.load(path).settings.prompt_format == "magicoder"
    data = json.loads(path.read_text())
    del data["settings"]["prompt_format"]  # a transcript saved before the setting existed
    path.write_text(json.dumps(data))
    assert Conversation.load(path).settings.prompt_format == "template"
    data["settings"]["prompt_format"] = "alpaca"
    path.write_text(json.dumps(data))
    with pytest.raises(ChatError, match="prompt format 'alpaca' — use one of template, magicoder"):
        Conversation.load(path)


def test_chat_command_sends_the_magicoder_prompt_and_shows_it() -> None:
    with scripted_server() as server:
        result = subprocess.run(
            [
                *magitui_cmd(),
                "chat",
                "--base-url",
                server.base_url,
                "--model",
                "scripted",
                "--prompt-format",
                "magicoder",
                "--show-prompt",
                "-p",
                "Write add.",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello world\n"
    ((path, body),) = server.requests
    assert path == "/v1/completions"
    assert body["prompt"] in result.stderr and "@@ Instruction\nWrite add." in result.stderr
    bad_args = ["--model", "m", "--prompt-format", "alpaca", "-p", "x"]
    bad = subprocess.run(
        [*magitui_cmd(), "chat", "--base-url", server.base_url, *bad_args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "'alpaca' is not one of 'template', 'magicoder'" in bad.stderr

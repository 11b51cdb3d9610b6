"""The Chat pane: keys that never fight typing, settings, raw prompt, transcripts, code copy;
against a scripted loopback server, the magicoder prompt format, continue in place and Escape on
a stalled stream; and, against a real `transformers serve` on 127.0.0.1 (slow), streaming, stop,
regenerate, edit-and-resend, inline errors with the prompt restored, continue, and A/B compare."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from pilot_helpers import drive, screen_text, settle, wait_until
from textual.pilot import Pilot
from textual.widgets import Input, Markdown, OptionList

from magitui.app import MagituiApp
from magitui.screens.chat.message import AnswerView
from magitui.screens.chat.prompt_input import ChatInput
from magitui.screens.chat.screen import ChatScreen, last_code_block
from magitui.screens.chat.settings import ChatSettingsScreen, parse_settings
from magitui_core.chat.client import ChatSettings, Conversation
from magitui_core.chat.endpoints import Endpoint
from magitui_core.context import Context, open_context
from magitui_core.prompts import MAGICODER_SYSTEM, render_chat
from tests.chat.scripted_server import Script, scripted_server

ANSWER_WITH_CODE = (
    "Here you go:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\n"
    "And the test:\n\n```python\nassert add(1, 2) == 3\n```\n"
)


async def open_chat(pilot: Pilot[None]) -> ChatScreen:
    await pilot.press("c")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ChatScreen)
    return screen


def box(screen: ChatScreen) -> ChatInput:
    return screen.query_one(ChatInput)


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*[" " if ch == " " else ch for ch in text])


def with_teacher(write_config, base_url: str, model: str) -> None:  # type: ignore[no-untyped-def]
    write_config(f'[teacher]\nbase_url = "{base_url}"\nmodel = "{model}"\n')


# ---- without a server ------------------------------------------------------------------------
def test_opens_on_the_log_and_enter_goes_to_the_box() -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        assert not screen.input_focused  # section keys and Escape work as everywhere
        text = screen_text(pilot.app)
        assert "No messages yet" in text
        assert "(no model — press o)" in text
        assert "http://127.0.0.1:8000/v1" in text
        await pilot.press("enter")
        assert screen.input_focused
        await pilot.press("escape", "escape")  # out of the box, then Home
        assert pilot.app.current_mode == "home"

    drive(MagituiApp(), scenario)


def test_section_letters_are_text_in_the_box_and_keys_outside_it() -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        await pilot.press("enter")  # into the box
        await type_text(pilot, "hsgdtmcq ?oberynpwlx")
        assert box(screen).text == "hsgdtmcq ?oberynpwlx"
        assert pilot.app.current_mode == "chat"
        assert pilot.app.screen is screen  # no dialog opened either
        await pilot.press("escape")  # leaves the box, keeps the draft
        assert not screen.input_focused
        assert box(screen).text == "hsgdtmcq ?oberynpwlx"
        await pilot.press("o")
        assert isinstance(pilot.app.screen, ChatSettingsScreen)
        await pilot.press("escape")
        await pilot.press("i")
        assert screen.input_focused
        await pilot.press("escape", "h")
        assert pilot.app.current_mode == "home"
        await pilot.press("c")
        assert box(screen).text == "hsgdtmcq ?oberynpwlx"  # the section comes back as left

    drive(MagituiApp(), scenario)


def test_enter_without_a_model_explains_and_keeps_the_text() -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        await pilot.press("enter")  # into the box
        await type_text(pilot, "hello")
        await pilot.press("enter")
        await settle(pilot)
        assert "No model chosen" in screen_text(pilot.app)
        assert box(screen).text == "hello"
        assert not screen.exchanges()

    drive(MagituiApp(), scenario)


def test_ctrl_j_adds_a_line_and_paste_keeps_every_line() -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        await pilot.press("enter")  # into the box
        await type_text(pilot, "a")
        await pilot.press("ctrl+j")
        await type_text(pilot, "b")
        assert box(screen).text == "a\nb"
        box(screen).clear()
        from textual import events

        pilot.app.post_message(events.Paste("def f():\n    return 1\n"))  # as a terminal does
        await settle(pilot)
        assert box(screen).text == "def f():\n    return 1\n"

    drive(MagituiApp(), scenario)


def test_b_without_an_endpoint_b_opens_b_and_leaves_a_alone() -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        url_a = screen.pane.a.base_url
        await pilot.press("b")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, ChatSettingsScreen)
        assert dialog.focused is dialog.query_one("#url-b", Input)
        await type_text(pilot, "http://127.0.0.1:9/v1")
        assert dialog.query_one("#url-a", Input).value == url_a  # never overwritten
        assert dialog.query_one("#url-b", Input).value == "http://127.0.0.1:9/v1"

    drive(MagituiApp(), scenario)


def test_settings_refuse_bad_values_in_place_and_apply_good_ones() -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        await pilot.press("o")
        dialog = pilot.app.screen
        assert isinstance(dialog, ChatSettingsScreen)
        dialog.query_one("#model-a", Input).value = "my-model"
        dialog.query_one("#temperature", Input).value = "7"
        await pilot.click("#apply")
        await settle(pilot)
        assert pilot.app.screen is dialog
        assert "temperature 7.0 — must be between 0 and 2" in screen_text(pilot.app)
        dialog.query_one("#temperature", Input).value = "0.7"
        dialog.query_one("#system", Input).value = "Be terse."
        assert dialog.query_one("#prompt-format", Input).value == "template"
        dialog.query_one("#prompt-format", Input).value = "magicoder"
        dialog.query_one("#url-b", Input).value = "http://127.0.0.1:8001/v1"
        dialog.query_one("#model-b", Input).value = "base-model"
        dialog.query_one("#model-b", Input).focus()
        await pilot.press("enter")  # Enter in any field applies
        await settle(pilot)
        assert pilot.app.screen is screen, screen_text(pilot.app)
        assert screen.pane.a.model == "my-model"
        assert screen.pane.a.temperature == 0.7
        assert screen.pane.a.prompt_format == "magicoder"
        assert screen.conversations[1].settings.prompt_format == "magicoder"  # B as well
        assert screen.conversations[0].messages() == [{"role": "system", "content": "Be terse."}]
        assert screen.compare  # setting B turns the comparison on
        text = screen_text(pilot.app)
        assert "A my-model" in text and "B base-model" in text
        await pilot.press("b")
        assert not screen.compare

    drive(MagituiApp(), scenario)


def test_parse_settings_names_the_field_and_the_fix() -> None:
    good = {
        "url-a": "http://127.0.0.1:8000/v1",
        "model-a": "m",
        "url-b": "",
        "model-b": "",
        "system": "",
        "temperature": "0.2",
        "top-p": "0.95",
        "max-tokens": "64",
        "prompt-format": "template",
    }
    settings = parse_settings(good)
    assert not isinstance(settings, str)
    assert settings.a == ChatSettings("http://127.0.0.1:8000/v1", "m", None, 0.2, 0.95, 64)
    assert parse_settings({**good, "url-a": "localhost:8000"}) == (
        "A base URL 'localhost:8000' — must start with http:// or https://"
    )
    assert parse_settings({**good, "top-p": "0"}) == "top p 0.0 — must be above 0 and at most 1"
    assert parse_settings({**good, "max-tokens": "1.5"}) == (
        "temperature and top p must be numbers, max tokens a whole number"
    )
    assert "B needs both" in str(parse_settings({**good, "url-b": "http://127.0.0.1:1/v1"}))
    magicoder = parse_settings({**good, "prompt-format": " magicoder "})
    assert not isinstance(magicoder, str) and magicoder.a.prompt_format == "magicoder"
    assert str(parse_settings({**good, "prompt-format": "chatml"})).startswith(
        "prompt format 'chatml' — type template (the model's chat template) or magicoder"
    )


def test_raw_prompt_shows_the_magicoder_training_prompt_of_the_draft() -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        await pilot.press("enter")  # into the box
        await type_text(pilot, "Write add")
        await pilot.press("escape", "p")
        await settle(pilot)
        text = screen_text(pilot.app)
        assert MAGICODER_SYSTEM[:40] in text
        assert "@@ Instruction" in text and "Write add" in text and "@@ Response" in text
        assert "which is not here (remote), or there is none" in screen.raw_prompt_text()
        await pilot.press("p")
        assert "No messages yet" in screen_text(pilot.app)

    drive(MagituiApp(), scenario)


def test_last_code_block_is_the_last_fence() -> None:
    assert last_code_block(ANSWER_WITH_CODE) == "assert add(1, 2) == 3\n"
    assert last_code_block("no code here") is None


def test_a_loaded_transcript_is_shown_and_its_code_copied(ctx: Context) -> None:
    ctx.workspace.create_run("run-1")
    chats = ctx.workspace.run_path("run-1") / "chats"
    conversation = Conversation(
        ChatSettings("http://127.0.0.1:9/v1", "saved-model", system="Be exact.", max_tokens=77),
        [
            {"role": "user", "content": "Write add"},
            {"role": "assistant", "content": ANSWER_WITH_CODE},
        ],
    )
    conversation.save(chats / "chat-old.json")
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert "chat-old.json" in screen_text(pilot.app)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.conversations[0].turns == conversation.turns
        assert screen.pane.a.model == "saved-model" and screen.pane.a.max_tokens == 77
        text = screen_text(pilot.app)
        assert "Write add" in text and "return a + b" in text
        await pilot.press("y")
        assert pilot.app.clipboard == "assert add(1, 2) == 3\n"
        await pilot.press("x")  # asks first; No keeps everything
        await settle(pilot)
        assert "Clear this conversation" in screen_text(pilot.app)
        await pilot.press("enter")  # the focused answer is No
        await settle(pilot)
        assert screen.conversations[0].turns == conversation.turns
        await pilot.press("x", "y")
        await settle(pilot)
        assert screen.conversations[0].turns == []
        assert "No messages yet" in screen_text(pilot.app)

    drive(app, scenario, size=(100, 30))


def test_escape_cuts_a_stalled_stream(write_config) -> None:  # type: ignore[no-untyped-def]
    with scripted_server(Script(["Partial ", "never"], stall=True)) as server:
        with_teacher(write_config, server.base_url, "scripted")

        async def scenario(pilot: Pilot[None]) -> None:
            screen = await open_chat(pilot)
            await pilot.press("enter")  # into the box
            await type_text(pilot, "hi")
            await pilot.press("enter")
            await wait_until(pilot, lambda: any(a.text for a in answers(screen)), "a chunk")
            await pilot.press("escape")
            # Not settle(): it waits for every worker.
            await wait_until(pilot, lambda: not screen.streaming and screen._turn is None, "stop")
            # ChatClient.close() woke the blocked read: the stream's thread has ended, not
            # been left behind.
            await wait_until(pilot, lambda: not screen._streaming_clients, "the thread to end")
            await pilot.pause()
            (answer,) = answers(screen)
            assert answer.stopped and answer.error is None
            assert screen.conversations[0].turns == [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "Partial "},
            ]
            server.script = Script(["Fine"])  # the same client answers the next turn
            await send(pilot, screen, "again")
            assert answers(screen)[-1].text == "Fine"

        drive(MagituiApp(), scenario)


def test_continue_extends_the_cut_answer_in_place(write_config) -> None:  # type: ignore[no-untyped-def]
    with scripted_server(Script(["def add(a, b):"], "length")) as server:
        with_teacher(write_config, server.base_url, "scripted")

        async def scenario(pilot: Pilot[None]) -> None:
            screen = await open_chat(pilot)
            await send(pilot, screen, "Write add")
            assert "cut at max tokens — n continues" in screen_text(pilot.app)
            server.script = Script(["\n    return a + b"], "stop")
            await pilot.press("escape", "n")
            await turn_done(pilot, screen)
            (answer,) = answers(screen)  # the same answer, not a new exchange
            assert answer.text == "def add(a, b):\n    return a + b" == shown(answer)
            assert screen.conversations[0].turns == [
                {"role": "user", "content": "Write add"},
                {"role": "assistant", "content": answer.text},
            ]
            body = server.bodies()[-1]
            assert body["continue_final_message"] is True
            assert body["messages"][-1] == {"role": "assistant", "content": "def add(a, b):"}
            assert "finish stop" in screen_text(pilot.app)
            assert not screen.check_action("continue", ())  # nothing cut any more
            # A server that cannot continue: the answer stays as it was, still continuable.
            server.script = Script(["Cut"], "length")
            await send(pilot, screen, "More")
            server.script = Script(refuse={"continue_final_message"})
            before = answers(screen)[-1].text
            await pilot.press("escape", "n")
            await turn_done(pilot, screen)
            assert "cannot continue an answer in place" in screen_text(pilot.app)
            assert answers(screen)[-1].text == before
            assert screen.conversations[0].turns[-1] == {"role": "assistant", "content": before}
            assert screen.check_action("continue", ())

        drive(MagituiApp(), scenario, size=(120, 30))


def test_the_question_shows_at_once_when_the_first_token_is_slow(write_config) -> None:  # type: ignore[no-untyped-def]
    """The frame after Enter waits a moment for the first token, never for a slow one."""
    with scripted_server(Script(["Late"], first_delay=1.5)) as server:
        with_teacher(write_config, server.base_url, "scripted")

        async def scenario(pilot: Pilot[None]) -> None:
            screen = await open_chat(pilot)
            box(screen).focus()
            await type_text(pilot, "Anyone there")
            await pilot.press("enter")
            await pilot.pause(0.3)
            assert screen.streaming  # the server has not answered yet
            text = screen_text(pilot.app)
            assert "Anyone there" in text and "waiting for the first token" in text
            assert "streaming — Esc stops" in text
            await turn_done(pilot, screen)
            assert shown(answers(screen)[-1]) == "Late"

        drive(MagituiApp(), scenario, size=(120, 30))


def test_a_redone_answer_replaces_the_one_shown(write_config) -> None:  # type: ignore[no-untyped-def]
    with scripted_server(Script(["Hello", " world"])) as server:
        with_teacher(write_config, server.base_url, "scripted")

        async def scenario(pilot: Pilot[None]) -> None:
            screen = await open_chat(pilot)
            await wait_until(pilot, lambda: screen._clients, "the endpoint's client, made ahead")
            made_ahead = list(screen._clients.values())
            await send(pilot, screen, "Say hello")
            await send(pilot, screen, "Again")
            assert list(screen._clients.values()) == made_ahead  # the turns used it
            first, second = answers(screen)
            assert shown(first) == first.text == shown(second) == "Hello world"
            server.script = Script(["Bonjour"])
            await pilot.press("escape", "r")
            await turn_done(pilot, screen)
            assert [shown(answer) for answer in answers(screen)] == ["Hello world", "Bonjour"]
            assert screen.conversations[0].turns[-1]["content"] == "Bonjour"
            # A redo that fails puts the answer back as it was.
            server.script = Script(refuse={"model"})
            await pilot.press("r")
            await turn_done(pilot, screen)
            assert shown(answers(screen)[-1]) == "Bonjour" and "failed" in screen_text(pilot.app)
            assert [e.user_text for e in screen.exchanges()] == ["Say hello", "Again"]

        drive(MagituiApp(), scenario, size=(120, 30))


def test_magicoder_format_sends_exactly_the_raw_prompt_shown(write_config) -> None:  # type: ignore[no-untyped-def]
    with scripted_server() as server:
        with_teacher(write_config, server.base_url, "scripted")

        async def scenario(pilot: Pilot[None]) -> None:
            screen = await open_chat(pilot)
            await pilot.press("f")
            assert screen.pane.a.prompt_format == "magicoder"
            assert "magicoder prompt" in screen_text(pilot.app)
            await pilot.press("enter")
            await type_text(pilot, "Write add")
            await pilot.press("escape", "p")
            shown = screen.raw_prompt_text()
            expected = render_chat([{"role": "user", "content": "Write add"}])
            assert shown.endswith("\n" + expected) and "sent exactly as shown" in shown
            await pilot.press("p")
            await send(pilot, screen, "")  # the draft is still in the box
            ((path, body),) = server.requests
            assert path == "/v1/completions" and body["prompt"] == expected
            await pilot.press("escape", "p")
            after = screen.raw_prompt_text()
            assert "Exactly the text of the last request" in after
            assert after.endswith("\n" + expected)
            await pilot.press("p", "f")
            assert screen.pane.a.prompt_format == "template"

        drive(MagituiApp(), scenario, size=(100, 30))


def test_the_screen_can_be_told_its_endpoint(tiny_model_folder: Path) -> None:
    """As `magitui demo` does: the endpoint given wins over the ones found around."""

    async def scenario(pilot: Pilot[None]) -> None:
        screen = ChatScreen(endpoint=Endpoint("demo", "http://127.0.0.1:8123/v1", "demo-model"))
        await pilot.app.push_screen(screen)
        await settle(pilot)
        assert (screen.pane.a.base_url, screen.pane.a.model) == (
            "http://127.0.0.1:8123/v1",
            "demo-model",
        )
        assert screen.pane.a.prompt_format == "template"
        assert "demo-model" in screen_text(pilot.app)
        # A model folder here without a chat template (a base model): the magicoder format.
        screen.select_endpoint("http://127.0.0.1:8124/v1", str(tiny_model_folder))
        assert screen.pane.a.prompt_format == "magicoder"
        assert "magicoder prompt" in screen_text(pilot.app)
        screen.select_endpoint("http://127.0.0.1:8124/v1", "m", prompt_format="template")
        assert screen.pane.a.prompt_format == "template"
        with pytest.raises(ValueError, match="prompt format 'x' — use one of template"):
            screen.select_endpoint("http://127.0.0.1:8124/v1", "m", prompt_format="x")

    drive(MagituiApp(), scenario, size=(100, 30))


@pytest.fixture
def tiny_model_folder(tmp_path: Path) -> Path:
    """What a base model folder holds for the pane: a tokenizer config, no chat template."""
    folder = tmp_path / "base-model"
    folder.mkdir()
    (folder / "tokenizer_config.json").write_text('{"bos_token": "<s>", "eos_token": "</s>"}')
    return folder


def test_a_server_that_is_down_is_an_inline_error_and_the_prompt_comes_back(write_config) -> None:  # type: ignore[no-untyped-def]
    with_teacher(write_config, "http://127.0.0.1:9/v1", "m")  # port 9: nothing listens

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        await send(pilot, screen, "are you there")
        assert "cannot reach http://127.0.0.1:9/v1" in screen_text(pilot.app)
        assert box(screen).text == "are you there" and screen.input_focused
        assert screen.conversations[0].turns == [] and answers(screen) == []

    drive(MagituiApp(), scenario, size=(120, 30))


# ---- against a real model server -------------------------------------------------------------
def answers(screen: ChatScreen) -> list[AnswerView]:
    return [answer for exchange in screen.exchanges() for answer in exchange.answers]


def shown(answer: AnswerView) -> str:
    """The markdown the answer's widget holds: what is on screen, not what was received."""
    return answer.query_one(Markdown).source


async def send(pilot: Pilot[None], screen: ChatScreen, text: str) -> None:
    box(screen).focus()
    await type_text(pilot, text)
    await pilot.press("enter")
    await turn_done(pilot, screen)


async def turn_done(pilot: Pilot[None], screen: ChatScreen) -> None:
    await pilot.pause()
    await wait_until(
        pilot, lambda: not screen.streaming and screen._turn is None, "the turn to end", 120
    )
    await settle(pilot)


def set_sampling(screen: ChatScreen, **changes: object) -> None:
    screen._set_pane(replace(screen.pane, a=replace(screen.pane.a, **changes)))


@pytest.mark.slow
def test_streams_an_answer_from_the_configured_endpoint(
    tiny_model_server: tuple[str, str], write_config
) -> None:  # type: ignore[no-untyped-def]
    base_url, model = tiny_model_server
    with_teacher(write_config, base_url, model)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        assert screen.pane.a.base_url == base_url and screen.pane.a.model == model
        set_sampling(screen, max_tokens=8)
        await send(pilot, screen, "Write add")
        (answer,) = answers(screen)
        turns = screen.conversations[0].turns
        assert turns[0] == {"role": "user", "content": "Write add"}
        assert turns[1] == {"role": "assistant", "content": answer.text}
        assert answer.stats is not None and answer.stats.finish_reason in ("length", "stop")
        assert answer.stats.first_token_s is not None
        text = screen_text(pilot.app)
        assert "first token" in text and "finish" in text and "1 turn ·" in text
        await send(pilot, screen, "And subtract")  # multi-turn: history goes with it
        assert [t["role"] for t in screen.conversations[0].turns] == ["user", "assistant"] * 2

    drive(MagituiApp(), scenario, size=(100, 30))


@pytest.mark.slow
def test_escape_stops_and_keeps_the_partial_answer(
    tiny_model_server: tuple[str, str], write_config
) -> None:  # type: ignore[no-untyped-def]
    with_teacher(write_config, *tiny_model_server)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        set_sampling(screen, max_tokens=2000)
        await pilot.press("enter")  # into the box
        await type_text(pilot, "Go on forever")
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(a.text for a in answers(screen)), "first tokens")
        await pilot.press("escape")
        await turn_done(pilot, screen)
        (answer,) = answers(screen)
        assert answer.stopped and answer.stats is None
        assert screen.conversations[0].turns == [
            {"role": "user", "content": "Go on forever"},
            {"role": "assistant", "content": answer.text},
        ]
        assert "stopped" in screen_text(pilot.app)
        assert screen.input_focused  # Escape stopped the answer; it did not leave the box

    drive(MagituiApp(), scenario, size=(100, 30))


@pytest.mark.slow
def test_regenerate_edit_and_resend(tiny_model_server: tuple[str, str], write_config) -> None:  # type: ignore[no-untyped-def]
    with_teacher(write_config, *tiny_model_server)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        set_sampling(screen, max_tokens=6, temperature=1.0)
        await send(pilot, screen, "First")
        await pilot.press("escape", "r")
        await turn_done(pilot, screen)
        (answer,) = answers(screen)
        turns = screen.conversations[0].turns
        assert len(turns) == 2 and turns[1]["content"] == answer.text
        assert answer.stats is not None
        await pilot.press("e")
        await settle(pilot)
        assert box(screen).text == "First" and screen.input_focused
        # Escape gives up the edit: the last turn was never removed.
        await type_text(pilot, " changed my mind")
        await pilot.press("escape")
        await settle(pilot)
        assert screen.conversations[0].turns == turns and len(answers(screen)) == 1
        assert box(screen).text == "" and "edit cancelled" in screen_text(pilot.app)
        await pilot.press("e")
        await settle(pilot)
        assert len(turns) == 2 and len(answers(screen)) == 1  # still there while editing
        await type_text(pilot, " edited")
        await pilot.press("enter")
        await turn_done(pilot, screen)
        assert screen.conversations[0].turns[0] == {"role": "user", "content": "First edited"}
        assert len(answers(screen)) == 1

    drive(MagituiApp(), scenario, size=(100, 30))


@pytest.mark.slow
def test_a_refused_request_is_inline_and_the_prompt_comes_back(
    tiny_model_server: tuple[str, str], write_config
) -> None:  # type: ignore[no-untyped-def]
    base_url, _ = tiny_model_server
    with_teacher(write_config, base_url, "no-such-model")

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        await send(pilot, screen, "hello there")
        text = screen_text(pilot.app)
        assert "has no model 'no-such-model'" in text
        assert box(screen).text == "hello there"
        assert screen.conversations[0].turns == []
        assert answers(screen) == []

    drive(MagituiApp(), scenario, size=(120, 30))


@pytest.mark.slow
def test_length_offers_continue(tiny_model_server: tuple[str, str], write_config) -> None:  # type: ignore[no-untyped-def]
    with_teacher(write_config, *tiny_model_server)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        set_sampling(screen, max_tokens=3)
        await send(pilot, screen, "Write a long story")
        (answer,) = answers(screen)
        assert answer.stats is not None and answer.stats.finish_reason == "length"
        assert "cut at max tokens — n continues" in screen_text(pilot.app)
        first = answer.text
        await pilot.press("escape", "n")
        await turn_done(pilot, screen)
        (answer,) = answers(screen)  # the same answer, grown
        assert answer.text.startswith(first) and len(answer.text) > len(first)
        assert screen.conversations[0].turns == [
            {"role": "user", "content": "Write a long story"},
            {"role": "assistant", "content": answer.text},
        ]

    drive(MagituiApp(), scenario, size=(100, 30))


@pytest.mark.slow
def test_compare_streams_two_endpoints_side_by_side(
    tiny_model_server: tuple[str, str], write_config
) -> None:  # type: ignore[no-untyped-def]
    base_url, model = tiny_model_server
    with_teacher(write_config, base_url, model)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        set_sampling(screen, max_tokens=6)
        await send(pilot, screen, "Before compare")
        await pilot.press("escape", "o")
        dialog = pilot.app.screen
        assert isinstance(dialog, ChatSettingsScreen)
        dialog.query_one("#url-b", Input).value = base_url
        dialog.query_one("#url-b", Input).focus()
        await pilot.press("ctrl+l")  # the models B's endpoint serves
        await wait_until(
            pilot, lambda: dialog.query_one(OptionList).option_count > 1, "the models list"
        )
        await pilot.press("enter")  # the first model: picked for B, the endpoint being edited
        assert dialog.query_one("#model-b", Input).value == model
        await pilot.click("#apply")
        await settle(pilot)
        assert screen.compare
        await send(pilot, screen, "Compare me")
        last = screen.exchanges()[-1]
        assert len(last.answers) == 2
        assert all(a.stats is not None for a in last.answers)
        for conversation, answer in zip(screen.conversations, last.answers, strict=True):
            assert conversation.settings.base_url == base_url
            assert conversation.turns[0]["content"] == "Before compare"
            assert conversation.turns[-1] == {"role": "assistant", "content": answer.text}
        text = screen_text(pilot.app)
        assert "A · " in text and "B · " in text

    drive(MagituiApp(), scenario, size=(120, 36))


@pytest.mark.slow
def test_transcripts_save_to_the_run_and_load_back(
    tiny_model_server: tuple[str, str], write_config
) -> None:  # type: ignore[no-untyped-def]
    with_teacher(write_config, *tiny_model_server)
    ctx = open_context()
    ctx.workspace.create_run("run-chat")
    app = MagituiApp(context=ctx)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        set_sampling(screen, max_tokens=5, system="Be brief.")
        await send(pilot, screen, "Hello")
        await send(pilot, screen, "Again")
        saved_turns = [dict(t) for t in screen.conversations[0].turns]
        await pilot.press("escape", "w")
        chats = ctx.workspace.run_path("run-chat") / "chats"
        (json_file,) = chats.glob("*.json")
        assert json.loads(json_file.read_text())["turns"] == saved_turns
        assert "## You\n\nHello" in json_file.with_suffix(".md").read_text()
        await pilot.press("x", "y")
        await settle(pilot)
        assert answers(screen) == []
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.conversations[0].turns == saved_turns
        assert screen.conversations[0].settings.system == "Be brief."
        assert [a.text for a in answers(screen)] == [
            saved_turns[1]["content"],
            saved_turns[3]["content"],
        ]
        await send(pilot, screen, "Third")  # a loaded chat goes on
        assert len(screen.conversations[0].turns) == 6

    drive(app, scenario, size=(100, 30))


@pytest.mark.slow
def test_a_running_serve_job_is_the_endpoint_the_pane_picks(
    tiny_chat_model: Path, ctx: Context
) -> None:
    """The user's path: a model served as a magitui job, then Chat, with nothing typed."""
    import sys
    import time

    from magitui_core.chat.endpoints import EndpointError, served_models

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    serve = Path(sys.executable).parent / "transformers"
    command = [
        str(serve),
        "serve",
        str(tiny_chat_model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    job = ctx.jobs.start(command, name="serve tiny", kind="serve")
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            assert served_models(base_url, timeout=2) == [str(tiny_chat_model)]
            break
        except EndpointError:
            assert ctx.jobs.get(job.id).is_live, "\n".join(ctx.jobs.get(job.id).tail(20))
            assert time.monotonic() < deadline, "the serve job did not get ready"
            time.sleep(0.5)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        assert (screen.pane.a.base_url, screen.pane.a.model) == (base_url, str(tiny_chat_model))
        assert screen.endpoints[0].label == f"job {job.id}"
        set_sampling(screen, max_tokens=4)
        await send(pilot, screen, "hello")
        assert answers(screen)[0].stats is not None
        await pilot.press("escape", "p")  # the model's template is the training prompt
        assert "the server sends this" in screen_text(pilot.app)

    drive(MagituiApp(context=ctx), scenario, size=(100, 30))


@pytest.mark.slow
def test_when_one_side_fails_both_histories_stay_as_they_were(
    tiny_model_server: tuple[str, str], write_config
) -> None:  # type: ignore[no-untyped-def]
    from magitui.screens.chat.settings import PaneSettings

    base_url, model = tiny_model_server
    with_teacher(write_config, base_url, model)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_chat(pilot)
        set_sampling(screen, max_tokens=4)
        await send(pilot, screen, "Kept")
        kept = [dict(turn) for turn in screen.conversations[0].turns]
        first_answer = answers(screen)[0].text
        # Regenerating against a model the server does not have: the old answer comes back.
        screen._settings_chosen(PaneSettings(replace(screen.pane.a, model="no-such-model")))
        await pilot.press("escape", "r")
        await turn_done(pilot, screen)
        assert "has no model 'no-such-model'" in screen_text(pilot.app)
        assert screen.conversations[0].turns == kept
        assert [a.text for a in answers(screen)] == [first_answer]
        # A/B where B fails: A's answer is taken back as well, and the prompt returns.
        screen._settings_chosen(
            PaneSettings(replace(screen.pane.a, model=model), (base_url, "nope"))
        )
        assert screen.compare
        await send(pilot, screen, "Both or neither")
        assert "B · nope: " in screen_text(pilot.app)
        assert [c.turns for c in screen.conversations] == [kept, kept]
        assert box(screen).text == "Both or neither"

    drive(MagituiApp(), scenario, size=(140, 36))

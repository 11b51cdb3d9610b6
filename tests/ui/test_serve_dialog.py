"""The serve dialog: models refused under the field before any job starts, a missing engine
explained in the app's words, Escape before a start; and, with a real `transformers serve` of
the tiny model (slow), Chat's v serving it and chatting with it at once, Escape while it loads
leaving the server job loading, and a server that dies before it is ready."""

from __future__ import annotations

import importlib.util
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from pilot_helpers import drive, notifications, screen_text, settle, wait_until
from textual.pilot import Pilot
from textual.widgets import Input, RadioButton, Static

from magitui.app import MagituiApp
from magitui.screens.chat.prompt_input import ChatInput
from magitui.screens.chat.screen import ChatScreen
from magitui.screens.help import HelpScreen
from magitui.widgets.serve_dialog import ServeModelScreen
from magitui_core.chat.client import ChatSettings, Conversation
from magitui_core.chat.endpoints import Endpoint
from magitui_core.context import Context
from magitui_core.generation.local_teacher import ENDPOINT_FILE

VLLM_HERE = importlib.util.find_spec("vllm") is not None or shutil.which("vllm") is not None
LOAD_TIMEOUT = 180.0


async def open_dialog(
    pilot: Pilot[None], results: list[Endpoint | None], model: str = ""
) -> ServeModelScreen:
    dialog = ServeModelScreen(model=model)
    await pilot.app.push_screen(dialog, results.append)
    await settle(pilot)
    assert pilot.app.screen is dialog
    return dialog


def error_text(dialog: ServeModelScreen) -> str:
    error = dialog.query_one("#serve-error", Static)
    return str(error.content) if error.display else ""


async def start(pilot: Pilot[None], dialog: ServeModelScreen) -> None:
    dialog.query_one("#serve-model", Input).focus()
    await pilot.press("enter")


async def choose_engine(pilot: Pilot[None], engine: str) -> None:
    await pilot.click(f"#engine-{engine}")
    assert pilot.app.screen.query_one(f"#engine-{engine}", RadioButton).value


async def refused(pilot: Pilot[None], dialog: ServeModelScreen) -> str:
    await wait_until(pilot, lambda: error_text(dialog), "the refusal under the field")
    await settle(pilot)
    return error_text(dialog)


# ---- refused before anything starts ----------------------------------------------------------
def test_a_missing_folder_is_refused_under_the_field(ctx: Context, tmp_path: Path) -> None:
    missing = str(tmp_path / "runs" / "gone" / "checkpoints" / "final")
    results: list[Endpoint | None] = []

    async def scenario(pilot: Pilot[None]) -> None:
        dialog = await open_dialog(pilot, results, model=missing)
        await start(pilot, dialog)
        message = await refused(pilot, dialog)
        assert f"model folder {missing} does not exist" in message
        assert pilot.app.screen is dialog and results == []
        assert dialog.query_one("#serve-model", Input).value == missing  # nothing lost
        assert dialog.query_one("#serve-model", Input).has_focus
        await pilot.press("x")  # typing clears the old complaint
        assert error_text(dialog) == ""

    drive(MagituiApp(context=ctx), scenario)
    assert ctx.jobs.list_jobs() == []


def test_a_folder_without_config_json_is_refused(ctx: Context, tmp_path: Path) -> None:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    results: list[Endpoint | None] = []

    async def scenario(pilot: Pilot[None]) -> None:
        dialog = await open_dialog(pilot, results)
        await pilot.press(*str(folder))
        await start(pilot, dialog)
        message = await refused(pilot, dialog)
        assert f"{folder} has no config.json" in message
        assert "checkpoints/final" in message  # says what a model folder is
        assert "has no config.json" in screen_text(pilot.app)  # shown, not only stored
        assert dialog.query_one("#serve-model", Input).value == str(folder)
        assert not dialog.query_one("#serve-start").disabled  # ready for another try
        await pilot.press("escape")
        await settle(pilot)
        assert results == [None]

    drive(MagituiApp(context=ctx), scenario)
    assert ctx.jobs.list_jobs() == []


def test_escape_before_start_cancels_and_starts_nothing(ctx: Context) -> None:
    results: list[Endpoint | None] = []

    async def scenario(pilot: Pilot[None]) -> None:
        await open_dialog(pilot, results, model="org/some-model")
        await pilot.press("escape")
        await settle(pilot)
        assert results == [None]
        assert not isinstance(pilot.app.screen, ServeModelScreen)
        assert notifications(pilot.app) == []  # no job: nothing to tell

    drive(MagituiApp(context=ctx), scenario)
    assert ctx.jobs.list_jobs() == []


@pytest.mark.skipif(VLLM_HERE, reason="vllm is installed here: its absence cannot be shown")
def test_a_missing_engine_names_its_install_in_the_apps_words(ctx: Context, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    results: list[Endpoint | None] = []

    async def scenario(pilot: Pilot[None]) -> None:
        dialog = await open_dialog(pilot, results, model=str(model))
        await choose_engine(pilot, "vllm")
        await start(pilot, dialog)
        message = await refused(pilot, dialog)
        assert message.startswith("vllm is not installed")
        assert "pip install vllm" in message
        assert "choose transformers as engine" in message
        assert "--engine" not in message  # no command-line flag in the app
        assert dialog.query_one("#engine-vllm", RadioButton).value  # the choice is kept
        assert dialog.query_one("#serve-model", Input).value == str(model)
        assert results == [] and pilot.app.screen is dialog

    drive(MagituiApp(context=ctx), scenario)
    assert ctx.jobs.list_jobs() == []


def test_the_dialog_offers_the_trained_models_and_says_what_auto_is(ctx: Context) -> None:
    final = ctx.workspace.runs_dir / "run-a" / "checkpoints" / "final"
    final.mkdir(parents=True)
    (final / "config.json").write_text("{}")
    results: list[Endpoint | None] = []

    async def scenario(pilot: Pilot[None]) -> None:
        dialog = await open_dialog(pilot, results)
        suggester = dialog.query_one("#serve-model", Input).suggester
        assert suggester is not None
        assert await suggester.get_suggestion(str(final)[:-3]) == str(final)
        auto = str(dialog.query_one("#engine-auto", RadioButton).label)
        assert auto in ("auto (vllm)", "auto (transformers)")

    drive(MagituiApp(context=ctx), scenario)


# ---- Chat's key ------------------------------------------------------------------------------
def test_chat_tells_of_v_when_no_server_is_known_and_v_opens_the_dialog() -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("c")
        await settle(pilot)
        chat = pilot.app.screen
        assert isinstance(chat, ChatScreen)
        text = screen_text(pilot.app)
        assert "No model server is running here. Press v to serve" in text
        assert "v Serve" in text.splitlines()[-1]  # in the footer
        chat.query_one(ChatInput).focus()
        await pilot.press("v")  # in the box, a letter
        assert chat.query_one(ChatInput).text == "v" and pilot.app.screen is chat
        await pilot.press("escape", "v")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ServeModelScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is chat and chat.pane.a.model == ""
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HelpScreen)
        assert "Serve" in screen_text(pilot.app)

    drive(MagituiApp(), scenario)


def test_with_answers_v_leaves_the_footer_to_redo_edit_copy_and_still_opens_the_dialog(
    tmp_path: Path,
) -> None:
    saved = tmp_path / "chat.json"
    conversation = Conversation(ChatSettings("http://127.0.0.1:9/v1", "m"))
    conversation.turns = [
        {"role": "user", "content": "add"},
        {"role": "assistant", "content": "```python\nx = 1\n```"},
    ]
    conversation.save(saved)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("c")
        await settle(pilot)
        chat = pilot.app.screen
        assert isinstance(chat, ChatScreen)
        await chat.load_transcript(saved)
        await settle(pilot)
        footer = screen_text(pilot.app).splitlines()[-1]
        assert "r Redo" in footer and "y Copy" in footer and "hsgdtmc" in footer
        assert "v Serve" not in footer  # at 80 columns it would push the sections out
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ServeModelScreen)

    drive(MagituiApp(), scenario)


# ---- a real server ---------------------------------------------------------------------------
def server_jobs(ctx: Context) -> list:  # type: ignore[type-arg]
    return [job for job in ctx.jobs.list_jobs() if job.status.kind == "serve"]


@pytest.mark.slow
def test_chat_v_serves_a_model_and_chats_with_it_at_once(
    ctx: Context, tiny_chat_model: Path
) -> None:
    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("c")
        await settle(pilot)
        chat = pilot.app.screen
        assert isinstance(chat, ChatScreen)
        await pilot.press("v")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, ServeModelScreen)
        await pilot.press(*str(tiny_chat_model))
        await choose_engine(pilot, "transformers")
        await start(pilot, dialog)
        # No settle while it loads: it waits for every worker, the serve one included.
        await wait_until(
            pilot, lambda: "loading the model" in screen_text(pilot.app), "progress", 30
        )
        (job,) = server_jobs(ctx)
        text = screen_text(pilot.app)
        assert f"job {job.id}" in text and "with transformers…" in text
        assert dialog.query_one("#serve-model", Input).disabled
        await wait_until(pilot, lambda: pilot.app.screen is chat, "the server", LOAD_TIMEOUT)
        await settle(pilot)
        endpoint = json.loads((job.dir / ENDPOINT_FILE).read_text())
        assert (chat.pane.a.base_url, chat.pane.a.model) == (
            endpoint["base_url"],
            str(tiny_chat_model),
        )
        assert endpoint["engine"] == "transformers"
        assert ("information", "Model served") in [n[:2] for n in notifications(pilot.app)]
        assert "No model server is running" not in screen_text(pilot.app)
        chat._set_pane(replace(chat.pane, a=replace(chat.pane.a, max_tokens=4)))
        chat.query_one(ChatInput).focus()
        await pilot.press(*"hello", "enter")
        await pilot.pause()
        await wait_until(pilot, lambda: not chat.streaming, "the answer", 120)
        await settle(pilot)
        assert [t["role"] for t in chat.conversations[0].turns] == ["user", "assistant"]

    drive(MagituiApp(context=ctx), scenario, size=(100, 30))
    (job,) = server_jobs(ctx)
    assert ctx.jobs.get(job.id).is_live  # the server outlives the app; the fixture stops it


@pytest.mark.slow
def test_escape_while_loading_leaves_the_server_loading(
    ctx: Context, tiny_chat_model: Path
) -> None:
    results: list[Endpoint | None] = []

    async def scenario(pilot: Pilot[None]) -> None:
        dialog = await open_dialog(pilot, results, model=str(tiny_chat_model))
        await choose_engine(pilot, "transformers")
        await start(pilot, dialog)
        await wait_until(pilot, lambda: dialog._state == "loading", "the job to start", 30)
        await pilot.press("escape")
        await pilot.pause()
        assert results == [None] and pilot.app.screen is not dialog
        ((_severity, title, message),) = notifications(pilot.app)
        (job,) = server_jobs(ctx)
        assert title == "Server still loading" and job.id in message
        assert "Home › jobs, select it, k" in message
        assert job.is_live

    drive(MagituiApp(context=ctx), scenario)
    (job,) = server_jobs(ctx)
    assert ctx.jobs.get(job.id).is_live  # closing the dialog, and the app, stopped nothing


@pytest.mark.slow
def test_a_server_that_dies_is_explained_in_the_dialog(ctx: Context, tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")  # a config transformers cannot load
    results: list[Endpoint | None] = []

    async def scenario(pilot: Pilot[None]) -> None:
        dialog = await open_dialog(pilot, results, model=str(broken))
        await choose_engine(pilot, "transformers")
        await start(pilot, dialog)
        message = await wait_for_error(pilot, dialog)
        (job,) = server_jobs(ctx)
        assert f"the server job {job.id} ended (failed) before it was ready" in message
        assert "Home › jobs, Enter on it" in message
        assert "magitui jobs" not in message  # the app's words, not the command line's
        assert dialog.query_one("#serve-model", Input).value == str(broken)
        assert not dialog.query_one("#serve-model", Input).disabled
        assert not dialog.query_one("#serve-progress").display
        assert results == [] and pilot.app.screen is dialog

    drive(MagituiApp(context=ctx), scenario)


async def wait_for_error(pilot: Pilot[None], dialog: ServeModelScreen) -> str:
    await wait_until(pilot, lambda: error_text(dialog), "the failure", LOAD_TIMEOUT)
    await settle(pilot)
    return error_text(dialog)

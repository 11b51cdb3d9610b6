"""Chat: talk to any OpenAI-compatible endpoint (a served checkpoint, vLLM, OpenAI), stream
markdown answers, and compare two endpoints side by side on the same prompt.

Which endpoint: the first server job or configured teacher found, unless one is given —
``ChatScreen(endpoint=Endpoint(...))`` or ``select_endpoint(base_url, model)`` (as `magitui demo`
does after serving a model, and v after serving one from the serve dialog).

The screen routes: each answer streams into its own AnswerView from a thread worker running
magitui_core.chat.client.ChatClient (the same client as `magitui chat`). Single-letter keys act only
while the prompt box is not focused, so typing never triggers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import threading
import time
from collections.abc import Generator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from markdown_it import MarkdownIt
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from magitui.screens.base import MagituiScreen
from magitui.screens.chat.chat_log import ChatLog
from magitui.screens.chat.message import AnswerView, Exchange
from magitui.screens.chat.prompt_input import ChatInput
from magitui.screens.chat.settings import ChatSettingsScreen, PaneSettings
from magitui.screens.chat.transcripts import TranscriptPickerScreen
from magitui.widgets.confirm import ConfirmScreen
from magitui.widgets.serve_dialog import ServeModelScreen
from magitui_core.chat.client import ChatError, ChatSettings, Conversation, TurnStats
from magitui_core.chat.endpoints import (
    Endpoint,
    chats_dir,
    known_endpoints,
    list_transcripts,
    model_chat_template,
    transcript_path,
)
from magitui_core.chat.prompt_format import (
    PROMPT_FORMATS,
    lacks_chat_template,
    magicoder_prompt,
    template_prompt,
    tokenizer_adds_bos,
)
from magitui_core.prompts import CHAT_TEMPLATE

if TYPE_CHECKING:
    from textual.widget import AwaitMount, Widget

    from magitui_core.chat.client import ChatClient

FORCE_STOP_AFTER_S = 2.0
# How long Enter may hold the screen still while the request is written (see _launch).
REQUEST_HEAD_START_S = 0.01
# How long the frame after Enter may wait for the first token, to show both (see _hold_frame).
FIRST_FRAME_HOLD_S = 0.02
# How long loading a transcript waits for its 'loading…' line to be drawn.
STATUS_DRAWN_WITHIN_S = 0.5
DEFAULT_URL = "http://127.0.0.1:8000/v1"
HINT = (
    "No messages yet. Press Enter (or i) to type, then Enter to send.\n"
    "Outside the box (Esc leaves it): o model & settings · v serve a model · b compare A/B · "
    "r regenerate · e edit last · n continue · y copy code · p raw prompt · f prompt format · "
    "w save · l load · x new chat · ? all keys"
)
NO_ENDPOINT_HINT = (
    "No model server is running here. Press v to serve a trained model or a base model, "
    "or o to type the address of one.\n\n"
)
MORE_KEYS = "v serve a model · w save · l load · p raw prompt · f format · x new chat"
# Actions bound to plain letters: off while the prompt box has focus, where letters are text.
LETTER_ACTIONS = frozenset(
    {
        "focus_input",
        "settings",
        "regenerate",
        "edit_last",
        "continue",
        "copy_code",
        "raw_prompt",
        "toggle_compare",
        "save",
        "load",
        "new_chat",
        "prompt_format",
        "serve_model",
    }
)

BUSY_WHILE_STREAMING = frozenset(
    {
        "regenerate",
        "edit_last",
        "continue",
        "load",
        "new_chat",
        "settings",
        "toggle_compare",
        "save",
        "prompt_format",
        "serve_model",
    }
)

Action = Literal["send", "regenerate", "continue"]


def last_code_block(text: str) -> str | None:
    """The last fenced or indented code block of a markdown answer."""
    blocks = [t.content for t in MarkdownIt().parse(text) if t.type in ("fence", "code_block")]
    return blocks[-1] if blocks else None


class ChatScreen(MagituiScreen):
    CSS_PATH = "screen.tcss"
    TITLE_TEXT = "Chat"
    # The log, not the box: on arrival the section keys and Escape (Home) work as on every
    # screen; Enter or i goes to the box.
    AUTO_FOCUS = "#chat-log"
    BINDINGS = [
        # Escape: stop the answer, else leave the box, else (the app's binding) go Home.
        Binding("escape", "stop", "Stop"),
        Binding("escape", "leave_box", "Leave box"),
        Binding("enter", "focus_input", "Type"),
        Binding("i", "focus_input", "Type", show=False),
        Binding("o", "settings", "Model"),
        Binding("v", "serve_model", "Serve"),
        Binding("b", "toggle_compare", "A/B"),
        Binding("r", "regenerate", "Redo"),
        Binding("e", "edit_last", "Edit"),
        Binding("y", "copy_code", "Copy"),
        # Kept out of the footer (full at 80 columns); the status line names them.
        Binding("n", "continue", "Continue", show=False),
        Binding("w", "save", "Save", show=False),
        Binding("p", "raw_prompt", "Raw prompt", show=False),
        Binding("l", "load", "Load", show=False),
        Binding("x", "new_chat", "New chat", show=False),
        Binding("f", "prompt_format", "Prompt format", show=False),
        # Once there is an answer, r e y need the footer's room: v works on, from the help
        # and the status line (check_action lets one of the two through).
        Binding("v", "serve_model(True)", "Serve", show=False),
    ]

    def __init__(
        self,
        endpoint: Endpoint | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``endpoint``: talk to it from the start, rather than to the first one found."""
        super().__init__(name=name, id=id, classes=classes)
        self.pane = PaneSettings(ChatSettings(DEFAULT_URL, ""))
        self.compare = False
        self.conversations = [Conversation(self.pane.a)]
        self.endpoints: list[Endpoint] = []
        self.run_name: str | None = None
        self.api_key: str | None = None
        self._chosen = False  # the user (or a transcript) picked the endpoint: keep it
        self._looked = False  # known endpoints were looked for at least once
        self._editing_last = False  # e was pressed: Enter replaces the last turn, Esc keeps it
        self._live: set[AnswerView] = set()
        self._stop = threading.Event()
        self._turn: tuple[Action, str, Exchange, list[str]] | None = None
        self._errors: list[str] = []
        self._before: list[list[dict[str, str]]] = []
        self._sides = 1
        # One client per conversation and endpoint: its HTTP connection is reused across turns.
        self._clients: dict[tuple[int, str, str | None], ChatClient] = {}
        self._streaming_clients: dict[AnswerView, ChatClient] = {}  # what Escape cuts
        self._previous_stats: list[TurnStats | None] = []
        self._spare: Exchange | None = None  # the next turn's exchange, mounted hidden
        self._frame_hold: ExitStack | None = None  # drawing held back after Enter
        if endpoint is not None:
            self.select_endpoint(endpoint.base_url, endpoint.model)

    # ---- layout ----------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        yield Static("", id="chat-endpoint")
        with ChatLog(id="chat-log"):
            yield Static(HINT, id="chat-empty", markup=False)
        with VerticalScroll(id="chat-raw"):
            yield Static("", id="chat-raw-text", markup=False)
        yield Static("", id="chat-status")
        yield ChatInput(id="chat-input")

    def on_mount(self) -> None:
        self.query_one("#chat-raw").display = False
        self._status(f"[$text-muted]{MORE_KEYS}[/]")
        self._show_header()  # endpoints are looked for on screen resume, the first show included
        self.call_after_refresh(self._prepare_spare)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="chat-endpoints",
        name="list chat endpoints",
    )
    def _look_around(self) -> None:
        with contextlib.suppress(ImportError):  # warm it here, so the first Enter does not wait
            import openai  # noqa: F401

        from magitui_core import credentials

        endpoints = known_endpoints(self.ctx.config, self.ctx.jobs.list_jobs())
        runs = sorted(self.ctx.workspace.list_runs(), key=lambda run: run.created_at)
        api_key = credentials.resolve("openai_api_key").value
        self.app.call_from_thread(self._found, endpoints, runs[-1].name if runs else None, api_key)

    def on_screen_resume(self) -> None:
        # A model served since the pane was last shown becomes an endpoint to pick.
        self._look_around()

    def _found(self, endpoints: list[Endpoint], run: str | None, api_key: str | None) -> None:
        self.endpoints, self.run_name, self.api_key = endpoints, run, api_key
        self._looked = True
        if endpoints and not self._chosen:
            self._use_endpoint(endpoints[0].base_url, endpoints[0].model, None)
        self._show_header()
        made = self._client_key(self.conversations[0]) in self._clients
        if self.pane.a.model and not made:  # found again on each return to the pane
            threading.Thread(target=self._warm_client, name="chat client", daemon=True).start()

    def _warm_client(self) -> None:
        """Make the client of the endpoint shown now, in a thread: making it (its TLS
        context, the SDK's lazy imports) took the first turn about 60 ms."""
        with contextlib.suppress(Exception):  # the first turn makes it, and says what failed
            self._client_for(self.conversations[0]).warm()

    def _show_hint(self) -> None:
        # Until something can answer, the first thing to say is how to get a server.
        lost = self._looked and not self.endpoints and not self.pane.a.model
        hint = (NO_ENDPOINT_HINT if lost else "") + HINT
        self.query_one("#chat-empty", Static).update(hint)

    def select_endpoint(
        self,
        base_url: str,
        model: str,
        prompt_format: str | None = None,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> None:
        """Talk to ``model`` at ``base_url`` from the next turn on; endpoints found later do not
        replace it. ``prompt_format`` None: magicoder for a model folder here without a chat
        template (a base model), else the model's template. ``temperature`` / ``max_tokens``
        replace the pane's own when given."""
        if prompt_format is not None and prompt_format not in PROMPT_FORMATS:
            raise ValueError(
                f"prompt format {prompt_format!r} — use one of {', '.join(PROMPT_FORMATS)}"
            )
        self._chosen = True
        self._use_endpoint(base_url, model, prompt_format, temperature, max_tokens)
        if self.is_mounted:
            self._show_header()

    def _use_endpoint(
        self,
        base_url: str,
        model: str,
        prompt_format: str | None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> None:
        if prompt_format is None:
            prompt_format = "magicoder" if lacks_chat_template(model) else "template"
        a = self.pane.a
        a = dataclasses.replace(
            a,
            base_url=base_url,
            model=model,
            prompt_format=prompt_format,
            temperature=a.temperature if temperature is None else temperature,
            max_tokens=a.max_tokens if max_tokens is None else max_tokens,
        )
        self._set_pane(PaneSettings(a, self.pane.b))

    # ---- keys ------------------------------------------------------------------------------
    @property
    def input_focused(self) -> bool:
        return isinstance(self.focused, ChatInput)

    @property
    def streaming(self) -> bool:
        return bool(self._live)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return self.streaming
        if action == "leave_box":
            return self.input_focused and not self.streaming
        if action in LETTER_ACTIONS and self.input_focused:
            return False  # the letter is typed into the box instead
        # Hidden rather than dimmed when they cannot apply: at 80 columns the footer is full.
        if action in ("regenerate", "edit_last", "copy_code") and not self._has_answer():
            return False
        if action == "continue" and not self._cut_at_length():
            return False
        if action == "serve_model" and bool(parameters) != self._has_answer():
            return False
        if action in BUSY_WHILE_STREAMING:
            return None if self.streaming else True
        return True

    def binding_state(self) -> tuple[object, ...]:
        return (self.input_focused, self.streaming, self._has_answer(), self._cut_at_length())

    def on_descendant_focus(self) -> None:
        self.sync_bindings()

    def on_descendant_blur(self) -> None:
        self.sync_bindings()

    def action_stop(self) -> None:
        self.stop_generation()

    def action_leave_box(self) -> None:
        if self._editing_last:
            # Esc after e: the edit is dropped and the last turn, never removed, stays.
            self._editing_last = False
            box = self.query_one(ChatInput)
            box.text = ""
            self._status("edit cancelled — the last turn is kept")
        self.query_one("#chat-log").focus()

    def action_focus_input(self) -> None:
        self.query_one(ChatInput).focus()

    # ---- sending ---------------------------------------------------------------------------
    @on(ChatInput.Submitted)
    async def _submitted(self, event: ChatInput.Submitted) -> None:
        event.stop()
        text = event.text.strip()
        if not text or self.streaming:
            return
        if not self.pane.a.model:
            self._status(
                "[b $error]No model chosen[/] — press Esc then o to pick an endpoint and model"
            )
            return
        event.chat_input.clear()
        if self._editing_last:
            self._editing_last = False
            await self._drop_last_exchange()
        await self.start_turn("send", text)

    async def start_turn(self, action: Action, text: str) -> None:
        self._hold_frame()
        self._hide_raw()
        sides = self.conversations if self.compare else self.conversations[:1]
        labels = [self._label(index) for index in range(len(sides))]
        log = self.query_one("#chat-log", VerticalScroll)
        previous: list[str] = []
        new = False  # a new exchange to mount
        if action != "send":
            exchange = self.exchanges()[-1]
            previous = [answer.text for answer in exchange.answers]
            self._previous_stats = [answer.stats for answer in exchange.answers]
        else:
            spare = self._take_spare(text, labels)
            exchange = spare or Exchange(text, labels)
            new = spare is None
        self._turn = (action, text, exchange, previous)
        # The histories before this turn: what a forced stop rebuilds from.
        self._before = [copy.deepcopy(conversation.turns) for conversation in sides]
        self._sides = len(sides)
        self._errors = []
        self._stop.clear()
        # The request leaves first. An exchange that was not ready (no spare) is built
        # while the server thinks; its answers take their stream's pieces once mounted.
        self._launch(action, text, exchange, sides)
        if action == "send":
            self.query_one("#chat-empty").display = False
            if new:
                await self._add_to_log(exchange)
        log.anchor()  # follow the answer, until the reader scrolls up

    def _launch(
        self, action: Action, text: str, exchange: Exchange, sides: list[Conversation]
    ) -> None:
        sent: list[threading.Event] = []
        for answer, conversation in zip(exchange.answers, sides, strict=False):
            if action == "continue":
                if not _cut(answer):
                    continue  # in A/B, only a side that was cut carries on
                generation = answer.resume()
            else:
                generation = answer.start()
            self._live.add(answer)
            client = self._clients.get(self._client_key(conversation))
            if client is not None:  # a first turn's client is made, imports and all, in the thread
                sent.append(client.next_request_sent())
            # A daemon thread, not a Textual worker: the app waits for its workers on exit, and
            # a stream stalled in a blocking read (left behind by Escape) must not hold it up.
            threading.Thread(
                target=self._stream,
                args=(action, text, conversation, answer, generation),
                name="chat stream",
                daemon=True,
            ).start()
        # This thread steps aside until the requests are written (a millisecond or two):
        # drawing the new exchange would otherwise hold the GIL while they wait for it. A
        # request still connecting (TLS to a remote server) is not waited for past the cap.
        deadline = time.monotonic() + REQUEST_HEAD_START_S
        for event in sent:
            event.wait(max(0.0, deadline - time.monotonic()))
        self._status("[b $accent]streaming[/] — Esc stops")
        # The footer's keys change too: rebuilt once the held frame is drawn (_release_frame),
        # so that the first token does not wait for the rebuild. Esc works all along.

    def _stream(
        self,
        action: Action,
        text: str,
        conversation: Conversation,
        answer: AnswerView,
        generation: int,
    ) -> None:
        """Runs in a thread: the openai client is synchronous."""
        parts: list[str] = []
        stopped = False
        before = ""  # a continued answer's text so far
        try:
            client = self._client_for(conversation)
            self._streaming_clients[answer] = client
            if action == "send":
                stream = client.send(text)
            elif action == "regenerate":
                stream = client.regenerate()
            else:
                before = conversation.turns[-1]["content"]
                stream = client.continue_last()
            chunks = cast("Generator[str, None, None]", stream)
            try:
                for piece in chunks:
                    if self._stop.is_set():
                        stopped = True
                        break
                    parts.append(piece)
                    _post(answer, AnswerView.Chunk(piece, generation))
            finally:
                chunks.close()  # on stop, ChatClient puts the conversation back as it was
        except ChatError as exc:
            if not self._stop.is_set():
                _post(answer, AnswerView.Ended(None, generation, error=str(exc)))
                return
            stopped = True  # a stream cut by Escape (ChatClient.close): a stop, not an error
        except Exception as exc:  # unexpected: shown inline, so the pane stays usable
            _post(answer, AnswerView.Ended(None, generation, error=f"{type(exc).__name__}: {exc}"))
            return
        finally:
            self._streaming_clients.pop(answer, None)
        if stopped:
            _keep_partial(conversation, action, text, before + "".join(parts))
        stats = None if stopped else client.last
        _post(answer, AnswerView.Ended(stats, generation, stopped=stopped))

    def _client_for(self, conversation: Conversation) -> ChatClient:
        from magitui_core.chat.client import ChatClient

        key = self._client_key(conversation)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = ChatClient(conversation, api_key=self.api_key)
        return client

    def _hold_frame(self) -> None:
        """Draw nothing until the first piece of the answer is in, for FIRST_FRAME_HOLD_S at
        most: a quick server's first token then shows in the frame that shows the question.
        Drawing that frame first (a layout of the whole log) took the milliseconds in which
        the token came, and it waited for the frame to end."""
        if self._frame_hold is None:
            self._frame_hold = ExitStack()
            self._frame_hold.enter_context(self.app.batch_update())
            self.set_timer(FIRST_FRAME_HOLD_S, self._release_frame)

    @on(AnswerView.FirstPiece)
    def _first_piece(self, event: AnswerView.FirstPiece) -> None:
        event.stop()
        self._release_frame()

    def _release_frame(self) -> None:
        if self._frame_hold is not None:
            hold, self._frame_hold = self._frame_hold, None
            hold.close()
            self.sync_bindings()

    def on_unmount(self) -> None:
        if self._frame_hold is not None:
            self._frame_hold.close()

    def _client_key(self, conversation: Conversation) -> tuple[int, str, str | None]:
        return (id(conversation), conversation.settings.base_url, self.api_key)

    def stop_generation(self) -> None:
        self._stop.set()
        for answer in self._live:
            answer.stop()
            client = self._streaming_clients.get(answer)
            if client is not None:
                client.close()  # cuts the stream even when the server has gone silent
        self._status("[b $warning]stopping[/] — the partial answer is kept")
        # A request still waiting for the server's first bytes cannot be cut: left behind.
        self.set_timer(FORCE_STOP_AFTER_S, self._force_stop)

    def _force_stop(self) -> None:
        """Leave a stream stalled in a blocking read behind: its thread ends on its own later,
        writing only to a history the pane no longer uses."""
        if not self.streaming or not self._stop.is_set() or self._turn is None:
            return
        action, text, exchange, _ = self._turn
        for index, answer in enumerate(exchange.answers):
            if answer not in self._live:
                continue
            stale = self.conversations[index]
            fresh = Conversation(stale.settings, copy.deepcopy(self._before[index]))
            _keep_partial(fresh, action, text, answer.text)
            self.conversations[index] = fresh
            for key in [key for key in self._clients if key[0] == id(stale)]:
                del self._clients[key]
            answer.post_message(AnswerView.Ended(None, answer.generation, stopped=True))

    @on(AnswerView.Finished)
    def _answer_finished(self, event: AnswerView.Finished) -> None:
        event.stop()
        self._release_frame()  # an answer that ended before any text: an error, a stop
        answer = event.answer
        self._live.discard(answer)
        if answer.error:
            self._errors.append(f"{answer.label}: {answer.error}")
        if not self._live:
            self.call_after_refresh(self._turn_finished)
        self.sync_bindings()

    async def _turn_finished(self) -> None:
        if self._turn is None or self._live:
            return
        action, text, exchange, previous = self._turn
        self._turn = None
        self._prepare_spare()  # for the next turn, while the reader reads
        if not self._errors:
            stats = [a.stats for a in exchange.answers if a.stats is not None]
            cut = any(s.finish_reason == "length" for s in stats)
            stopped = any(a.stopped for a in exchange.answers)
            if cut:
                self._status("[b $warning]cut at max tokens[/] — n continues (Esc leaves the box)")
            elif stopped:
                self._status("[b $warning]stopped[/] — the partial answer is kept; r redoes it")
            else:
                self._status(f"[b $success]done[/] [$text-muted]· {MORE_KEYS}[/]")
            self._show_header()
            return
        # A failed turn leaves every conversation as it was, so A and B stay comparable.
        sides = self.conversations[: self._sides]
        for answer, conversation in zip(exchange.answers, sides, strict=False):
            if answer.error is None:  # answered or stopped: taken back too
                _undo_success(conversation, action, answer_previous(previous, answer, exchange))
        message = " · ".join(self._errors)
        log = self.query_one("#chat-log", VerticalScroll)
        if action == "send":
            await exchange.remove()
            box = self.query_one(ChatInput)
            if not box.text.strip():
                box.text = text  # the prompt is not lost
            box.focus()
        else:
            olds = zip(exchange.answers, previous, self._previous_stats, strict=False)
            for answer, old, old_stats in olds:
                answer.remove_class("-error")
                await answer.show_saved(old, old_stats, note="as before")
        await self._add_to_log(Static(Content(f"⚠ {message}"), classes="chat-error"))
        log.scroll_end(animate=False)
        where = "the prompt is back in the box" if action == "send" else "the answers are as before"
        self._status(f"[b $error]failed[/] — {where}; o changes the endpoint")
        self._show_header()

    # ---- actions ---------------------------------------------------------------------------
    async def action_regenerate(self) -> None:
        if self.streaming or not self._has_answer():
            return
        exchange = self.exchanges()[-1]
        await self.start_turn("regenerate", exchange.user_text)

    async def action_continue(self) -> None:
        """Extend the cut answer itself: the model carries on from its last word."""
        if self.streaming or not self._cut_at_length():
            return
        await self.start_turn("continue", "")

    def action_prompt_format(self) -> None:
        if self.streaming:
            return
        a = self.pane.a
        chosen = "magicoder" if a.prompt_format == "template" else "template"
        self._set_pane(PaneSettings(dataclasses.replace(a, prompt_format=chosen), self.pane.b))
        self._chosen = True
        if chosen == "magicoder":
            self._status("prompt format [b]magicoder[/] — the training prompt, sent as raw text")
        else:
            self._status("prompt format [b]template[/] — the server's chat template formats it")
        if self.query_one("#chat-raw").display:
            self.query_one("#chat-raw-text", Static).update(self.raw_prompt_text())
        self._show_header()

    async def action_edit_last(self) -> None:
        if self.streaming or not self._has_answer():
            return
        exchange = self.exchanges()[-1]
        # Nothing is removed yet: Enter replaces the last turn, Esc keeps it.
        self._editing_last = True
        box = self.query_one(ChatInput)
        box.text = exchange.user_text
        box.focus()
        box.move_cursor(box.document.end)
        self._status("editing the last message — Enter replaces it, Esc keeps it")
        self._show_header()

    async def _drop_last_exchange(self) -> None:
        """The last question and its answer(s), from the history and the screen."""
        for conversation in self.conversations:
            turns = conversation.turns
            if len(turns) >= 2 and turns[-1]["role"] == "assistant":
                del turns[-2:]
        exchanges = self.exchanges()
        if exchanges:
            await exchanges[-1].remove()

    def action_copy_code(self) -> None:
        answer = self._last_answer()
        code = last_code_block(answer.text) if answer else None
        if code is None:
            self.notify("The last answer has no code block.", severity="warning")
            return
        # OSC 52: works over SSH, and in tmux with set-clipboard on.
        self.app.copy_to_clipboard(code)
        lines = code.count("\n") + (not code.endswith("\n"))
        self.notify(f"Copied the last code block ({lines} lines) to the clipboard.")

    def action_raw_prompt(self) -> None:
        raw = self.query_one("#chat-raw", VerticalScroll)
        if raw.display:
            self._hide_raw()
            return
        self.query_one("#chat-raw-text", Static).update(self.raw_prompt_text())
        raw.display = True
        self.query_one("#chat-log").display = False
        raw.focus()  # so it scrolls, and the keys stay keys (not text in the box)
        self._status("raw prompt — p again returns to the chat")

    def raw_prompt_text(self) -> str:
        """The text the model gets: with a draft, what Enter will send; else the last raw
        request sent (magicoder format, or a continue), else the conversation so far."""
        settings = self.pane.a
        model = settings.model
        draft = self.query_one(ChatInput).text.strip()
        messages = self.conversations[0].messages()
        if draft:
            messages = [*messages, {"role": "user", "content": draft}]
        client = self._clients.get((id(self.conversations[0]), settings.base_url, self.api_key))
        bos_note = " The server's tokenizer puts BOS in front." if tokenizer_adds_bos(model) else ""
        sent = client.last_prompt if client is not None and self.conversations[0].turns else None
        if not draft and sent is not None:
            note = f"Exactly the text of the last request, sent to the completions API.{bos_note}"
            return _raw_view(note, sent)
        if settings.prompt_format == "magicoder":
            note = (
                "Prompt format magicoder: the Magicoder training prompt from magitui's prompt "
                f"module, sent exactly as shown to the completions API.{bos_note}"
            )
            return _raw_view(note, magicoder_prompt(messages, model))
        template = model_chat_template(model)
        rendered = template_prompt(messages, model) if template is not None else None
        if template is None or rendered is None:
            note = (
                "The server formats this with the model's chat template, which is not here "
                "(remote), or there is none (a base model: press f for the magicoder format). "
                "Shown: the Magicoder training prompt, for comparison."
            )
            return _raw_view(note, magicoder_prompt(messages, model))
        if template == CHAT_TEMPLATE:
            note = "The model's chat template is the training prompt: the server sends this."
        else:
            note = (
                "The model's own chat template (not magitui's), rendered here as the server does."
            )
        return _raw_view(note, rendered)

    def _hide_raw(self) -> None:
        raw = self.query_one("#chat-raw")
        if not raw.display:
            return
        refocus = raw.has_focus
        raw.display = False
        log = self.query_one("#chat-log")
        log.display = True
        if refocus:
            log.focus()

    def action_serve_model(self, _out_of_footer: bool = False) -> None:
        if self.streaming:
            return
        self.app.push_screen(ServeModelScreen(), self._served)

    def _served(self, endpoint: Endpoint | None) -> None:
        if endpoint is None:
            return
        self.endpoints = [endpoint, *(e for e in self.endpoints if e != endpoint)]
        self.select_endpoint(endpoint.base_url, endpoint.model)
        self._status(
            "[b $success]ready[/] — $model is served by $job; Enter to type",
            model=_short_model(endpoint.model),
            job=endpoint.label,
        )
        self.notify(
            f"{endpoint.model} answers at {endpoint.base_url} ({endpoint.label}); it is model A "
            f"now. The job keeps running after the app closes — stop it: Home › jobs, k.",
            title="Model served",
        )

    def action_settings(self) -> None:
        if self.streaming:
            return
        self.app.push_screen(
            ChatSettingsScreen(self.pane, self.endpoints, self.api_key), self._settings_chosen
        )

    def _settings_chosen(self, result: PaneSettings | None) -> None:
        if result is None:
            return
        self._chosen = True
        had_b = self.pane.b is not None
        self._set_pane(result)
        if result.b is not None and not had_b:
            self.compare = True
            self.conversations[1].turns = copy.deepcopy(self.conversations[0].turns)
        if result.b is None:
            self.compare = False
        self._show_header()

    def action_toggle_compare(self) -> None:
        if self.streaming:
            return
        if self.pane.b is None:
            self.notify("Set endpoint B first: its fields have the focus.", title="A/B compare")
            self.app.push_screen(
                ChatSettingsScreen(self.pane, self.endpoints, self.api_key, side="b"),
                self._settings_chosen,
            )
            return
        self.compare = not self.compare
        if self.compare:
            # B starts from A's history, so both answer the next prompt in the same context.
            self.conversations[1].turns = copy.deepcopy(self.conversations[0].turns)
        if self._spare is not None:  # it has the other number of answers
            self._spare.remove()
            self._spare = None
        self._prepare_spare()
        self._show_header()

    def action_save(self) -> None:
        if self.streaming:
            return
        if not self.conversations[0].turns:
            self.notify("Nothing to save yet.", severity="warning")
            return
        saved = []
        for index, conversation in enumerate(self.conversations[: 2 if self.compare else 1]):
            suffix = "" if index == 0 else "-b"
            base = transcript_path(self.ctx.workspace, self.run_name)
            json_path = base.with_name(base.stem + suffix + ".json")
            conversation.save(json_path)
            conversation.save(json_path.with_suffix(".md"))
            saved.append(json_path)
        names = ", ".join(path.name for path in saved)
        self.notify(f"Saved {names} (+ .md) in {saved[0].parent}", title="Transcript saved")

    def action_load(self) -> None:
        if self.streaming:
            return
        folder = chats_dir(self.ctx.workspace, self.run_name)
        paths = list_transcripts(self.ctx.workspace, self.run_name)
        if not paths:
            self.notify(f"No saved chats in {folder} yet (w saves one).", severity="warning")
            return
        self.app.push_screen(TranscriptPickerScreen(folder, paths), self._transcript_chosen)

    async def _transcript_chosen(self, path: Path | None) -> None:
        if path is not None:
            await self.load_transcript(path)

    async def load_transcript(self, path: Path) -> None:
        try:
            conversation = Conversation.load(path)
        except ChatError as exc:
            self.notify(str(exc), title="Not loaded", severity="error")
            return
        self._chosen = True
        self.compare = False
        self._set_pane(PaneSettings(conversation.settings, self.pane.b))
        self.conversations[0] = conversation
        await self._clear_log()
        turns = conversation.turns
        log = self.query_one("#chat-log", VerticalScroll)
        label = self._label(0)
        exchanges = [
            Exchange(user["content"], [label], saved=[answer["content"]])
            for user, answer in zip(turns[0::2], turns[1::2], strict=False)
        ]
        self.query_one("#chat-empty").display = not turns
        if len(exchanges) > 1:
            # A long chat takes a while to lay out (about 30 ms a turn): say so on screen first.
            self._status("loading $name: $count turns…", name=path.name, count=str(len(exchanges)))
            drawn = asyncio.Event()
            self.call_after_refresh(drawn.set)
            with contextlib.suppress(asyncio.TimeoutError):  # a screen not shown draws nothing
                await asyncio.wait_for(drawn.wait(), STATUS_DRAWN_WITHIN_S)
        # One mount for the lot, drawn once it is scrolled to its end (not first at the top):
        # anchored, the log's layout puts the view at the end, until the reader scrolls up.
        with self.app.batch_update():
            await self._add_to_log(*exchanges)
            log.anchor()
        self._status("loaded $name", name=path.name)
        self._show_header()
        self.sync_bindings()  # r e y apply to the loaded answers

    async def action_new_chat(self) -> None:
        if self.streaming:
            return
        turns = len(self.conversations[0].turns)
        if turns:
            question = (
                f"Clear this conversation ({turns} messages)? It is not saved — No, then w "
                "saves it first."
            )
            self.app.push_screen(ConfirmScreen("New chat", question, "Clear"), self._clear_chosen)
            return
        await self._clear_chat()

    async def _clear_chosen(self, yes: bool | None) -> None:
        if yes:
            await self._clear_chat()

    async def _clear_chat(self) -> None:
        self._editing_last = False
        for conversation in self.conversations:
            conversation.turns.clear()
        await self._clear_log()
        self.query_one("#chat-empty").display = True
        self._status("new chat")
        self._show_header()

    # ---- state -----------------------------------------------------------------------------
    def _set_pane(self, pane: PaneSettings) -> None:
        self.pane = pane
        # Settings change the next turns; the history stays.
        self.conversations[0].settings = pane.a
        b = pane.b_settings
        if b is not None:
            if len(self.conversations) < 2:
                self.conversations.append(Conversation(b))
            else:
                self.conversations[1].settings = b
        else:
            del self.conversations[1:]

    def _label(self, index: int) -> str:
        settings = self.conversations[index].settings
        tag = "AB"[index] + " · " if self.compare else ""
        return f"{tag}{_short_model(settings.model)}"

    def exchanges(self) -> list[Exchange]:
        """The exchanges shown, oldest first."""
        # The log's own children: a query of the screen would walk every block of every
        # answer, and the footer asks this for each key it draws.
        log = self.query_one("#chat-log")
        return [child for child in log.query_children(Exchange) if child is not self._spare]

    # ---- the next turn's exchange, made ahead ---------------------------------------------
    def _prepare_spare(self) -> None:
        """Mount the next turn's exchange, hidden, while nothing else happens: Enter then
        shows it instead of building it, which took milliseconds the first token waited for."""
        if self._spare is not None or not self.is_mounted:
            return
        sides = len(self.conversations) if self.compare else 1
        self._spare = Exchange("", [self._label(index) for index in range(sides)])
        self._spare.display = False
        self.query_one("#chat-log").mount(self._spare)

    def _take_spare(self, text: str, labels: list[str]) -> Exchange | None:
        """The spare exchange, filled and shown; None where it does not fit this turn."""
        spare = self._spare
        if spare is None or not spare.is_mounted:
            return None  # still being mounted: it stays the spare, the turn builds its own
        self._spare = None
        if len(spare.answers) != len(labels):
            spare.remove()  # A/B was switched since it was made
            return None
        spare.fill(text, labels)
        spare.display = True
        return spare

    def _add_to_log(self, *widgets: Widget) -> AwaitMount:
        """Mount at the end of the log, before the hidden spare exchange."""
        log = self.query_one("#chat-log")
        if self._spare is None:
            return log.mount(*widgets)
        return log.mount(*widgets, before=self._spare)

    def _last_answer(self) -> AnswerView | None:
        exchanges = self.exchanges()
        return exchanges[-1].answers[0] if exchanges else None

    def _has_answer(self) -> bool:
        return bool(self.exchanges()) and bool(self.conversations[0].turns)

    def _cut_at_length(self) -> bool:
        exchanges = self.exchanges()
        return bool(exchanges) and any(_cut(answer) for answer in exchanges[-1].answers)

    async def _clear_log(self) -> None:
        log = self.query_one("#chat-log", ChatLog)
        await log.query_children(".chat-exchange, .chat-error").remove()
        log.forget_folds()
        self._spare = None  # removed with the rest
        self._prepare_spare()

    def _show_header(self) -> None:
        a = self.pane.a
        lines = [
            Content.from_markup(
                "[b]$tag[/][$accent]$model[/] [$text-muted]@ $url[/][b $warning]$fmt[/]",
                tag="A " if self.compare else "",
                model=a.model or "(no model — press o)",
                url=a.base_url,
                # The default (the model's own template) goes unsaid; f switches.
                fmt=" · magicoder prompt" if a.prompt_format == "magicoder" else "",
            )
        ]
        if self.compare and self.pane.b:
            lines.append(
                Content.from_markup(
                    "[b]B [/][$accent]$model[/] [$text-muted]@ $url[/]",
                    model=self.pane.b[1],
                    url=self.pane.b[0],
                )
            )
        turns = len(self.conversations[0].turns) // 2
        where = f"runs/{self.run_name}/chats" if self.run_name else "chats/"
        lines.append(
            Content.from_markup(
                "[$text-muted]temp $t · top_p $p · max $m · system $s · $n · $w[/]",
                t=f"{a.temperature:g}",
                p=f"{a.top_p:g}",
                m=str(a.max_tokens),
                s="custom" if a.system else "default",
                n=f"{turns} turn{'' if turns == 1 else 's'}",
                w=where,
            )
        )
        self.query_one("#chat-endpoint", Static).update(Content("\n").join(lines))
        self._show_hint()

    def _status(self, markup: str, **values: str) -> None:
        self.query_one("#chat-status", Static).update(Content.from_markup(markup, **values))


def _cut(answer: AnswerView) -> bool:
    return answer.stats is not None and answer.stats.finish_reason == "length"


def _raw_view(note: str, text: str) -> str:
    return f"{note}\n{'─' * 40}\n{text}"


def _post(answer: AnswerView, message: Message) -> None:
    # A thread left behind by a forced stop may outlive the app and its event loop.
    with contextlib.suppress(RuntimeError):
        answer.post_message(message)


def _short_model(model: str) -> str:
    # A served checkpoint's name is its path: its last two parts say which run and step.
    parts = [p for p in model.split("/") if p]
    return "/".join(parts[-2:]) if len(parts) > 2 else model


def _keep_partial(conversation: Conversation, action: Action, text: str, partial_text: str) -> None:
    """A stopped answer stays in the history as far as it got, as the user saw it."""
    turns = conversation.turns
    if action == "send":
        turns.append({"role": "user", "content": text})
        turns.append({"role": "assistant", "content": partial_text})
    elif turns and turns[-1]["role"] == "assistant":
        turns[-1] = {"role": "assistant", "content": partial_text}


def answer_previous(previous: list[str], answer: AnswerView, exchange: Exchange) -> str | None:
    index = exchange.answers.index(answer)
    return previous[index] if index < len(previous) else None


def _undo_success(conversation: Conversation, action: Action, previous: str | None) -> None:
    """Take back a side's successful answer when the other side failed."""
    turns = conversation.turns
    if action == "send" and len(turns) >= 2:
        del turns[-2:]
    elif action != "send" and previous is not None and turns:
        turns[-1] = {"role": "assistant", "content": previous}

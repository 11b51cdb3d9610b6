"""Demo: the tour's stages, live from the demo job's events, ending in the chat.

A viewer like every screen: the demo job (magitui_core.demo.pipeline) runs the stages as real
jobs whatever this screen does; leaving it, or closing the app, only stops watching. When the
model is served the screen opens the Chat pane on it, once; Enter opens it again.
"""

from __future__ import annotations

import time
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.widgets import Static

from magitui.screens.base import PollingScreen
from magitui_core.demo.tour import (
    CHAT_MAX_TOKENS,
    CHAT_TEMPERATURE,
    STAGES,
    DemoView,
    StageState,
    durations_note,
)
from magitui_core.jobs.events import EventReader
from magitui_core.jobs.manager import JobInfo

ICONS = {"waiting": "·", "running": "●", "done": "✓", "failed": "✗"}
STYLES = {"waiting": "$text-muted", "running": "$accent", "done": "$success", "failed": "$error"}
INTRO = (
    "The whole recipe on a tiny random model, each stage a real magitui job. The teacher "
    "is a [b]stand-in, not an LLM[/b]: the model learns nothing useful."
)
KEYS_HINT = "g Generate · d Data · t Train: a stage's own screen · u back to this tour"
SERVING_NOTE = "The model server stays up while the demo is open; quitting (q) stops it."
POLL_SECONDS = 0.5


class DemoScreen(PollingScreen):
    TITLE_TEXT = "Demo"
    POLL_WHAT = "the demo"
    BINDINGS = [Binding("enter", "open_chat", "Chat with it")]
    DEFAULT_CSS = """
    DemoScreen #demo-intro { padding: 0 1; color: $text-muted; }
    DemoScreen #demo-stages { height: 1fr; padding: 0 1; }
    DemoScreen .demo-stage { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    DemoScreen .demo-explains {
        height: 1; padding-left: 4; color: $text-muted;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    DemoScreen #demo-status { padding: 0 1; height: auto; max-height: 4; }
    DemoScreen #demo-keys { padding: 0 1; color: $text-muted; }
    """

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id
        self.view = DemoView()
        self.job: JobInfo | None = None
        self._reader: EventReader | None = None
        self._chat_opened = False

    @property
    def poll_seconds(self) -> float:
        return POLL_SECONDS  # durations tick by; the files are small

    def compose_body(self) -> ComposeResult:
        yield Static(INTRO, id="demo-intro")
        with VerticalScroll(id="demo-stages"):
            for stage in STAGES:
                yield Static("", id=f"stage-{stage.key}", classes="demo-stage", markup=True)
                yield Static(stage.explains, classes="demo-explains", markup=False)
        yield Static("", id="demo-status")
        yield Static(KEYS_HINT, id="demo-keys", markup=False)

    # ---- polling ---------------------------------------------------------------------------
    def collect(self) -> tuple[JobInfo, list[dict[str, Any]]]:
        job = self.ctx.jobs.get(self.job_id)
        if self._reader is None:
            self._reader = EventReader(job.events_path)
        return job, self._reader.read_new()

    def apply(self, snapshot: tuple[JobInfo, list[dict[str, Any]]]) -> None:
        self.job, events = snapshot
        self.view.fold_all(events)
        self.render_stages()
        if self.view.endpoint is not None and not self._chat_opened:
            self._chat_opened = True
            self.run_worker(self.open_chat(), name="open the chat", exit_on_error=False)
        self.sync_bindings()

    # ---- rendering -------------------------------------------------------------------------
    def render_stages(self) -> None:
        now = time.time()
        for state in self.view.stages.values():
            self.query_one(f"#stage-{state.stage.key}", Static).update(stage_line(state, now))
        self.query_one("#demo-status", Static).update(self.status_text())

    def status_text(self) -> str:
        view, job = self.view, self.job
        if view.error is not None:  # the message names the failed job's log
            return f"[$error]The demo stopped: {escape(view.error)}[/]"
        if view.finished is not None and view.endpoint is not None:
            durations = view.finished.get("durations") or {}
            return (
                f"[$success]Done:[/] {escape(durations_note(durations))}\n"
                f"Serving {escape(view.endpoint['base_url'])} — Enter opens the chat. "
                f"{SERVING_NOTE}"
            )
        if job is not None and not job.is_live:
            return f"[$error]The demo job {job.id} {job.state.value}: {escape(job.note)}[/]"
        running = view.running
        if running is None:
            return "[$text-muted]Starting the demo job…[/]"
        return f"Now: {escape(running.stage.title)} — the job runs on if you leave this screen."

    def binding_state(self) -> tuple[object, ...]:
        return (self.view.endpoint is not None,)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_chat":
            return self.view.endpoint is not None
        return True

    # ---- the chat --------------------------------------------------------------------------
    async def action_open_chat(self) -> None:
        await self.open_chat()

    async def open_chat(self) -> None:
        """The Chat pane, talking to the served model (not whatever endpoint it found first)."""
        endpoint = self.view.endpoint
        if endpoint is None:
            return
        from magitui.screens.chat.screen import ChatScreen

        await self.app.switch_mode("chat")
        screen = self.app.screen
        if isinstance(screen, ChatScreen):
            screen.select_endpoint(
                endpoint["base_url"],
                endpoint["model"],
                temperature=CHAT_TEMPERATURE,
                max_tokens=CHAT_MAX_TOKENS,
            )
        self.app.notify(
            f"{SERVING_NOTE} u returns to the tour.",
            title="The demo's model is served",
            timeout=8,
        )


def stage_line(state: StageState, now: float) -> str:
    """One stage as a line: icon, title, time taken (or so far), what it reports."""
    number = [s.key for s in STAGES].index(state.stage.key) + 1
    style = STYLES.get(state.state, "$text-muted")
    elapsed = state.elapsed(now)
    took = f"{elapsed:5.1f}s" if elapsed is not None else "      "
    if state.reused:
        took = "  kept"
    said = state.detail if state.state == "running" and state.detail else state.message
    return (
        f"[{style}]{ICONS.get(state.state, '·')}[/] {number} {escape(state.stage.title):<27} "
        f"[$text-muted]{took}[/]  {escape(said)}"
    )

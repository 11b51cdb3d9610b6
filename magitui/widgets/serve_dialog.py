"""Serve a model (a trained checkpoint or a cached base model) as a job, from inside the app,
and hand back its endpoint once it answers — what `magitui serve` does, without a terminal.

Dismisses with the Endpoint of the ready server, or None. Closing it while the model loads
leaves the server job loading: loading can take minutes, and the job is the user's to keep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.timer import Timer
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from magitui_core.chat.endpoints import Endpoint
from magitui_core.generation.local_teacher import READY_TIMEOUT

if TYPE_CHECKING:
    from magitui_core.context import Context
    from magitui_core.generation.local_teacher import LocalTeacher

ENGINES = ("auto", "vllm", "transformers")
PROMPT = (
    "A run's trained model or checkpoint folder, or a base model id from the Hugging Face "
    "cache (→ takes the suggestion)."
)
STOP_HINT = "Home › jobs, select it, k"


def engine_missing_message(message: str) -> str | None:
    """The app's words for an engine that is not installed (the engine's own message names
    command-line flags), or None for any other problem."""
    from magitui_core.generation.local_teacher import TRANSFORMERS_MISSING, VLLM_MISSING

    if message == VLLM_MISSING:
        return (
            "vllm is not installed — install it where the GPU is (pip install vllm), or choose "
            "transformers as engine for a small model (pip install 'transformers[serving]')"
        )
    if message == TRANSFORMERS_MISSING:
        return (
            "`transformers serve` is not available — install it (pip install "
            "'transformers[serving]'), or choose vllm as engine"
        )
    return None


def run_of(model: str, runs_dir: Path) -> str | None:
    """The run whose folder holds ``model`` (its final model or a checkpoint), so the server
    job is filed with the run it serves; None for a base model."""
    try:
        relative = Path(model).expanduser().resolve().relative_to(runs_dir.resolve())
    except (OSError, ValueError):
        return None
    return relative.parts[0] if len(relative.parts) > 1 else None


class ServeModelScreen(ModalScreen["Endpoint | None"]):
    """Escape before Start cancels; Escape while the model loads closes the dialog and leaves
    the server job loading (a notification says how to stop it)."""

    DEFAULT_CSS = """
    ServeModelScreen #serve-engine-row {
        height: auto;
        margin-top: 1;
    }
    ServeModelScreen #serve-engine-label {
        width: 8;
        padding: 0 1;
    }
    ServeModelScreen #serve-engine {
        layout: horizontal;
        width: 1fr;
    }
    ServeModelScreen #serve-engine > RadioButton {
        width: auto;
        margin-right: 2;
    }
    ServeModelScreen #serve-warnings {
        display: none;
        height: auto;
        color: $warning;
        padding: 0 1;
    }
    ServeModelScreen #serve-progress {
        display: none;
        height: auto;
        margin: 1 0;
        padding: 0 1;
        color: $accent;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    # Seconds to wait for the server; a class attribute so the interface stays (run, model).
    ready_timeout: float = READY_TIMEOUT

    def __init__(self, run: str | None = None, model: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self._run = run
        self._model = model
        self._state = "idle"  # idle → starting (checks) → loading (a job exists) → done
        self._server: LocalTeacher | None = None
        self._engine_label = ""
        self._started_at = 0.0
        self._ticker: Timer | None = None
        # Set when the dialog goes away: the wait stops, and a start not yet made never is.
        self._abandon = threading.Event()

    @property
    def ctx(self) -> Context:
        return self.app.context  # type: ignore[attr-defined, no-any-return]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog serve-dialog") as dialog:
            dialog.border_title = "Serve a model"
            dialog.border_subtitle = "Enter start · Esc cancel"
            # Inline: the app's .dialog width wins over any default CSS, and the three engines
            # need more than it.
            dialog.styles.width = 78
            yield Static(PROMPT, classes="dialog-message", markup=False)
            yield Input(
                value=self._model,
                placeholder="runs/NAME/checkpoints/final, or an id like org/model",
                id="serve-model",
            )
            yield Static("", id="serve-error", classes="field-error", markup=False)
            with Horizontal(id="serve-engine-row"):
                yield Label("Engine", id="serve-engine-label")
                with RadioSet(id="serve-engine", compact=True):
                    yield RadioButton("auto", value=True, id="engine-auto")
                    yield RadioButton("vllm", id="engine-vllm")
                    yield RadioButton("transformers", id="engine-transformers")
            yield Static("", id="serve-warnings", markup=False)
            yield Static("", id="serve-progress")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="serve-cancel")
                yield Button("Start", id="serve-start", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#serve-model", Input).focus()
        self._look_around()

    def on_unmount(self) -> None:
        self._abandon.set()

    # ---- what can be served ----------------------------------------------------------------
    @work(thread=True, exit_on_error=False, group="serve-choices", name="list servable models")
    def _look_around(self) -> None:
        from magitui_core.cache.catalog import CacheLocations
        from magitui_core.generation.local_teacher import default_engine
        from magitui_core.training.base_models import base_model_choices

        choices = base_model_choices(CacheLocations.from_env().hub, self.ctx.workspace.runs_dir)
        engine = default_engine()
        self.app.call_from_thread(self._found, choices, engine)

    def _found(self, choices: list[str], engine: str) -> None:
        if not self.is_attached:
            return
        field = self.query_one("#serve-model", Input)
        field.suggester = SuggestFromList(choices, case_sensitive=False)
        if choices:
            shown = ", ".join(choices[:4]) + (f" (+{len(choices) - 4})" if len(choices) > 4 else "")
            field.tooltip = f"Cached or trained here: {shown}"
        self.query_one("#engine-auto", RadioButton).label = f"auto ({engine})"

    # ---- starting --------------------------------------------------------------------------
    def _engine(self) -> str:
        pressed = self.query_one("#serve-engine", RadioSet).pressed_button
        return (pressed.id or "engine-auto").removeprefix("engine-") if pressed else "auto"

    @on(Input.Submitted, "#serve-model")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_start()

    @on(Input.Changed, "#serve-model")
    def _changed(self) -> None:
        # The old complaint is about text that is no longer there.
        self._show_error(None)

    @on(RadioSet.Changed)
    def _engine_changed(self) -> None:
        self._show_error(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "serve-start":
            self.action_start()
        else:
            self.action_cancel()

    def action_start(self) -> None:
        if self._state != "idle":
            return
        model = self.query_one("#serve-model", Input).value.strip()
        self._state = "starting"
        self._show_error(None)
        self._busy(True)
        self._progress(Content.from_markup("[$text-muted]checking $m…[/]", m=model or "…"))
        self._start(model, self._engine())

    @work(thread=True, exclusive=True, exit_on_error=False, group="serve", name="serve a model")
    def _start(self, model: str, engine: str) -> None:
        from magitui_core.generation.local_teacher import (
            SERVE_KIND,
            LocalTeacherError,
            WaitAbandoned,
            default_engine,
            gpu_warnings,
            serve_model_problem,
            start_local_teacher,
            wait_until_ready,
        )
        from magitui_core.jobs.manager import JobError

        jobs = self.ctx.jobs
        try:
            problem = serve_model_problem(model)
            if problem is not None:
                self._from_thread(self._failed, problem)
                return
            try:
                warnings = gpu_warnings(model, jobs)
            except Exception:  # advice only: a GPU that cannot be read must not stop a start
                warnings = []
            chosen = default_engine() if engine == "auto" else engine
            run = self._run if self._run is not None else run_of(model, self.ctx.workspace.runs_dir)
            if self._abandon.is_set():
                return  # closed while checking: nothing was started
            try:
                server = start_local_teacher(jobs, model, chosen, None, run, kind=SERVE_KIND)
            except LocalTeacherError as exc:
                self._from_thread(self._failed, engine_missing_message(str(exc)) or str(exc))
                return
            except JobError as exc:
                self._from_thread(self._failed, f"the server job could not start: {exc}")
                return
            # Unguarded: a job now exists, and the user hears of it whether or not the
            # dialog is still open.
            self.app.call_from_thread(self._job_started, server, chosen, warnings)
            try:
                wait_until_ready(jobs, server, self.ready_timeout, abandon=self._abandon)
            except WaitAbandoned:
                return
            except LocalTeacherError:
                self._from_thread(self._failed, self._not_ready(server))
                return
            self._from_thread(self._ready, server)
        except Exception as exc:  # unexpected: said in the dialog, which stays usable
            self._from_thread(self._failed, f"{type(exc).__name__}: {exc}")

    def _from_thread(self, callback: Callable[..., object], *args: object) -> None:
        # Checked again on the UI thread, where Escape sets it: once the dialog is gone there
        # is nothing left to update.
        def guarded() -> None:
            if not self._abandon.is_set():
                callback(*args)

        if not self._abandon.is_set():
            self.app.call_from_thread(guarded)

    def _not_ready(self, server: LocalTeacher) -> str:
        """Why the server is not answering, from its job (runs in the worker thread)."""
        job = self.ctx.jobs.get(server.job.id)
        if not job.is_live:
            last = " | ".join(job.tail(3)) or "no output"
            return (
                f"the server job {job.id} ended ({job.state.value}) before it was ready: {last} "
                "— its whole log: Home › jobs, Enter on it"
            )
        return (
            f"the server job {job.id} was not ready after {self.ready_timeout:.0f} s and keeps "
            f"loading — its log: Home › jobs, Enter on it; to stop it: {STOP_HINT}"
        )

    def _job_started(self, server: LocalTeacher, engine: str, warnings: list[str]) -> None:
        if self._abandon.is_set():
            # Closed while the job was being started: it loads all the same.
            self._notify_still_loading(server)
            return
        self._state = "loading"
        self._server = server
        self._engine_label = engine
        self._started_at = time.monotonic()
        self.query_one("#serve-cancel", Button).label = "Close"
        self.query_one(".serve-dialog").border_subtitle = "Esc close (the server keeps loading)"
        notes = self.query_one("#serve-warnings", Static)
        notes.update("\n".join(f"⚠ {warning}" for warning in warnings))
        notes.display = bool(warnings)
        self._tick()
        self._ticker = self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        if self._server is None or self._state != "loading":
            return
        elapsed = time.monotonic() - self._started_at
        self._progress(
            Content.from_markup(
                "[b]loading the model[/] with $engine… $s s\n"
                "[$text-muted]job $job · $url · Esc closes this, the server keeps loading[/]",
                engine=self._engine_label,
                s=f"{elapsed:.0f}",
                job=self._server.job.id,
                url=self._server.base_url,
            )
        )

    def _ready(self, server: LocalTeacher) -> None:
        self._state = "done"
        self._stop_ticker()
        self.dismiss(
            Endpoint(label=f"job {server.job.id}", base_url=server.base_url, model=server.model)
        )

    def _failed(self, problem: str) -> None:
        """Back to the form as it was filled: the message says what to change."""
        self._state = "idle"
        self._server = None
        self._stop_ticker()
        self._progress(None)
        self._busy(False)
        self.query_one("#serve-cancel", Button).label = "Cancel"
        self.query_one(".serve-dialog").border_subtitle = "Enter start · Esc cancel"
        self._show_error(problem)
        self.query_one("#serve-model", Input).focus()

    # ---- leaving ---------------------------------------------------------------------------
    def action_cancel(self) -> None:
        self._abandon.set()
        self._stop_ticker()
        if self._state == "loading" and self._server is not None:
            self._notify_still_loading(self._server)
        self.dismiss(None)

    def _notify_still_loading(self, server: LocalTeacher) -> None:
        self.app.notify(
            f"The server job {server.job.id} keeps loading {server.model} and will answer at "
            f"{server.base_url}. To stop it: {STOP_HINT}.",
            title="Server still loading",
            timeout=10,
        )

    # ---- showing ---------------------------------------------------------------------------
    def _busy(self, busy: bool) -> None:
        for selector in ("#serve-model", "#serve-engine", "#serve-start"):
            self.query_one(selector).disabled = busy
        if busy:
            self.query_one("#serve-cancel", Button).focus()

    def _progress(self, content: Content | None) -> None:
        progress = self.query_one("#serve-progress", Static)
        progress.update(content or "")
        progress.display = content is not None

    def _show_error(self, problem: str | None) -> None:
        error = self.query_one("#serve-error", Static)
        error.update(problem or "")
        error.display = bool(problem)

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

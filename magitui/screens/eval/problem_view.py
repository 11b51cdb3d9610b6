"""One problem of an evaluation: the prompt, each compared model's answer, and what the
tests said (the assertion, the time-out, the exception and the program's own output)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from magitui_core.eval.results import EvalResult, TaskOutcome, change

if TYPE_CHECKING:
    from magitui.screens.eval.screen import Comparison

OUTPUT_LINES = 20  # of a program's stdout/stderr; samples.jsonl keeps all that was captured


def code_view(code: str, language: str = "python") -> Syntax:
    # Wrapped, never cut: a long line of an answer is often where the bug is.
    return Syntax(
        code.rstrip() or " ",
        language,
        word_wrap=True,
        line_numbers=language == "python",
        background_color="default",
        theme="ansi_dark",
    )


def _tail(text: str) -> str:
    lines = text.rstrip().splitlines()
    cut = len(lines) - OUTPUT_LINES
    return "\n".join(([f"… {cut} lines before"] if cut > 0 else []) + lines[-OUTPUT_LINES:])


def answer_parts(who: str, result: EvalResult, outcome: TaskOutcome | None) -> list[Static]:
    """The heading, the verdict, the answer and the program's output, one widget each."""
    heading = Static(
        Content.from_markup("[b $accent]$who[/] · $model", who=who, model=result.model),
        classes="problem-heading",
    )
    if outcome is None:
        return [heading, Static("Not evaluated in this result.")]
    if outcome.completion is None:
        return [heading, Static(Content.from_markup("[b]unscored[/] — $r", r=outcome.result))]
    colour = "$success" if outcome.verdict == "passed" else "$error"
    samples = f" ({outcome.passed}/{outcome.samples} samples passed)" if outcome.samples > 1 else ""
    verdict = outcome.result if outcome.result != "failed: " else "failed (assertion)"
    parts = [
        heading,
        Static(Content.from_markup(f"[b {colour}]$v[/]$s", v=verdict, s=samples)),
        Static(code_view(outcome.solution or "")),
    ]
    for name, text in (("stderr", outcome.stderr), ("stdout", outcome.stdout)):
        if text.strip():
            parts += [
                Static(f"{name}:", classes="problem-label"),
                Static(code_view(_tail(text), "text")),
            ]
    return parts


class ProblemScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "close", "Close")]
    DEFAULT_CSS = """
    ProblemScreen {
        align: center middle;
    }
    ProblemScreen > Vertical {
        width: 100%;
        height: 100%;
        border: round $primary;
        background: $surface;
    }
    ProblemScreen Static {
        padding: 0 1;
    }
    ProblemScreen .problem-heading {
        margin-top: 1;
    }
    """

    def __init__(self, task_id: str, comparison: Comparison) -> None:
        super().__init__()
        self._task_id = task_id
        self._comparison = comparison

    def compose(self) -> ComposeResult:
        comparison = self._comparison
        before = comparison.before_tasks.get(self._task_id)
        after = comparison.after_tasks.get(self._task_id)
        with Vertical() as frame:
            title = self._task_id
            if comparison.before is not None:
                title += f" · {change(before, after)}"
            frame.border_title = title
            frame.border_subtitle = "Esc close"
            with VerticalScroll():
                yield Static(Content.from_markup("[b $accent]Prompt[/]"), classes="problem-heading")
                yield Static("Loading the problem…", id="problem-prompt")
                if comparison.before is not None:
                    yield from answer_parts("base", comparison.before, before)
                assert comparison.after is not None
                who = comparison.after.slot or "result"
                yield from answer_parts(who, comparison.after, after)

    def on_mount(self) -> None:
        result = self._comparison.after
        assert result is not None
        benchmark = result.benchmark
        file = result.summary.get("benchmark_file")
        task_id = self._task_id

        def load() -> str:
            from magitui_core.eval.benchmarks import BenchmarkError, load_benchmark

            try:
                problems = load_benchmark(benchmark, Path(file) if file else None)
            except BenchmarkError as exc:
                return f"The prompt cannot be shown: {exc}"
            problem = next((p for p in problems if p.task_id == task_id), None)
            return problem.prompt if problem else f"{task_id} is not in {benchmark}."

        self.run_worker(load, name="read the problem", group="prompt", thread=True)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "prompt" and event.state is WorkerState.SUCCESS:
            self.query_one("#problem-prompt", Static).update(code_view(str(event.worker.result)))

    def action_close(self) -> None:
        self.dismiss(None)

"""One exchange in the chat log: the user's message and one streamed answer per endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Markdown, Static
from textual.widgets._markdown import MarkdownStream

from magitui_core.chat.client import TurnStats


class UserMessage(Static):
    def __init__(self, text: str) -> None:
        super().__init__(Content(text), classes="chat-user")
        self.text = text

    def set_text(self, text: str) -> None:
        self.text = text
        self.update(Content(text))


def stats_text(stats: TurnStats) -> str:
    parts = []
    if stats.first_token_s is not None:
        parts.append(f"first token {stats.first_token_s:.2f}s")
    if stats.tokens_per_s is not None:
        parts.append(f"{stats.tokens_per_s:.1f} tok/s")
    if stats.completion_tokens is not None:
        parts.append(f"{stats.completion_tokens} tokens")
    parts.append(f"finish {stats.finish_reason or '?'}")
    return " · ".join(parts)


def finished_note(stats: TurnStats) -> str:
    note = stats_text(stats)
    if stats.finish_reason == "length":
        note += " — cut at max tokens: n continues"
    return note


class AnswerView(Vertical):
    """Streams markdown through Markdown.get_stream, which batches writes so a fast server
    cannot outrun the screen. Chunks arrive as messages posted from the worker thread, so
    they are rendered in order on the UI thread."""

    @dataclass
    class Chunk(Message):
        text: str
        generation: int

    @dataclass
    class Ended(Message):
        """Posted by the worker: the stream finished, failed (error) or was stopped."""

        stats: TurnStats | None
        generation: int
        error: str | None = None
        stopped: bool = False

    @dataclass
    class Opened(Message):
        """Posted by the view to itself when a stream starts: handled once it is mounted,
        so the stream may start before the view is."""

        generation: int
        fresh: bool  # a new answer, not more of the one shown

    @dataclass
    class FirstPiece(Message):
        """Bubbles to the screen once a stream's first text is in the view."""

    @dataclass
    class Finished(Message):
        """Bubbles to the screen once the answer is fully rendered."""

        answer: AnswerView

    def __init__(self, label: str, saved: str | None = None) -> None:
        """``saved``: a finished answer (from a transcript), shown from the first frame."""
        super().__init__(classes="chat-answer")
        self.label = label
        self._saved = saved  # what compose shows
        self.text = saved or ""
        self.streaming = False
        self.stopped = False
        self.error: str | None = None
        self.stats: TurnStats | None = None
        self._stream: MarkdownStream | None = None
        # Each stream into this view gets a number; messages from an abandoned one are ignored.
        self.generation = 0

    def compose(self) -> ComposeResult:
        yield Static(Content(self.label), classes="chat-answer-label")
        yield Markdown(self._saved, classes="chat-answer-body")
        note = "from transcript" if self._saved is not None else "waiting for the first token…"
        yield Static(Content(note), classes="chat-answer-stats")

    def set_label(self, label: str) -> None:
        self.label = label
        self.query_one(".chat-answer-label", Static).update(Content(label))

    def start(self) -> int:
        """Stream a new answer into the view; returns the stream's number."""
        self.text = ""
        return self._open(fresh=True)

    def resume(self) -> int:
        """Stream more text onto the answer shown (continue): the text so far stays."""
        return self._open(fresh=False)

    def _open(self, fresh: bool) -> int:
        self.generation += 1
        self.streaming = True
        self.stopped = False
        self.error = None
        self.stats = None
        self.remove_class("-error")
        self._stream = None  # opened by the first piece
        # Posted here, on the UI thread, before the stream's thread posts anything, so the
        # view's message queue is made on this thread; the stream may start before the view
        # is mounted, and its pieces wait in that queue until it is.
        self.post_message(self.Opened(self.generation, fresh))
        return self.generation

    async def on_answer_view_opened(self, message: AnswerView.Opened) -> None:
        message.stop()
        if message.generation != self.generation or not self.streaming:
            return
        if not message.fresh:
            self._set_stats("continuing…")
            return
        markdown = self.query_one(Markdown)
        if markdown.source:  # a redone answer: the old one goes
            await markdown.update("")
            self._set_stats("waiting for the first token…")

    def stop(self) -> None:
        """Stop showing new text at once; the worker notices at its next chunk."""
        if self.streaming:
            self.stopped = True
            self._set_stats("stopping…")

    async def on_answer_view_chunk(self, message: AnswerView.Chunk) -> None:
        message.stop()
        if self.stopped or not self.streaming or message.generation != self.generation:
            return
        self.text += message.text
        if self._stream is not None:
            await self._stream.write(message.text)
            return
        # The first piece goes to the widget at once, drawn in the same frame as the
        # exchange; the stream batches the rest so that a fast server cannot outrun the screen.
        self._set_stats("streaming…")
        markdown = self.query_one(Markdown)
        self._stream = Markdown.get_stream(markdown)
        await markdown.append(message.text)
        self.post_message(self.FirstPiece())

    async def on_answer_view_ended(self, message: AnswerView.Ended) -> None:
        message.stop()
        if not self.streaming or message.generation != self.generation:
            return
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        self.streaming = False
        self.stats = message.stats
        if message.error:
            self.error = message.error
            self.add_class("-error")
            self._set_stats(f"error: {message.error}")
        elif message.stopped or self.stopped:
            self.stopped = True
            self._set_stats("stopped")
        elif message.stats is not None:
            self._set_stats(finished_note(message.stats))
        self.post_message(self.Finished(self))

    async def show_saved(
        self, text: str, stats: TurnStats | None = None, note: str = "from transcript"
    ) -> None:
        """A finished answer: from a loaded transcript, or put back after a failed redo."""
        self.text = text
        self.stats = stats
        await self.query_one(Markdown).update(text)
        self._set_stats(finished_note(stats) if stats is not None else note)

    def _set_stats(self, text: str) -> None:
        self.query_one(".chat-answer-stats", Static).update(Content(text))


class Exchange(Vertical):
    """A user's message and its answers: one, or two side by side when comparing A and B."""

    def __init__(self, text: str, labels: list[str], saved: list[str] | None = None) -> None:
        """``saved``: the finished answers of a turn from a transcript, one per label."""
        super().__init__(classes="chat-exchange")
        self.user_text = text
        answers = saved if saved is not None else [None] * len(labels)
        self.answers = [
            AnswerView(label, answer) for label, answer in zip(labels, answers, strict=True)
        ]

    def fill(self, text: str, labels: list[str]) -> None:
        """Put a turn into an exchange mounted ahead of time (the chat screen keeps one)."""
        self.user_text = text
        self.query_one(UserMessage).set_text(text)
        for answer, label in zip(self.answers, labels, strict=True):
            answer.set_label(label)

    def compose(self) -> ComposeResult:
        from textual.containers import Horizontal

        yield UserMessage(self.user_text)
        if len(self.answers) == 1:
            yield self.answers[0]
        else:
            with Horizontal(classes="chat-pair"):
                yield from self.answers

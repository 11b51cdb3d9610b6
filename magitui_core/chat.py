"""Chatting with a served model over the OpenAI chat API: streaming, timing, transcripts.

One implementation serves the `magitui chat` command and the Chat pane (which runs it in a
worker thread). Errors become one ChatError line; the conversation is left as it was, so the
user's turn can be sent again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from magitui_core.atomic import write_text_atomic


class ChatError(RuntimeError):
    """A failed chat turn, said in one line with the fix."""


@dataclass
class ChatSettings:
    base_url: str
    model: str
    system: str | None = None
    temperature: float = 0.2
    top_p: float = 0.95
    max_tokens: int = 1024


@dataclass
class TurnStats:
    finish_reason: str | None = None
    first_token_s: float | None = None  # time to first token
    seconds: float = 0.0
    completion_tokens: int | None = None

    @property
    def tokens_per_s(self) -> float | None:
        if not self.completion_tokens or self.first_token_s is None:
            return None
        generating = self.seconds - self.first_token_s
        return self.completion_tokens / generating if generating > 0 else None


@dataclass
class Conversation:
    settings: ChatSettings
    turns: list[dict[str, str]] = field(default_factory=list)  # user/assistant messages

    def messages(self) -> list[dict[str, str]]:
        system = (
            [{"role": "system", "content": self.settings.system}] if self.settings.system else []
        )
        return system + self.turns

    # ---- transcripts -------------------------------------------------------------------
    def save(self, path: Path) -> Path:
        """JSON for .json files (loadable), Markdown otherwise."""
        if path.suffix == ".json":
            data = {"settings": asdict(self.settings), "turns": self.turns}
            write_text_atomic(path, json.dumps(data, indent=2) + "\n")
        else:
            write_text_atomic(path, self.markdown())
        return path

    def markdown(self) -> str:
        lines = [f"# Chat with {self.settings.model}", "", f"Endpoint: {self.settings.base_url}"]
        if self.settings.system:
            lines += ["", "**System:** " + self.settings.system]
        for turn in self.turns:
            who = "You" if turn["role"] == "user" else self.settings.model
            lines += ["", f"## {who}", "", turn["content"]]
        return "\n".join(lines) + "\n"

    @classmethod
    def load(cls, path: Path) -> Conversation:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(ChatSettings(**data["settings"]), list(data["turns"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ChatError(f"cannot load transcript {path}: {exc}") from None


class ChatClient:
    """Streams one assistant turn at a time and appends it to the conversation."""

    def __init__(
        self, conversation: Conversation, api_key: str | None = None, timeout: float = 600.0
    ) -> None:
        from openai import OpenAI

        self.conversation = conversation
        settings = conversation.settings
        # Local servers take any key; the client library insists on one being set.
        self._client = OpenAI(
            base_url=settings.base_url,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=0,
        )
        self.last = TurnStats()

    def send(self, text: str) -> Iterator[str]:
        """Add the user's turn and stream the answer's text; the answer is kept when done."""
        self.conversation.turns.append({"role": "user", "content": text})
        try:
            yield from self._stream()
        except BaseException:
            self.conversation.turns.pop()  # a failed turn leaves the conversation as it was
            raise

    def regenerate(self) -> Iterator[str]:
        """Drop the last answer and stream a new one for the same question."""
        turns = self.conversation.turns
        if not turns or turns[-1]["role"] != "assistant":
            raise ChatError("nothing to regenerate yet")
        previous = turns.pop()
        try:
            yield from self._stream()
        except BaseException:
            turns.append(previous)
            raise

    def _stream(self) -> Iterator[str]:
        import openai

        settings = self.conversation.settings
        stats = TurnStats()
        started = time.monotonic()
        parts: list[str] = []
        try:
            # Plain role/content dicts: the SDK's TypedDict overloads do not see them as such.
            stream = self._client.chat.completions.create(  # type: ignore[call-overload]
                model=settings.model,
                messages=self.conversation.messages(),
                temperature=settings.temperature,
                top_p=settings.top_p,
                max_tokens=settings.max_tokens,
                stream=True,
                stream_options={"include_usage": True},
            )
            for chunk in stream:
                if chunk.usage is not None:
                    stats.completion_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices:
                    if choice.finish_reason:
                        stats.finish_reason = choice.finish_reason
                    piece = choice.delta.content if choice.delta else None
                    if piece:
                        if stats.first_token_s is None:
                            stats.first_token_s = time.monotonic() - started
                        parts.append(piece)
                        yield piece
        except openai.APIConnectionError:
            raise ChatError(
                f"cannot reach {settings.base_url} — is the server running? (magitui jobs)"
            ) from None
        except (openai.NotFoundError, openai.BadRequestError) as exc:
            served = self.served_models()
            if settings.model not in served:  # servers answer a wrong model with 404 or 400
                raise ChatError(
                    f"{settings.base_url} has no model {settings.model!r} — "
                    f"served models: {', '.join(served) or 'none'}"
                ) from None
            raise ChatError(f"{settings.base_url} refused the request: {exc.message}") from None
        except openai.AuthenticationError:
            raise ChatError(
                f"{settings.base_url} refused the API key — set OPENAI_API_KEY or --api-key-env"
            ) from None
        except openai.APIStatusError as exc:
            raise ChatError(
                f"{settings.base_url} answered {exc.status_code}: {exc.message}"
            ) from None
        stats.seconds = time.monotonic() - started
        self.last = stats
        self.conversation.turns.append({"role": "assistant", "content": "".join(parts)})

    def served_models(self) -> list[str]:
        try:
            return [model.id for model in self._client.models.list()]
        except Exception:  # only a hint for an error message
            return []


def describe(stats: TurnStats) -> dict[str, Any]:
    return {
        "finish_reason": stats.finish_reason,
        "first_token_s": None if stats.first_token_s is None else round(stats.first_token_s, 3),
        "seconds": round(stats.seconds, 3),
        "completion_tokens": stats.completion_tokens,
        "tokens_per_s": None if stats.tokens_per_s is None else round(stats.tokens_per_s, 1),
    }

"""Chatting with a served model over the OpenAI chat API: streaming, timing, transcripts.

One implementation serves the `magitui chat` command and the Chat pane (which runs it in a
worker thread). Errors become one ChatError line; the conversation is left as it was, so the
user's turn can be sent again.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import weakref
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from magitui_core.atomic import write_text_atomic
from magitui_core.chat.prompt_format import (
    PROMPT_FORMATS,
    lacks_chat_template,
    magicoder_prompt,
    template_prompt,
)
from magitui_core.openai_body import plain_messages


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
    # template: the server's chat template; magicoder: the training prompt, rendered here and
    # sent to the completions API (for models without a template). See chat_format.
    prompt_format: str = "template"


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
            settings = ChatSettings(**data["settings"])
            turns = list(data["turns"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ChatError(f"cannot load transcript {path}: {exc}") from None
        if settings.prompt_format not in PROMPT_FORMATS:
            raise ChatError(
                f"transcript {path} has prompt format {settings.prompt_format!r} — "
                f"use one of {', '.join(PROMPT_FORMATS)}"
            )
        return cls(settings, turns)


class RequestWatch:
    """Sets its event once a request's body is written, from an httpx request hook."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def watch(self, request: Any) -> None:
        # httpcore reports each step of a request to the "trace" extension; an HTTP/1.1 or
        # HTTP/2 body written in full is "http11…" or "http2.send_request_body.complete".
        event = self.event

        def trace(step: str, info: dict[str, Any]) -> None:
            if step.endswith("send_request_body.complete"):
                event.set()

        request.extensions["trace"] = trace


class ChatStopped(ChatError):
    """The turn was cut by ChatClient.close(): a stop, not a failure."""


class ChatClient:
    """Streams one assistant turn at a time and appends it to the conversation.

    One turn streams at a time; close() may be called from another thread to cut it.
    """

    def __init__(
        self, conversation: Conversation, api_key: str | None = None, timeout: float = 600.0
    ) -> None:
        from openai import DefaultHttpxClient, OpenAI

        self.conversation = conversation
        settings = conversation.settings
        self._sent = RequestWatch()
        http = DefaultHttpxClient(event_hooks={"request": [self._sent.watch]})
        # Its connections close with this client, as those of a client the SDK makes do.
        weakref.finalize(self, http.close)
        # Local servers take any key; the client library insists on one being set.
        self._client = OpenAI(
            http_client=http,
            base_url=settings.base_url,
            api_key=api_key or "not-needed",
            timeout=timeout,
            max_retries=0,
        )
        self.last = TurnStats()
        # The exact text of the last request sent as a raw prompt (None: the server's chat
        # template formatted it), for the raw-prompt view.
        self.last_prompt: str | None = None
        self._cut = threading.Event()
        self._response: Any = None  # the HTTP response being streamed, for close()

    # ---- turns ---------------------------------------------------------------------------
    def send(self, text: str) -> Iterator[str]:
        """Add the user's turn and stream the answer's text; the answer is kept when done."""
        turns = self.conversation.turns
        turns.append({"role": "user", "content": text})
        try:
            answer = yield from self._stream(continuing=False)
        except BaseException:
            turns.pop()  # a failed turn leaves the conversation as it was
            raise
        turns.append({"role": "assistant", "content": answer})

    def regenerate(self) -> Iterator[str]:
        """Drop the last answer and stream a new one for the same question."""
        turns = self.conversation.turns
        if not turns or turns[-1]["role"] != "assistant":
            raise ChatError("nothing to regenerate yet")
        previous = turns.pop()
        try:
            answer = yield from self._stream(continuing=False)
        except BaseException:
            turns.append(previous)
            raise
        turns.append({"role": "assistant", "content": answer})

    def continue_last(self) -> Iterator[str]:
        """Extend the last answer in place (it stopped at max tokens): the model sees its own
        partial answer as the end of the prompt, not a new question. Streams only the new text."""
        turns = self.conversation.turns
        if not turns or turns[-1]["role"] != "assistant":
            raise ChatError("nothing to continue yet — send a message first")
        more = yield from self._stream(continuing=True)
        turns[-1] = {"role": "assistant", "content": turns[-1]["content"] + more}

    def request_prompt(self, continuing: bool = False) -> str | None:
        """The raw text the next request sends for the conversation as it is, or None where
        the server formats it with its chat template."""
        settings = self.conversation.settings
        messages = self.conversation.messages()
        if settings.prompt_format == "magicoder":
            return magicoder_prompt(messages, settings.model, continuing)
        if continuing:
            return template_prompt(messages, settings.model, continuing=True)
        return None

    def warm(self) -> None:
        """Load what a first request needs (the SDK imports its API resources on first use),
        so that the first turn does not wait for it."""
        _ = self._client.chat.completions, self._client.completions

    def next_request_sent(self) -> threading.Event:
        """An event set once the next request's bytes are all written to the server, or it
        has failed: the pane holds back its own work until then, so the request does not
        wait on it."""
        self._sent.event = threading.Event()
        return self._sent.event

    def close(self) -> None:
        """Cut the turn being streamed, from any thread, even when the server has gone silent:
        the socket is shut down, which wakes the blocked read. The turn ends with ChatStopped;
        the client stays usable. A request still waiting for the server's first bytes ends as
        soon as they come."""
        self._cut.set()
        response = self._response
        if response is None:
            return
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing to cut
                sock.shutdown(socket.SHUT_RDWR)

    # ---- one request ---------------------------------------------------------------------
    def _open(self, prompt: str | None, continuing: bool) -> Any:
        """Start the streaming request: the raw ``prompt`` to the completions API, else the
        conversation to the chat API."""
        settings = self.conversation.settings
        common: dict[str, Any] = {
            "model": settings.model,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "max_tokens": settings.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if prompt is not None:
            # The completions API takes the text as is, so the raw-prompt view shows exactly
            # what the model gets. `transformers serve` (5.24, tested in tests/chat) streams
            # /v1/completions, as vLLM does; both tokenize the text with the tokenizer's
            # special tokens, hence chat_format's BOS rule. Overriding the chat template
            # instead needs a different field per server (vLLM: chat_template; transformers:
            # chat_template_kwargs) and shows nothing of the text that results.
            return self._client.completions.create(prompt=prompt, **common)
        extra: dict[str, Any] = {}
        if continuing:
            # A remote model whose template is not here: ask the server to render the partial
            # answer open-ended (vLLM's names). `transformers serve` cannot: it answers unknown
            # fields with 422 and always adds the generation prompt; it serves local folders,
            # whose template is rendered here and sent by the completions route above.
            extra = {"continue_final_message": True, "add_generation_prompt": False}
        # Past the SDK's schema walk of every message: a long chat's first token waited on it.
        return self._client.chat.completions.create(
            **plain_messages(self.conversation.messages(), extra), **common
        )

    def _stream(self, continuing: bool) -> Generator[str, None, str]:
        """Yield the answer's pieces; return the whole text. Stats go to self.last."""
        import openai

        settings = self.conversation.settings
        stats = TurnStats()
        started = time.monotonic()
        parts: list[str] = []
        self._cut.clear()
        prompt = self.last_prompt = self.request_prompt(continuing)
        raw = prompt is not None
        try:
            try:
                stream = self._open(prompt, continuing)
            finally:
                self._sent.event.set()  # sent and answered, or failed: nothing to wait for
            with stream:  # closes the connection however the loop ends
                self._response = stream.response
                if self._cut.is_set():  # closed while waiting for the first bytes
                    raise ChatStopped("stopped")
                for chunk in stream:
                    if chunk.usage is not None:
                        stats.completion_tokens = chunk.usage.completion_tokens
                    for choice in chunk.choices:
                        if choice.finish_reason:
                            stats.finish_reason = choice.finish_reason
                        if raw:
                            piece = choice.text
                        else:
                            piece = choice.delta.content if choice.delta else None
                        if piece:
                            if stats.first_token_s is None:
                                stats.first_token_s = time.monotonic() - started
                            parts.append(piece)
                            yield piece
        except ChatStopped:
            raise
        except openai.APIConnectionError:
            if self._cut.is_set():
                raise ChatStopped("stopped") from None
            raise ChatError(
                f"cannot reach {settings.base_url} — is the server running? (magitui jobs)"
            ) from None
        except (
            openai.NotFoundError,
            openai.BadRequestError,
            openai.UnprocessableEntityError,
        ) as exc:
            served = self.served_models()
            if settings.model not in served:  # servers answer a wrong model with 404 or 400
                raise ChatError(
                    f"{settings.base_url} has no model {settings.model!r} — "
                    f"served models: {', '.join(served) or 'none'}"
                ) from None
            if continuing and settings.prompt_format == "template":
                raise ChatError(
                    f"{settings.base_url} cannot continue an answer in place (it refused "
                    "continue_final_message) — switch the prompt format to magicoder (f in Chat, "
                    "--prompt-format magicoder in `magitui chat`), or raise "
                    "max tokens and regenerate"
                ) from None
            raise ChatError(f"{settings.base_url} refused the request: {exc.message}") from None
        except openai.AuthenticationError:
            raise ChatError(
                f"{settings.base_url} refused the API key — set OPENAI_API_KEY or --api-key-env"
            ) from None
        except openai.APIStatusError as exc:
            if not raw and lacks_chat_template(settings.model):
                raise ChatError(
                    f"{settings.model} has no chat template, so the server cannot format a chat "
                    "— switch the prompt format to magicoder (f in Chat, --prompt-format magicoder "
                    "in `magitui chat`)"
                ) from None
            raise ChatError(
                f"{settings.base_url} answered {exc.status_code}: {exc.message}"
            ) from None
        except Exception:
            # A socket shut by close() surfaces as whatever the HTTP stack makes of it.
            if self._cut.is_set():
                raise ChatStopped("stopped") from None
            raise
        finally:
            self._response = None
        if self._cut.is_set():  # the cut read as the end of the body
            raise ChatStopped("stopped")
        stats.seconds = time.monotonic() - started
        self.last = stats
        return "".join(parts)

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

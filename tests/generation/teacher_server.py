"""A scripted OpenAI-compatible teacher on 127.0.0.1 that can misbehave on demand.

It answers chat completions like an OSS-Instruct teacher (a [Problem Description]
that quotes the snippet, and a [Solution]), and the test picks the trouble:

- ``reject_system``: 400 on any ``system`` message, in vLLM + Mistral's words;
- ``rate_limit_first``: the first N completions get 429 with ``Retry-After``;
- ``fail_first``: the first N completions get 500;
- ``latency`` / ``capacity``: each answer takes ``latency`` seconds and at most
  ``capacity`` are worked on at once (the rest queue), like a saturated server;
- ``api_key``: 401 for any other key; any model but ``model`` gets 404;
- markers in the snippet pick a bad answer for that index: MALFORMED (no sections),
  TRUNCATE (finish_reason "length"), FILTERED (finish_reason "content_filter"),
  EMPTYSOL (empty solution), ALWAYS500, SLOW;
- ``fingerprint``: the ``system_fingerprint`` to send (none by default, as vLLM sends none).

Every completion request's parameters are recorded (``record.requests``). Also runnable as a process
(``python -m tests.generation.teacher_server --latency 0.5 --capacity 64``; it prints
its port) for the benchmarks.
"""

from __future__ import annotations

import argparse
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# The payloads and the server class are the demo stand-in's (one OpenAI wire format to keep).
from magitui_core.demo.stand_in_teacher import (
    SNIPPET,
    LoopbackAPI,
    Reply,
    completion_payload,
    error_payload,
    models_payload,
)

MISTRAL_SYSTEM_ERROR = "Conversation roles must alternate user/assistant/user/assistant/..."


@dataclass
class Script:
    model: str = "teacher-model"
    context_length: int | None = 4096
    latency: float = 0.0
    capacity: int | None = None
    reject_system: bool = False
    rate_limit_first: int = 0
    retry_after: str = "0.05"
    fail_first: int = 0
    api_key: str | None = None
    list_models: bool = True
    fingerprint: str | None = None


@dataclass
class Record:
    """What the server saw, for the test to assert on."""

    completions: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    system_messages: int = 0
    max_tokens: list[int] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0
    authorization: set[str] = field(default_factory=set)
    last_user: str = ""
    # seed, n, temperature, max_tokens and the snippet of each answered completion request
    requests: list[dict[str, Any]] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)  # the snippets, in the order answered


class TeacherServer(LoopbackAPI):
    def __init__(self, script: Script | None = None, port: int = 0) -> None:
        self.script = script or Script()
        self.record = Record()
        self._lock = threading.Lock()
        self._admitted = 0
        self._capacity = (
            threading.BoundedSemaphore(self.script.capacity) if self.script.capacity else None
        )
        super().__init__(port)

    def replied(self, status: int) -> None:
        with self._lock:
            self.record.statuses[status] += 1

    # ---- behaviour -----------------------------------------------------------------------
    def models(self) -> Reply:
        if not self.script.list_models:
            return _error(404, "Not Found", "NotFoundError")
        return 200, models_payload(self.script.model, self.script.context_length, "test"), {}

    def chat(self, body: dict[str, Any], auth: str) -> Reply:
        script = self.script
        messages = body.get("messages", [])
        with self._lock:
            self.record.completions += 1
            self.record.authorization.add(auth)
            if any(m.get("role") == "system" for m in messages):
                self.record.system_messages += 1
            if body.get("max_tokens") is not None:
                self.record.max_tokens.append(int(body["max_tokens"]))
        if script.api_key is not None and auth != f"Bearer {script.api_key}":
            return _error(401, "Incorrect API key provided", "invalid_request_error")
        if body.get("model") != script.model:
            return _error(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")
        if script.reject_system and any(m.get("role") == "system" for m in messages):
            return _error(400, MISTRAL_SYSTEM_ERROR, "BadRequestError")
        with self._lock:  # the scripted failures count only requests that got this far
            self._admitted += 1
            number = self._admitted
        if number <= script.rate_limit_first:
            status, payload, _ = _error(429, "Rate limit reached", "rate_limit_error")
            return status, payload, {"Retry-After": script.retry_after}
        if number <= script.rate_limit_first + script.fail_first:
            return _error(500, "Internal server error", "server_error")
        user = messages[-1].get("content", "") if messages else ""
        self.record.last_user = user
        found = SNIPPET.search(user)
        snippet = found.group(1) if found else ""
        with self._lock:
            self.record.requests.append(
                {key: body.get(key) for key in ("seed", "n", "temperature", "max_tokens")}
                | {"snippet": snippet}
            )
        if "ALWAYS500" in snippet:
            return _error(500, "Internal server error", "server_error")
        if "SLOW" in snippet:
            time.sleep(1.0)
        self._work()
        with self._lock:
            self.record.answered.append(snippet)
        finish = "stop"
        if "MALFORMED" in snippet:
            text = "Here is an idea for a problem, but without any sections."
        elif "TRUNCATE" in snippet:
            text, finish = "[Problem Description]\nWrite a function that", "length"
        elif "FILTERED" in snippet:
            text, finish = (
                "[Problem Description]\nA fine problem.\n\n[Solution]\nx",
                "content_filter",
            )
        elif "EMPTYSOL" in snippet:
            text = f"[Problem Description]\nExplain `{snippet}`.\n\n[Solution]\n"
        else:
            text = (
                f"[Problem Description]\nWrite code inspired by:\n{snippet}\n\n"
                # One solution per snippet: only equal snippets make duplicate solutions.
                f"[Solution]\n```python\nprint({zlib.crc32(snippet.encode())})\n```"
            )
        payload = completion_payload(body.get("model"), text, finish, len(user))
        if script.fingerprint:
            payload["system_fingerprint"] = script.fingerprint
        return 200, payload, {}

    def _work(self) -> None:
        """Hold a capacity slot for ``latency`` seconds (queue when all are busy)."""
        if self._capacity is not None:
            self._capacity.acquire()
        with self._lock:
            self.record.in_flight += 1
            self.record.peak_in_flight = max(self.record.peak_in_flight, self.record.in_flight)
        try:
            if self.script.latency:
                time.sleep(self.script.latency)
        finally:
            with self._lock:
                self.record.in_flight -= 1
            if self._capacity is not None:
                self._capacity.release()


def _error(status: int, message: str, kind: str) -> Reply:
    return status, error_payload(status, message, kind), {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--capacity", type=int)
    parser.add_argument("--model", default="teacher-model")
    args = parser.parse_args()
    server = TeacherServer(
        Script(model=args.model, latency=args.latency, capacity=args.capacity), args.port
    )
    print(server.port, flush=True)
    server.serve_foreground()


if __name__ == "__main__":
    main()

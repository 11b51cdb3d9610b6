"""A scripted OpenAI-compatible server on 127.0.0.1 for what a real model cannot be made to do
on cue: answer in given pieces, stop at `length`, refuse a field, or go silent mid-stream.

It records every request body, parsed and as sent, so tests can check exactly what was sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from magitui_core.demo.stand_in_teacher import completion_payload


@dataclass
class Script:
    pieces: list[str] = field(default_factory=lambda: ["Hello", " world"])
    finish_reason: str = "stop"
    stall: bool = False  # after the first piece, send nothing until the server stops
    refuse: set[str] = field(default_factory=set)  # body fields answered with 422
    model: str = "scripted"
    first_delay: float = 0.0  # seconds between the request and the first piece, as a prefill


class ScriptedServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[tuple[str, dict[str, Any]]] = []  # (path, body)
        self.raw_bodies: list[bytes] = []  # each body's bytes, as they came
        self.release = threading.Event()
        self.stalled = threading.Event()  # set once a stalled stream has sent its piece
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = {"object": "list", "data": [{"id": server.script.model}]}
                self._reply(200, "application/json", json.dumps(body).encode())

            def do_POST(self) -> None:
                raw_body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw_body)
                server.raw_bodies.append(raw_body)
                server.requests.append((self.path, body))
                script = server.script
                refused = script.refuse & set(body)
                if refused:
                    detail = {"detail": f"Unexpected fields in the request: {refused}"}
                    self._reply(422, "application/json", json.dumps(detail).encode())
                    return
                if body.get("model") != script.model:
                    self._reply(404, "application/json", b'{"error": {"message": "no model"}}')
                    return
                raw = self.path.endswith("/completions") and "chat" not in self.path
                if not body.get("stream"):  # one JSON answer, as a teacher is asked
                    text, prompt = "".join(script.pieces), len(raw_body)
                    answer = completion_payload(script.model, text, script.finish_reason, prompt)
                    self._reply(200, "application/json", json.dumps(answer).encode())
                    return
                self._reply(200, "text/event-stream", b"")
                time.sleep(script.first_delay)
                for index, piece in enumerate(script.pieces):
                    self._event(_chunk(piece, None, raw))
                    if script.stall and index == 0:
                        server.stalled.set()
                        server.release.wait(60)  # silent, as a wedged server is
                        return
                self._event(_chunk("", script.finish_reason, raw, usage=len(script.pieces)))
                self.wfile.write(b"data: [DONE]\n\n")

            def _event(self, data: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
                self.wfile.flush()

            def _reply(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

        return Handler

    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, body in self.requests]


def _chunk(text: str, finish: str | None, raw: bool, usage: int | None = None) -> dict[str, Any]:
    if raw:
        choice: dict[str, Any] = {"index": 0, "text": text, "finish_reason": finish}
        kind = "text_completion"
    else:
        choice = {"index": 0, "delta": {"content": text}, "finish_reason": finish}
        kind = "chat.completion.chunk"
    chunk: dict[str, Any] = {
        "id": "c",
        "object": kind,
        "created": 0,
        "model": "scripted",
        "choices": [choice],
    }
    if usage is not None:
        chunk["usage"] = {
            "prompt_tokens": 1,
            "completion_tokens": usage,
            "total_tokens": usage + 1,
        }
    return chunk


@contextmanager
def scripted_server(script: Script | None = None) -> Iterator[ScriptedServer]:
    server = ScriptedServer(script or Script())
    thread = threading.Thread(target=server._http.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server._http.shutdown()
        server._http.server_close()

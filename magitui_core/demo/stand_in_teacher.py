"""The demo's teacher stand-in: a tiny OpenAI-compatible server on 127.0.0.1 that is NOT a
language model. It answers every chat completion with a fixed OSS-Instruct-shaped reply built
from the code snippet in the request ([Problem Description] quoting it, then [Solution]), so the
tour runs with no GPU, no API key and no network. Real runs talk to a real teacher endpoint.

Run it as a process: ``python -m magitui_core.demo.stand_in_teacher --port P`` (prints its URL).
Standard library only; the tests' scripted teacher shares its payload builders.
"""

from __future__ import annotations

import argparse
import json
import re
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

STAND_IN_MODEL = "demo-stand-in (not an LLM)"
STAND_IN_NOTE = (
    "This is magitui's demo teacher stand-in, not a language model: it turns the code in a "
    "request into a fixed [Problem Description] / [Solution] reply. Real runs use a real teacher."
)
# The OSS-Instruct prompt puts the seed snippet in a plain ``` fence.
SNIPPET = re.compile(r"```\n(.*?)\n```", re.DOTALL)
SECTION_MARKER = re.compile(r"\[(problem description|solution)\]", re.IGNORECASE)


def oss_instruct_answer(snippet: str) -> str:
    """The reply a teacher would give, in shape only: the problem quotes the snippet and the
    solution wraps it in a function (a real teacher writes a new problem and a real solution;
    curation drops solutions that merely repeat the problem's code, so this one does not)."""
    # The answer parser starts a section at the first line naming one, as Magicoder's does:
    # a snippet that names them (magitui's own prompts.py does) is quoted with (), not [].
    snippet = SECTION_MARKER.sub(r"(\1)", snippet)
    body = textwrap.indent(textwrap.dedent(snippet).strip("\n"), "    ")
    return (
        "[Problem Description]\n"
        "(Written by the demo stand-in, not an LLM.) Write Python code that does what this "
        f"snippet does, and explain each step:\n```python\n{snippet}\n```\n\n"
        "[Solution]\n```python\ndef stand_in_solution():\n"
        '    """A real teacher writes a working solution here."""\n'
        f"{body}\n```"
    )


def stand_in_reply(messages: list[dict[str, Any]]) -> str:
    """The answer to a conversation: OSS-Instruct-shaped when the last turn holds a snippet."""
    user = str(messages[-1].get("content", "")) if messages else ""
    found = SNIPPET.search(user)
    return oss_instruct_answer(found.group(1)) if found else STAND_IN_NOTE


def completion_payload(model: str, text: str, finish: str, prompt_chars: int) -> dict[str, Any]:
    """A chat.completion object (no system_fingerprint, as vLLM sends none)."""
    completion_tokens = max(1, len(text) // 4)
    prompt_tokens = max(1, prompt_chars // 4)
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def stream_body(model: str, text: str, finish: str) -> bytes:
    """The same answer as server-sent chat.completion.chunk events, a few words per chunk."""
    base: dict[str, Any] = {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    pieces = re.findall(r"\S+\s*|\s+", text) or [""]
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": "".join(pieces[i : i + 4])} for i in range(0, len(pieces), 4)]
    lines = [
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        for delta in deltas
    ]
    lines.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    events = [f"data: {json.dumps(line)}\n\n" for line in lines] + ["data: [DONE]\n\n"]
    return "".join(events).encode("utf-8")


def error_payload(status: int, message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": status}}


def models_payload(model: str, context_length: int | None, owner: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": model, "object": "model", "owned_by": owner}
    if context_length:
        entry["max_model_len"] = context_length
    return {"object": "list", "data": [entry]}


Reply = tuple[int, "dict[str, Any] | bytes", dict[str, str]]  # status, JSON or SSE, headers
Server = TypeVar("Server", bound="LoopbackAPI")


class QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default backlog of 5 resets a burst of 64 new connections

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request is ordinary here, not worth a traceback.
        return


class LoopbackAPI:
    """An OpenAI-style API on 127.0.0.1 (GET /v1/models, POST /v1/chat/completions), served
    from a daemon thread (``start``/``close`` or ``with``) or in the foreground (``main``).
    Subclasses answer ``models`` and ``chat``."""

    def __init__(self, port: int = 0) -> None:
        self.httpd = QuietHTTPServer(("127.0.0.1", port), _handler_for(self))
        self.port = int(self.httpd.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread: threading.Thread | None = None

    def models(self) -> Reply:
        raise NotImplementedError

    def chat(self, body: dict[str, Any], auth: str) -> Reply:
        raise NotImplementedError

    def replied(self, status: int) -> None:
        """Called once per reply sent (a test server counts them)."""

    def start(self: Server) -> Server:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self: Server) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def serve_foreground(self) -> None:
        """Serve until interrupted (the body of a server process)."""
        try:
            self.httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.httpd.server_close()


class StandInTeacher(LoopbackAPI):
    """The stand-in: every completion is the fixed reply of ``stand_in_reply``."""

    def __init__(self, port: int = 0, model: str = STAND_IN_MODEL, latency: float = 0.0) -> None:
        self.model = model
        self.latency = latency  # seconds per answer: a tour's generation should be watchable
        self.completions = 0
        self._lock = threading.Lock()
        super().__init__(port)

    def models(self) -> Reply:
        return 200, models_payload(self.model, 4096, "magitui-demo"), {}

    def chat(self, body: dict[str, Any], auth: str) -> Reply:
        if body.get("model") != self.model:
            message = f"model {body.get('model')!r} does not exist — this server has {self.model!r}"
            return 404, error_payload(404, message, "NotFoundError"), {}
        messages = body.get("messages") or []
        with self._lock:
            self.completions += 1
        text = stand_in_reply(messages)
        time.sleep(self.latency)
        if body.get("stream"):
            return 200, stream_body(self.model, text, "stop"), {}
        prompt_chars = sum(len(str(m.get("content", ""))) for m in messages)
        return 200, completion_payload(self.model, text, "stop", prompt_chars), {}


def _handler_for(server: LoopbackAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers and clients use

        def log_message(self, format: str, *args: Any) -> None:  # one line per request is noise
            return

        def _send(
            self, status: int, payload: dict[str, Any] | bytes, headers: dict[str, str]
        ) -> None:
            stream = isinstance(payload, bytes)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
            server.replied(status)
            self.send_response(status)
            self.send_header("Content-Type", "text/event-stream" if stream else "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._send(*server.models())
            else:
                self._send(404, error_payload(404, "Not Found", "NotFoundError"), {})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, error_payload(404, "Not Found", "NotFoundError"), {})
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._send(400, error_payload(400, "invalid JSON", "BadRequestError"), {})
                return
            auth = self.headers.get("Authorization", "")
            self._send(*server.chat(body if isinstance(body, dict) else {}, auth))

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m magitui_core.demo.stand_in_teacher", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--model", default=STAND_IN_MODEL, help="the name it answers to")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    args = parser.parse_args(argv)
    server = StandInTeacher(args.port, args.model, args.latency)
    print(f"teacher stand-in (not an LLM) serving {args.model!r} at {server.base_url}", flush=True)
    server.serve_foreground()


if __name__ == "__main__":
    main()

"""A scripted OpenAI-compatible model on 127.0.0.1 that answers HumanEval prompts.

It answers ``POST /v1/completions`` and ``POST /v1/chat/completions`` with an answer
picked per task by ``behaviours`` (task_id → behaviour name; any other task gets ``right``):
``right`` (the canonical solution), ``wrong``, ``hang``, ``exit_top`` (``sys.exit(0)`` at top
level, before the checks), ``os_exit`` (``os._exit(0)``), ``secret`` (prints the environment and
raises with the credentials file's text), ``fork`` (spawns sleeping children, writes their pids
to stdout, then hangs), ``memory`` (touches 8 GiB). In instruct mode the continuation is
followed by a closing fence and prose, as a chat model writes it, so the client must cut it.
It ignores
``stop``, so the engine's own cut is what is tested (the hostile code avoids the base stop
sequences: no top-level ``print``, ``if``, ``def`` or ``#``).
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from magitui_core.demo.stand_in_teacher import LoopbackAPI, Reply, error_payload, models_payload
from magitui_core.eval.benchmarks import Problem

MODEL = "scripted-coder"
CHAT_PROMPT = re.compile(r"problem:\n```python\n(.*)\n```\Z", re.DOTALL)
INSTRUCT_PROMPT = re.compile(r"@@ Instruction\n.*?```python\n(.*?)\n```\n\n@@ Response", re.DOTALL)


def body_of(behaviour: str, problem: Problem, credentials: str = "") -> str:
    canonical = problem.canonical_solution
    bodies = {
        "right": canonical,
        "wrong": "    return None\n",
        "hang": "    while True:\n        pass\n",
        "exit_top": canonical + "\nimport sys\nsys.exit(0)\n",
        "os_exit": canonical + "\nimport os\nos._exit(0)\n",
        "secret": (
            "    return None\n\nimport os, sys\nsys.stdout.write(repr(dict(os.environ)))\n"
            f"raise ValueError(open({credentials!r}).read())\n"
        ),
        "fork": (
            canonical + "\nimport os\n"
            "_pids = [os.posix_spawn('/bin/sleep', ['sleep', '300'], {}) for _ in range(3)]\n"
            "os.write(1, ('children %s\\n' % ' '.join(map(str, _pids))).encode())\n"
            "while True:\n    pass\n"
        ),
        "memory": "    _hog = b'x' * (8 * 1024**3)\n    return len(_hog)\n",
    }
    return bodies[behaviour]


class ScriptedModel(LoopbackAPI):
    def __init__(
        self,
        problems: list[Problem],
        behaviours: dict[str, str] | None = None,
        credentials: str = "",
        port: int = 0,
        model: str = MODEL,
    ) -> None:
        super().__init__(port)
        self.model = model
        self.failing: set[str] = (
            set()
        )  # tasks answered with a 500 (the client retries, then gives up)
        self.by_prompt = {p.prompt: p for p in problems}
        self.by_stripped = {p.prompt.strip(): p for p in problems}
        self.behaviours = behaviours or {}
        self.credentials = credentials
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        base = self.httpd.RequestHandlerClass
        server = self

        class Handler(base):  # type: ignore[valid-type, misc]
            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/v1/completions":
                    super().do_POST()
                    return
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._send(*server.complete(json.loads(raw)))

        self.httpd.RequestHandlerClass = Handler

    def models(self) -> Reply:
        return 200, models_payload(self.model, 4096, "tests"), {}

    def chat(self, body: dict[str, Any], auth: str) -> Reply:
        """A chat model's answer: prose, then the whole function in a fence (or, for tasks
        scripted ``body_only``, just the body), then more prose."""
        with self._lock:
            self.requests.append(body)
        if body.get("model") != self.model:
            return 404, error_payload(404, f"no model {body.get('model')!r}", "NotFoundError"), {}
        messages = body.get("messages") or [{}]
        found = CHAT_PROMPT.search(str(messages[-1].get("content", "")))
        problem = self.by_stripped.get(found.group(1)) if found else None
        if problem is None:
            return 400, error_payload(400, "not a HumanEval instruction", "BadRequestError"), {}
        behaviour = self.behaviours.get(problem.task_id, "right")
        body_text = body_of(behaviour.removesuffix("_body_only"), problem, self.credentials)
        if behaviour.endswith("_body_only"):
            code = body_text
        else:
            # The answer repeats the signature but, as chat models often do, not the imports.
            header = "\n".join(
                line
                for line in problem.prompt.splitlines()
                if not line.startswith(("from ", "import "))
            ).strip("\n")
            code = header + "\n" + body_text
        text = (
            "Here is an implementation:\n\n```python\n" + code + "\n```\n\n"
            "It runs in linear time. ```text\nnot code\n```"
        )
        payload = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        return 200, payload, {}

    def complete(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
        if body.get("model") != self.model:
            return 404, error_payload(404, f"no model {body.get('model')!r}", "NotFoundError"), {}
        prompt = str(body.get("prompt", ""))
        problem = self.by_prompt.get(prompt)
        instruct = problem is None
        if instruct:
            found = INSTRUCT_PROMPT.search(prompt)
            problem = self.by_stripped.get(found.group(1)) if found else None
        if problem is None:
            return 400, error_payload(400, "not a HumanEval prompt", "BadRequestError"), {}
        if problem.task_id in self.failing:
            return 500, error_payload(500, "scripted failure", "InternalServerError"), {}
        text = body_of(self.behaviours.get(problem.task_id, "right"), problem, self.credentials)
        if instruct:
            # after the stripped prompt the model goes on with a newline, then closes the fence
            text = "\n" + text + "```\n\nThis solution iterates once over the input."
        payload = {
            "id": "cmpl-1",
            "object": "text_completion",
            "model": self.model,
            "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        return 200, payload, {}

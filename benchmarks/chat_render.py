"""Chat pane figures: does rendering keep up with a 200 tokens/s stream, what does the pane
add to the time to first token compared with the raw openai client on the same server, and how
soon does ChatClient.close() (Escape) end a stream whose server has gone silent?

A scripted OpenAI-compatible server on 127.0.0.1, in a process of its own, streams a markdown
answer (prose, lists, code blocks) at a fixed token rate. It answers at once by default: no
server time for the pane's work to hide in, the pane's worst case (--first-token-ms gives it a
model's prefill). --history starts from a chat of that many turns. The pane runs headless
(Textual's run_test), so the figures are the UI thread's own cost, without a terminal's.
Prints figures; asserts nothing.
    python benchmarks/chat_render.py [--rate 200] [--tokens 2000] [--ttft-runs 7]
        [--history 0] [--first-token-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import statistics
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _common import isolated_env

MODEL = "scripted-model"
ANSWER = """## Adding numbers

Here is a small, **tested** solution. It handles:

- integers and floats
- empty input, which returns `0`

```python
def add_all(values: list[float]) -> float:
    total = 0.0
    for value in values:
        total += value
    return total


def test_add_all() -> None:
    assert add_all([1, 2, 3]) == 6
    assert add_all([]) == 0
```

The loop is linear in the number of values; `sum()` would do the same in C.

"""


def tokens(count: int) -> list[str]:
    """Token-sized pieces (about 4 characters) of the answer, repeated to ``count``."""
    pieces = [ANSWER[i : i + 4] for i in range(0, len(ANSWER), 4)]
    return [pieces[i % len(pieces)] for i in range(count)]


class Shared:
    """An attribute kept in shared memory, so that the server's process writes what the
    benchmark reads. No lock: one writer, and a reader that takes a value one token old."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # a multiprocessing type code: "q" int, "d" float

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, log: StreamLog, owner: type | None = None) -> float:
        return log.__dict__[self.slot].value

    def __set__(self, log: StreamLog, value: float) -> None:
        log.__dict__[self.slot].value = value


class StreamLog:
    """What the server has sent so far, read by the sampler on the UI side. Times are
    time.perf_counter(), one monotonic clock for every process on the machine; 0: not yet."""

    chars = Shared("q")
    first_sent = Shared("d")
    last_sent = Shared("d")
    received = Shared("d")  # when the server last read a request's first line

    def __init__(self) -> None:
        # In shared memory before the server's process is forked.
        for field in vars(StreamLog).values():
            if isinstance(field, Shared):
                self.__dict__[field.slot] = multiprocessing.Value(field.kind, 0, lock=False)


def make_server(
    rate: float, count: int, log: StreamLog, first_token_s: float = 0.0
) -> ThreadingHTTPServer:
    """The scripted server, bound at once so its port is known; it serves once started.
    ``first_token_s``: its wait before the first token, as a model's prefill."""
    pieces = tokens(count)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            body = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def do_POST(self) -> None:
            # The client may stop reading early: the TTFT probe does.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer()

        def _answer(self) -> None:
            log.received = time.perf_counter()
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length))
            limit = min(int(request.get("max_tokens") or count), count)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            log.chars = 0
            time.sleep(first_token_s)
            started = time.perf_counter()
            for index, piece in enumerate(pieces[:limit]):
                # A steady rate, on a schedule so slow writes do not lower it.
                delay = started + index / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                self._event({"delta": {"content": piece}, "finish_reason": None})
                log.chars += len(piece)
                now = time.perf_counter()
                log.first_sent = log.first_sent or now
                log.last_sent = now
            self._event({"delta": {}, "finish_reason": "length"})
            usage = {"prompt_tokens": 10, "completion_tokens": limit, "total_tokens": limit + 10}
            self._send({"id": "c", "object": "chat.completion.chunk", "created": 0,
                        "model": MODEL, "choices": [], "usage": usage})  # fmt: skip
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _event(self, choice: dict[str, object]) -> None:
            self._send({"id": "c", "object": "chat.completion.chunk", "created": 0,
                        "model": MODEL, "choices": [{"index": 0, **choice}]})  # fmt: skip

        def _send(self, data: dict[str, object]) -> None:
            self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
            self.wfile.flush()

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@contextlib.contextmanager
def server_process(
    rate: float, count: int, log: StreamLog, first_token_s: float = 0.0
) -> Iterator[str]:
    """The scripted server in a forked process of its own: a server in a thread of the
    benchmark would take the GIL from the pane's UI thread, which no real server does."""
    server = make_server(rate, count, log, first_token_s)
    process = multiprocessing.get_context("fork").Process(
        target=server.serve_forever, name="scripted server", daemon=True
    )
    process.start()
    server.server_close()  # the child holds the listening socket now
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        process.terminate()
        process.join(10)


def raw_client_ttft(base_url: str, runs: int) -> list[float]:
    """Seconds from the request to the first content chunk, with a warm openai client."""
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="not-needed", max_retries=0)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        stream = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=3, stream=True
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                times.append(time.perf_counter() - started)
                break
        stream.close()
    return times


def history(base_url: str, turns: int) -> Path:
    """A saved chat of ``turns`` questions and markdown answers, to start from."""
    import tempfile

    from magitui_core.chat.client import ChatSettings, Conversation

    conversation = Conversation(ChatSettings(base_url, MODEL))
    for index in range(turns):
        conversation.turns.append({"role": "user", "content": f"Question {index}: add numbers"})
        conversation.turns.append({"role": "assistant", "content": ANSWER})
    return conversation.save(Path(tempfile.mkdtemp(prefix="magitui-bench-")) / "history.json")


async def pane_figures(base_url: str, log: StreamLog, args: argparse.Namespace) -> dict:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "ui"))
    from dataclasses import replace

    from pilot_helpers import settle
    from textual.widgets import Markdown

    from magitui.app import MagituiApp
    from magitui.screens.chat.prompt_input import ChatInput
    from magitui.screens.chat.screen import ChatScreen

    app = MagituiApp()
    figures: dict = {"ttft": [], "to_server": []}
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        if args.history:
            await screen.load_transcript(history(base_url, args.history))
            await settle(pilot)

        def last_markdown() -> Markdown | None:
            exchanges = screen.exchanges()  # shown ones: not the next turn's, mounted hidden
            return exchanges[-1].answers[0].query_one(Markdown) if exchanges else None

        # When the pane first hands text to its Markdown widget: the end of "time to first token".
        appended: list[float] = []
        original_append = Markdown.append

        def timed_append(self: Markdown, markdown: str):  # type: ignore[no-untyped-def]
            appended.append(time.perf_counter())
            return original_append(self, markdown)

        Markdown.append = timed_append  # type: ignore[method-assign]

        async def one_turn(max_tokens: int, sample: list[tuple[float, int, int]] | None) -> float:
            screen._set_pane(replace(screen.pane, a=replace(screen.pane.a, max_tokens=max_tokens)))
            prompt_box = screen.query_one(ChatInput)
            prompt_box.text = "hi"
            prompt_box.focus()
            await settle(pilot)  # the prompt is on screen before Enter, as when a person types
            before = len(screen.exchanges())
            appended.clear()

            async def watch(sample: list[tuple[float, int, int]]) -> None:
                # From Enter on: pilot.press returns only once the app is idle.
                while True:
                    shown_now = len(screen.exchanges())
                    markdown = last_markdown() if shown_now > before else None
                    shown = len(markdown.source) if markdown is not None else 0
                    sample.append((time.perf_counter(), int(log.chars), shown))
                    await asyncio.sleep(0.02)

            sampler = asyncio.create_task(watch(sample)) if sample is not None else None
            started = time.perf_counter()
            await pilot.press("enter")
            while screen.streaming or screen._turn is not None:
                await asyncio.sleep(0.02)
            if sampler is not None:
                sampler.cancel()
            await settle(pilot)
            figures["to_server"].append(log.received - started)
            return appended[0] - started if appended else float("nan")

        cold = await one_turn(3, None)
        for _ in range(args.ttft_runs):
            figures["ttft"].append(await one_turn(3, None))
        figures["cold_ttft"] = cold
        sample: list[tuple[float, int, int]] = []
        await one_turn(args.tokens, sample)
        markdown = last_markdown()
        total_chars = len(markdown.source) if markdown is not None else 0
        done = next((t for t, _, shown in sample if shown >= total_chars), sample[-1][0])
        figures["drain_s"] = max(0.0, done - (log.last_sent or done))
        figures["sample"] = sample
        figures["chars"] = total_chars
    return figures


def stop_latency(runs: int) -> list[float]:
    """Seconds from ChatClient.close() to the end of a stream stalled mid-answer."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from magitui_core.chat.client import ChatClient, ChatSettings, ChatStopped, Conversation
    from tests.chat.scripted_server import Script, ScriptedServer, scripted_server

    times = []
    for _ in range(runs):
        server: ScriptedServer
        with scripted_server(Script(["Partial ", "never"], stall=True)) as server:
            client = ChatClient(Conversation(ChatSettings(server.base_url, "scripted")))
            ended = threading.Event()

            def read(client: ChatClient, ended: threading.Event) -> None:
                with contextlib.suppress(ChatStopped):
                    for _piece in client.send("hi"):
                        pass
                ended.set()

            threading.Thread(target=read, args=(client, ended), daemon=True).start()
            server.stalled.wait(30)
            time.sleep(0.05)  # the reader is blocked on the silent socket by now
            started = time.perf_counter()
            client.close()
            if ended.wait(30):
                times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="tokens per second")
    parser.add_argument("--tokens", type=int, default=2000, help="tokens in the long answer")
    parser.add_argument("--ttft-runs", type=int, default=7)
    parser.add_argument(
        "--history", type=int, default=0, help="turns already in the chat (a loaded transcript)"
    )
    parser.add_argument(
        "--first-token-ms",
        type=float,
        default=0.0,
        help="the server's wait before the first token, as a model's prefill",
    )
    args = parser.parse_args()

    env = isolated_env()
    log = StreamLog()
    with server_process(args.rate, args.tokens, log, args.first_token_ms / 1000) as base_url:
        config = Path(env["MAGITUI_CONFIG"])
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f'[teacher]\nbase_url = "{base_url}"\nmodel = "{MODEL}"\n')
        # The pane first, so its first turn pays for importing openai as a fresh TUI does.
        pane = asyncio.run(pane_figures(base_url, log, args))
        raw = raw_client_ttft(base_url, args.ttft_runs)
    stops = stop_latency(args.ttft_runs)

    chars_per_token = len("".join(tokens(args.tokens))) / args.tokens
    sample = pane["sample"]
    streaming = [
        (t, sent, shown)
        for t, sent, shown in sample
        if log.first_sent and t <= (log.last_sent or t)
    ]
    lags = [(sent - shown) / chars_per_token for _, sent, shown in streaming]
    half = len(lags) // 2
    raw_ms = statistics.median(raw) * 1000
    pane_ms = statistics.median(pane["ttft"]) * 1000
    print(
        f"scripted server: {args.rate:.0f} tokens/s, {args.tokens} tokens "
        f"({pane['chars']} characters of markdown with code blocks), first token after "
        f"{args.first_token_ms:g} ms; pane headless 100x30, {args.history} turns loaded before"
    )
    print(f"render lag while streaming (tokens sent but not yet shown), {len(lags)} samples:")
    if lags:
        p95 = sorted(lags)[int(0.95 * (len(lags) - 1))]
        print(f"  median {statistics.median(lags):.1f}, p95 {p95:.1f}, max {max(lags):.1f}")
        first, second = statistics.fmean(lags[:half] or [0]), statistics.fmean(lags[half:] or [0])
        print(f"  mean in the first half {first:.1f} → second half {second:.1f} (growing = behind)")
    print(f"  all text on screen {pane['drain_s'] * 1000:.0f} ms after the server's last token")
    print(f"time to first token, median of {args.ttft_runs}:")
    print(f"  raw openai client        {raw_ms:7.1f} ms")
    print(f"  chat pane (Enter→shown) {pane_ms:7.1f} ms   overhead {pane_ms - raw_ms:+.1f} ms")
    to_server = statistics.median(pane["to_server"][1 : args.ttft_runs + 1]) * 1000
    print(f"    of which Enter→request at the server {to_server:.1f} ms")
    print(f"  chat pane, first turn    {pane['cold_ttft'] * 1000:7.1f} ms   (its first connection)")
    print(f"stop a stream stalled mid-answer (ChatClient.close), {len(stops)} of {args.ttft_runs}:")
    if stops:
        print(
            f"  median {statistics.median(stops) * 1000:.1f} ms, max {max(stops) * 1000:.1f} ms "
            "from close() to the stream's end"
        )


if __name__ == "__main__":
    main()

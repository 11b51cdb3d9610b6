"""The teacher client against a real loopback server that misbehaves on demand."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import pytest

from magitui_core.generation.teacher import (
    PromptTooLong,
    RequestFailed,
    TeacherClient,
    TeacherFatal,
    probe_endpoint,
    retry_after_seconds,
)
from magitui_core.generation.token_budget import answer_budget, estimate_tokens, token_counter
from tests.fake_secrets import fake_openai_key
from tests.generation.teacher_server import MISTRAL_SYSTEM_ERROR, TeacherServer

PROMPT = "Code snippet for inspiration:\n```\nx = 1\n```"


def run(client: TeacherClient, coroutine: Any) -> Any:
    async def main() -> Any:
        try:
            return await coroutine
        finally:
            await client.close()

    return asyncio.run(main())


def make_client(server: TeacherServer, **kwargs: Any) -> tuple[TeacherClient, list[tuple]]:
    warnings: list[tuple[str, str]] = []
    options = {"attempts": 4, "backoff_base": 0.01, **kwargs}
    client = TeacherClient(
        server.base_url,
        server.script.model,
        on_warning=lambda k, m: warnings.append((k, m)),
        **options,
    )
    return client, warnings


def test_plain_completion_without_system_fingerprint(teacher: Callable[..., TeacherServer]) -> None:
    server = teacher()
    client, warnings = make_client(server)
    completion = run(client, client.complete("sys", PROMPT, 256, 0.0))
    assert completion.text.startswith("[Problem Description]\nWrite code inspired by:\nx = 1")
    assert completion.finish_reason == "stop"
    assert completion.system_fingerprint is None
    assert completion.usage["completion_tokens"] > 0
    assert server.record.system_messages == 1 and not warnings


def test_system_role_rejection_switches_to_merged_turns_once(
    teacher: Callable[..., TeacherServer],
) -> None:
    server = teacher(reject_system=True)
    client, warnings = make_client(server)

    async def several() -> list[Any]:
        first = await client.complete("SYSTEM TEXT", PROMPT, 64, 0.0)
        rest = await asyncio.gather(
            *(client.complete("SYSTEM TEXT", PROMPT, 64, 0.0) for _ in range(5))
        )
        return [first, *rest]

    results = run(client, several())
    assert all(r.finish_reason == "stop" for r in results)
    assert client.merge_system
    # One rejected request, then every request carries the system text in the user turn.
    assert server.record.statuses[400] == 1 and server.record.statuses[200] == 6
    assert [k for k, _ in warnings] == ["system-role"]
    assert MISTRAL_SYSTEM_ERROR in warnings[0][1]


def test_rate_limits_honour_retry_after_and_lower_concurrency(
    teacher: Callable[..., TeacherServer],
) -> None:
    server = teacher(rate_limit_first=6, retry_after="0.3")
    client, warnings = make_client(server, concurrency=8, attempts=5)

    async def burst() -> tuple[list[Any], float]:
        started = time.monotonic()
        results = await asyncio.gather(*(client.complete("s", PROMPT, 64, 0.0) for _ in range(6)))
        return results, time.monotonic() - started

    results, elapsed = run(client, burst())
    assert len(results) == 6 and server.record.statuses[429] == 6
    assert elapsed >= 0.3  # every request waited for the Retry-After the server gave
    assert client.limit.limit < 8
    assert [k for k, _ in warnings] == ["rate-limited"]
    assert client.stats.rate_limited == 6 and client.stats.retries >= 6


def test_server_errors_are_retried_then_succeed(teacher: Callable[..., TeacherServer]) -> None:
    server = teacher(fail_first=2)
    client, _ = make_client(server)
    completion = run(client, client.complete("s", PROMPT, 64, 0.0))
    assert completion.finish_reason == "stop"
    assert server.record.statuses[500] == 2 and client.stats.retries == 2


def test_persistent_server_error_gives_up_on_that_request(
    teacher: Callable[..., TeacherServer],
) -> None:
    server = teacher()
    client, _ = make_client(server, attempts=3)
    with pytest.raises(RequestFailed, match=r"gave up after 3 attempts: server error 500"):
        run(client, client.complete("s", "```\nALWAYS500\n```", 64, 0.0))
    assert server.record.statuses[500] == 3


def test_slow_answer_times_out(teacher: Callable[..., TeacherServer]) -> None:
    server = teacher()
    client, _ = make_client(server, attempts=2, timeout=0.3)
    with pytest.raises(RequestFailed, match=r"gave up after 2 attempts: timed out"):
        run(client, client.complete("s", "```\nSLOW\n```", 64, 0.0))


def test_bad_key_and_unknown_model_are_fatal(teacher: Callable[..., TeacherServer]) -> None:
    server = teacher(api_key=fake_openai_key("right-key-0123456789"))
    client = TeacherClient(
        server.base_url, "teacher-model", fake_openai_key("wrong-key-0123456789"), attempts=3
    )
    with pytest.raises(TeacherFatal, match=r"refused the API key \(401\) — .*--api-key-env"):
        run(client, client.complete("s", PROMPT, 64, 0.0))
    assert server.record.statuses[401] == 1  # not retried
    client = TeacherClient(
        server.base_url, "no-such-model", fake_openai_key("right-key-0123456789")
    )
    with pytest.raises(TeacherFatal, match=r"not found \(404\) for model 'no-such-model'"):
        run(client, client.complete("s", PROMPT, 64, 0.0))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint_is_fatal_after_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    client = TeacherClient(url, "m", attempts=3, backoff_base=0.01)
    with pytest.raises(TeacherFatal, match=r"unreachable after 3 attempts .* start the server"):
        run(client, client.complete("s", PROMPT, 64, 0.0))


def test_models_and_context_budget(teacher: Callable[..., TeacherServer]) -> None:
    server = teacher(context_length=300)
    client, warnings = make_client(server)
    (model,) = run(client, client.list_models())
    assert (model.id, model.context_length) == ("teacher-model", 300)
    client, warnings = make_client(server)
    client.use_context_length(300)
    run(client, client.complete("sys", PROMPT, 2048, 0.0))
    (sent,) = server.record.max_tokens
    # upstream's rule: the context less the prompt's tokens (estimated here) less 10
    assert sent == 300 - estimate_tokens(PROMPT) - 10
    assert [k for k, _ in warnings] == ["token-estimate"]
    client, _ = make_client(server)
    client.use_context_length(300)
    with pytest.raises(PromptTooLong, match=r"prompt \(\d+ tokens\) leaves no room .* 300-token"):
        run(client, client.complete("sys", "word " * 1000, 2048, 0.0))
    assert len(server.record.max_tokens) == 1  # nothing was sent for it


def test_budget_is_upstreams_with_the_smaller_context(
    teacher: Callable[..., TeacherServer],
) -> None:
    """min(limit, context − prompt tokens − 10); the assumed 8192 unless the server says less;
    a prompt far shorter than the room left is never tokenized."""
    server = teacher()
    client = TeacherClient(server.base_url, "teacher-model", model_context=8192)
    assert client.budget([{"role": "user", "content": PROMPT}], 2500) == 2500
    assert client.counter is None  # short prompt: no tokenizer was loaded
    long_prompt = "x " * 3000  # 6000 bytes, ~2000 estimated tokens
    assert client.budget([{"role": "user", "content": long_prompt}], 8000) == (
        8192 - estimate_tokens(long_prompt) - 10
    )
    client.use_context_length(4096)  # the server's own, smaller: it would refuse more
    assert client.budget([{"role": "user", "content": long_prompt}], 2500) == (
        4096 - estimate_tokens(long_prompt) - 10
    )
    run(client, asyncio.sleep(0))  # closes the client


def test_token_counting_never_crashes_offline(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # tiktoken cannot download its files here: an OpenAI model falls back to the estimate.
    assert token_counter("gpt-4o-mini").count("hello world") > 0
    assert token_counter("mistralai/Mistral-7B-Instruct-v0.2").method.startswith("an estimate")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(["def add(a, b): return a + b"] * 5, trainers.BpeTrainer())
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    local = token_counter(str(tmp_path))
    assert local.exact and local.count("def add(a, b)") == len(
        tokenizer.encode("def add(a, b)").ids
    )
    assert estimate_tokens("abcdef") == 2
    assert answer_budget(2048, None, 100, margin=10) == 2048
    assert answer_budget(2048, 1000, 100, margin=10) == 1000 - 100 - 10
    assert answer_budget(2048, 100, 100, margin=10) is None


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    now = time.time()
    when = retry_after_seconds({"retry-after": formatdate(now + 30, usegmt=True)}, now=now)
    assert when is not None and 28 <= when <= 31
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"retry-after": "soon"}) is None


def test_probe_reports_models_latency_and_system_role(
    teacher: Callable[..., TeacherServer],
) -> None:
    ok = probe_endpoint(teacher().base_url, None, None)
    assert [m.id for m in ok.models] == ["teacher-model"] and ok.system_role is True
    assert ok.chat_latency is not None and ok.error is None
    mistral = probe_endpoint(teacher(reject_system=True).base_url, "teacher-model", None)
    assert mistral.system_role is False and mistral.error is None
    down = probe_endpoint(f"http://127.0.0.1:{free_port()}/v1", None, None)
    assert down.error and down.error.startswith("cannot reach http://127.0.0.1:")
    assert "resume" not in down.error  # a probe has nothing to resume
    # The commonest slip: the server's root without /v1 — say so instead of "no answer".
    root = teacher().base_url.removesuffix("/v1")
    bare = probe_endpoint(root, None, None)
    assert bare.error == (
        f"{root}/models is not found (404) — OpenAI-compatible APIs usually live under "
        f"/v1: try {root}/v1"
    )


def test_a_request_goes_out_byte_for_byte_as_the_sdk_sends_it() -> None:
    """The messages skip the SDK's schema walk (magitui_core.openai_body); the body must not."""
    import json

    import openai

    from tests.chat.scripted_server import Script, scripted_server

    answer = "[Problem Description]\nAdd two numbers.\n\n[Solution]\n```python\nx = 1\n```"
    with scripted_server(Script([answer], model="teacher-model")) as server:
        client = TeacherClient(server.base_url, "teacher-model", attempts=1)
        system = 'You are "exceptionally" skilled — ünïcode\n'
        completion = run(client, client.complete(system, PROMPT, 256, 0.0, seed=42))
        assert completion.text == answer
        ours = server.raw_bodies[-1]
        sdk = openai.OpenAI(base_url=server.base_url, api_key="not-needed", max_retries=0)
        sdk.chat.completions.create(
            model="teacher-model",
            messages=client.messages(system, PROMPT),  # type: ignore[arg-type]
            max_tokens=json.loads(ours)["max_tokens"],
            n=1,
            temperature=0.0,
            seed=42,
        )
        theirs = server.raw_bodies[-1]
    assert json.loads(ours)["messages"][0]["content"] == system
    assert ours == theirs

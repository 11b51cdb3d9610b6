"""How the engine hands out requests and writes answers: order, bytes, limits, odd failures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from magitui_core.generation import engine
from magitui_core.generation.engine import GenerationJob, GenerationSettings, run_generation
from magitui_core.generation.teacher import AdaptiveLimit, TeacherClient
from magitui_core.generation.teacher_pool import TeacherPool
from magitui_core.generation.token_budget import estimate_tokens
from tests.generation.conftest import read_jsonl, write_seed_lines
from tests.generation.teacher_server import TeacherServer
from tests.generation.test_generation import Recorder


def settings(server: TeacherServer, seeds: Path, out: Path, **extra: Any) -> GenerationSettings:
    return GenerationSettings(
        base_url=server.base_url,
        model=server.script.model,
        seeds=str(seeds),
        out=out,
        **{"count": 12, "concurrency": 1, "attempts": 2, "backoff_base": 0.01, **extra},
    )


def test_indices_go_out_in_order_and_lines_keep_their_bytes(
    teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    server = teacher()
    lines = [f"nom_{i} = 'é{i}' # ✓" for i in range(12)]
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", lines)
    out = tmp_path / "gen.jsonl"
    summary = run_generation(settings(server, seeds, out))
    assert summary["state"] == "completed" and summary["accepted"] == 12
    # One request at a time: sent in index order, each with upstream's seed.
    assert [r["seed"] for r in server.record.requests] == [976 + i for i in range(12)]
    text = out.read_text(encoding="utf-8")
    written = text.splitlines()
    assert [json.loads(line)["index"] for line in written] == list(range(12))
    for line in written:  # compact, non-ASCII kept as is: the bytes upstream's json.dumps gives
        assert line == json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":"))
    assert "é0" in text and "\\u" not in text


def test_many_workers_send_every_index_once(
    teacher: Callable[..., TeacherServer], tmp_path: Path
) -> None:
    server = teacher(latency=0.02)
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", [f"v_{i} = {i}" for i in range(300)])
    out = tmp_path / "gen.jsonl"
    recorder = Recorder()
    summary = run_generation(settings(server, seeds, out, count=300, concurrency=16), recorder)
    assert summary["state"] == "completed" and summary["done"] == 300
    sent = sorted(r["seed"] - 976 for r in server.record.requests)
    assert sent == list(range(300))
    assert 1 < server.record.peak_in_flight <= 16  # the workers ask side by side, never more
    assert sorted(r["index"] for r in read_jsonl(out)) == list(range(300))
    final = recorder.of("progress")[-1]
    assert final["done"] == 300 and final["in_flight"] == 0


def test_a_bug_on_one_index_costs_neither_the_worker_nor_the_other_indices(
    teacher: Callable[..., TeacherServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = teacher()
    lines = [f"ok_{i} = {i}" for i in range(6)]
    lines[2] = "BOOM = 1"
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", lines)
    real_classify = engine.classify

    def classify(text: str, finish_reason: str | None) -> Any:
        if "BOOM" in text:
            raise RuntimeError("a bug")
        return real_classify(text, finish_reason)

    monkeypatch.setattr(engine, "classify", classify)
    recorder = Recorder()
    out = tmp_path / "gen.jsonl"
    summary = run_generation(settings(server, seeds, out, count=6), recorder)
    # One worker: it went on past the failing index, which is left for a rerun.
    assert sorted(r["index"] for r in read_jsonl(out)) == [0, 1, 3, 4, 5]
    assert summary["done"] == 5 and recorder.of("warning") == ["unexpected-error"]
    monkeypatch.setattr(engine, "classify", real_classify)
    again = run_generation(settings(server, seeds, out, count=6))
    assert again["state"] == "completed" and again["generated_now"] == 1


def test_the_limit_queues_in_order_once_full() -> None:
    async def settle() -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    async def scenario() -> None:
        limit = AdaptiveLimit(2)
        order: list[str] = []
        await limit.acquire()
        await limit.acquire()
        assert limit.in_flight == 2

        async def wait_turn(name: str) -> None:
            await limit.acquire()
            order.append(name)

        waiters = [asyncio.create_task(wait_turn(name)) for name in ("a", "b", "c")]
        await settle()
        assert order == [] and limit.in_flight == 2
        await limit.release()
        await settle()
        assert order == ["a"] and limit.in_flight == 2
        await limit.release()
        await settle()
        assert order == ["a", "b"]
        limit.rate_limited()  # halved to 1 while 2 are out: the next waits for both
        await limit.release()
        await settle()
        assert order == ["a", "b"] and limit.in_flight == 1
        await limit.release()
        await asyncio.gather(*waiters)
        assert order == ["a", "b", "c"] and limit.in_flight == 1
        await limit.release()
        assert limit.in_flight == 0

    asyncio.run(scenario())


def test_a_prompt_of_wide_characters_is_cleared_without_a_tokenizer(
    teacher: Callable[..., TeacherServer],
) -> None:
    server = teacher()
    client = TeacherClient(server.base_url, "teacher-model", model_context=8192)
    # 2 000 characters, 4 000 bytes: past the 4-bytes-a-character shortcut (8 001 > 5 682),
    # within the byte bound (4 001 ≤ 5 682).
    assert client.budget([{"role": "user", "content": "é" * 2000}], 2500) == 2500
    assert client.counter is None
    wide = "😀" * 5000  # 20 000 bytes: counted, and the budget shrinks by upstream's formula
    assert client.budget([{"role": "user", "content": wide}], 2500) == (
        8192 - estimate_tokens(wide) - 10
    )
    assert client.counter is not None

    async def close() -> None:
        await client.close()

    asyncio.run(close())


def test_no_request_goes_out_while_its_workers_last_answer_is_unwritten(
    teacher: Callable[..., TeacherServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answers are written in batches, yet a failed write still leaves at most `concurrency`
    answers paid for and lost: unwritten answers and requests in flight never exceed it."""
    server = teacher()
    seeds = write_seed_lines(tmp_path / "seeds.jsonl", [f"v_{i} = {i}" for i in range(200)])
    job = GenerationJob(settings(server, seeds, tmp_path / "gen.jsonl", count=200, concurrency=8))
    at_send: list[int] = []
    real_complete = TeacherPool.complete

    async def complete(pool: TeacherPool, *args: Any, **kwargs: Any) -> Any:
        at_send.append(job.output.queued + pool.in_flight + 1)
        return await real_complete(pool, *args, **kwargs)

    monkeypatch.setattr(TeacherPool, "complete", complete)
    summary = asyncio.run(job.run())
    assert summary["state"] == "completed" and len(at_send) == 200
    assert max(at_send) <= 8

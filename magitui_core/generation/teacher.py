"""The teacher: any OpenAI-compatible chat endpoint, driven hard but politely.

- bounded concurrency that halves under sustained 429s and creeps back up;
- retries with exponential backoff and full jitter on 429, 5xx, timeouts and
  connection errors, honouring Retry-After;
- quirks handled once and reported once: a server whose chat template rejects the
  ``system`` role (vLLM + Mistral) gets the system text merged into the user turn
  for the rest of the run; a missing ``system_fingerprint`` is simply fine;
- ``max_tokens`` as upstream sets it: min(limit, context − prompt tokens − 10), the
  context being 8192 unless the server reports a smaller one; ``n`` 1 and the given seed;
- fatal problems (bad key, unknown model, unreachable endpoint) raise TeacherFatal
  with one line naming the fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from magitui_core.generation.settings import (
    DEFAULT_ATTEMPTS,
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT,
    PROMPT_MARGIN,
)
from magitui_core.generation.token_budget import (
    TokenCounter,
    answer_budget,
    token_counter,
)
from magitui_core.openai_body import plain_messages

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
MAX_RETRY_AFTER = 120.0
# Phrases servers use when a chat template refuses a system message.
SYSTEM_ROLE_REJECTIONS = (
    "roles must alternate",
    "system role not supported",
    "system role is not supported",
    "system message is not supported",
    "does not support system",
    "role 'system'",
    'role "system"',
)
CONTEXT_KEYS = ("max_model_len", "context_length", "context_window", "max_context_length")


class TeacherFatal(Exception):
    """The generation cannot go on (bad key, unknown model, endpoint gone)."""


class TeacherUnreachable(TeacherFatal):
    """No answer at all (connection refused, DNS, timeouts) after every attempt."""

    def __init__(self, message: str, problem: str) -> None:
        super().__init__(message)
        self.problem = problem


class RequestFailed(Exception):
    """This one request gave up; the run goes on."""


class PromptTooLong(Exception):
    """The prompt leaves no room for an answer in the model's context: no request is sent.

    Final for this index (upstream skips it too), unlike RequestFailed, which a rerun retries.
    """


@dataclass(frozen=True)
class ModelInfo:
    id: str
    context_length: int | None = None
    owned_by: str | None = None


@dataclass
class Completion:
    text: str
    finish_reason: str | None
    usage: dict[str, Any]
    model: str
    latency: float
    system_fingerprint: str | None = None


@dataclass
class TeacherStats:
    requests: int = 0  # HTTP attempts that got an answer or an error
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latencies: list[float] = field(default_factory=list)


def _headers(exc: openai.APIStatusError) -> Any:
    return getattr(exc.response, "headers", {}) or {}


def retry_after_seconds(headers: Any, now: float | None = None) -> float | None:
    """Seconds a server asked us to wait: retry-after-ms, Retry-After seconds or HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


def backoff_delay(attempt: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Full jitter: spreads many workers' retries instead of retrying in lockstep."""
    return random.uniform(0, min(cap, base * 2**attempt))


def rejects_system_role(exc: openai.APIStatusError) -> bool:
    text = f"{exc.message} {exc.body}".lower()
    return any(phrase in text for phrase in SYSTEM_ROLE_REJECTIONS)


def _error_text(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
        if isinstance(inner, str):
            return inner[:300]
    return str(exc.message)[:300]


class AdaptiveLimit:
    """A concurrency limit that halves under 429s and grows back one slot at a time."""

    def __init__(self, limit: int, on_lowered: Callable[[int], None] | None = None) -> None:
        self.maximum = max(1, limit)
        self.limit = self.maximum
        self.in_flight = 0
        self._condition = asyncio.Condition()
        self._waiting = 0  # requests queued on the condition for a free slot
        self._successes = 0
        self._last_cut = 0.0
        self._on_lowered = on_lowered

    async def acquire(self) -> None:
        # A free slot and nobody queued before us: take it without the condition's lock (one
        # event loop, no await in between), which is every request while under the limit.
        if not self._waiting and self.in_flight < self.limit:
            self.in_flight += 1
            return
        self._waiting += 1
        try:
            async with self._condition:
                await self._condition.wait_for(lambda: self.in_flight < self.limit)
                self.in_flight += 1
        finally:
            self._waiting -= 1

    async def release(self) -> None:
        self.in_flight -= 1
        if self._waiting:
            async with self._condition:
                self._condition.notify_all()

    def rate_limited(self) -> None:
        # A burst of 429s from one overload is one signal, not many: cut at most once a second.
        now = time.monotonic()
        if now - self._last_cut < 1.0 or self.limit == 1:
            return
        self._last_cut = now
        self.limit = max(1, self.limit // 2)
        self._successes = 0
        if self._on_lowered:
            self._on_lowered(self.limit)

    async def succeeded(self) -> None:
        if self.limit >= self.maximum:
            return
        self._successes += 1
        if self._successes >= self.limit:  # additive increase: +1 per window of successes
            self._successes = 0
            async with self._condition:
                self.limit += 1
                self._condition.notify_all()


class TeacherClient:
    """Chat completions against one OpenAI-compatible endpoint."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float = DEFAULT_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff_base: float = BACKOFF_BASE,
        on_warning: Callable[[str, str], None] | None = None,
        model_context: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # The context the answer budget assumes (upstream: 8192 whatever the model); a smaller
        # one the server reports wins, since the server would refuse a larger max_tokens.
        self.model_context = model_context
        self.model = model
        self.attempts = max(1, attempts)
        self.backoff_base = backoff_base
        self._warn = on_warning or (lambda key, message: None)
        # Retries are ours (with Retry-After and concurrency feedback), not the library's.
        self.client = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key or "EMPTY",  # local servers take any key; the library wants one
            max_retries=0,
            timeout=timeout,
        )
        self.limit = AdaptiveLimit(concurrency, self._concurrency_lowered)
        self.merge_system = False
        self.context_length: int | None = None
        self.counter: TokenCounter | None = None
        self.stats = TeacherStats()

    def _concurrency_lowered(self, limit: int) -> None:
        self._warn(
            "rate-limited",
            f"the teacher is rate limiting (429): concurrency lowered to {limit}; "
            "it grows back as requests succeed",
        )

    async def close(self) -> None:
        await self.client.close()

    # ---- models --------------------------------------------------------------------------
    async def list_models(self) -> list[ModelInfo]:
        """Models the endpoint serves, with their context length when it says."""
        page = await self._call(lambda: self.client.models.list(), what="list models")
        models = []
        for item in page.data:
            extra = item.model_extra or {}
            context = next(
                (int(extra[k]) for k in CONTEXT_KEYS if isinstance(extra.get(k), int)), None
            )
            models.append(ModelInfo(item.id, context, getattr(item, "owned_by", None)))
        return models

    def use_context_length(self, context_length: int | None) -> None:
        self.context_length = context_length

    # ---- completions ---------------------------------------------------------------------
    def messages(self, system: str, user: str) -> list[dict[str, str]]:
        if self.merge_system or not system:
            return [{"role": "user", "content": f"{system}\n\n{user}" if system else user}]
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def budget(self, messages: list[dict[str, str]], limit: int) -> int:
        """Upstream's max_tokens: min(limit, context − tokens of the prompt − 10).

        Upstream counts the user prompt alone (the system text and chat markers are what its
        margin of 10 is for); when the system text is merged into the user turn, that is what
        is counted.
        """
        contexts = [c for c in (self.model_context, self.context_length) if c]
        if not contexts:
            return limit
        context = min(contexts)
        prompt = messages[-1]["content"]
        # A token is at least one byte (byte-level BPE, the estimate; a SentencePiece
        # tokenizer's leading "▁" at most one more), so a prompt this short cannot make the
        # budget smaller than the limit: no tokenizer run for the usual request. A character
        # is at most 4 bytes in UTF-8, so most prompts are cleared without encoding them.
        room = context - PROMPT_MARGIN - limit
        if 4 * len(prompt) + 1 <= room or len(prompt.encode("utf-8")) + 1 <= room:
            return limit
        if self.counter is None:
            self.counter = token_counter(self.model)
            if not self.counter.exact:
                self._warn(
                    "token-estimate",
                    f"no tokenizer for {self.model} offline: token budgets use "
                    f"{self.counter.method}",
                )
        tokens = self.counter.count(prompt)
        budget = answer_budget(limit, context, tokens, margin=PROMPT_MARGIN)
        if budget is None:
            raise PromptTooLong(
                f"the prompt ({tokens} tokens) leaves no room for an answer in the "
                f"{context}-token context"
            )
        return budget

    async def complete(
        self, system: str, user: str, max_tokens: int, temperature: float, seed: int | None = None
    ) -> Completion:
        """One chat completion, with retries; RequestFailed when it finally gives up."""
        while True:
            messages = self.messages(system, user)
            merged = self.merge_system
            extra: dict[str, Any] = {}
            if seed is not None:
                extra["seed"] = seed
            budget = self.budget(messages, max_tokens)  # PromptTooLong: nothing is sent
            started = time.monotonic()
            request = functools.partial(
                self.client.chat.completions.create,
                model=self.model,
                **plain_messages(messages),  # past the SDK's schema walk of each message
                max_tokens=budget,
                n=1,
                temperature=temperature,
                **extra,
            )
            try:
                response = await self._call(request, what="chat completion")
            except openai.BadRequestError as exc:
                if not merged and rejects_system_role(exc):
                    if not self.merge_system:
                        self.merge_system = True
                        self._warn(
                            "system-role",
                            "the teacher rejects the system role "
                            f"({_error_text(exc)}): the system text now goes into the user "
                            "turn for the rest of the run",
                        )
                    continue
                raise RequestFailed(f"400 from the teacher: {_error_text(exc)}") from None
            break
        latency = time.monotonic() - started
        choice = response.choices[0] if response.choices else None
        usage = response.usage.model_dump(exclude_none=True) if response.usage else {}
        self.stats.prompt_tokens += int(usage.get("prompt_tokens") or 0)
        self.stats.completion_tokens += int(usage.get("completion_tokens") or 0)
        self.stats.latencies.append(latency)
        if len(self.stats.latencies) > 1000:
            del self.stats.latencies[:500]
        return Completion(
            text=(choice.message.content or "") if choice else "",
            finish_reason=choice.finish_reason if choice else None,
            usage=usage,
            model=response.model or self.model,
            latency=latency,
            # vLLM and transformers serve send none; nothing depends on it.
            system_fingerprint=getattr(response, "system_fingerprint", None),
        )

    async def _call(self, make: Callable[[], Any], what: str) -> Any:
        """Run one request under the concurrency limit, retrying what is worth retrying."""
        last_problem = ""
        unreachable = False
        for attempt in range(self.attempts):
            await self.limit.acquire()
            try:
                self.stats.requests += 1
                result = await make()
            except openai.AuthenticationError:
                raise TeacherFatal(
                    f"the teacher at {self.base_url} refused the API key (401) — set the right "
                    "key in the variable named by --api-key-env (default OPENAI_API_KEY) or run "
                    "`magitui credentials set openai_api_key`"
                ) from None
            except openai.PermissionDeniedError as exc:
                raise TeacherFatal(
                    f"the teacher at {self.base_url} denied access (403): {_error_text(exc)} — "
                    "check the key's permissions for this model"
                ) from None
            except openai.NotFoundError as exc:
                raise TeacherFatal(
                    f"{what} at {self.base_url}: not found (404) for model {self.model!r}: "
                    f"{_error_text(exc)} — check --model (magitui generate --list-models) and "
                    "that --base-url ends with /v1"
                ) from None
            except openai.RateLimitError as exc:
                self.stats.rate_limited += 1
                self.limit.rate_limited()
                wait = retry_after_seconds(_headers(exc))
                delay = (
                    min(wait, MAX_RETRY_AFTER) + random.uniform(0, 0.1 * max(wait, 0.1))
                    if wait is not None
                    else backoff_delay(attempt, self.backoff_base)
                )
                last_problem, unreachable = f"rate limited (429): {_error_text(exc)}", False
            except openai.APITimeoutError:
                delay = backoff_delay(attempt, self.backoff_base)
                last_problem, unreachable = "timed out", False
            except openai.APIConnectionError as exc:
                delay = backoff_delay(attempt, self.backoff_base)
                cause = exc.__cause__ or exc
                last_problem, unreachable = f"cannot connect ({cause})", True
            except openai.APIStatusError as exc:
                if exc.status_code < 500 and exc.status_code not in (408, 409):
                    raise  # 400 and other client errors: the caller decides
                self.stats.server_errors += 1
                wait = retry_after_seconds(_headers(exc))
                delay = (
                    min(wait, MAX_RETRY_AFTER)
                    if wait is not None
                    else backoff_delay(attempt, self.backoff_base)
                )
                last_problem = f"server error {exc.status_code}: {_error_text(exc)}"
                unreachable = False
            else:
                await self.limit.succeeded()
                return result
            finally:
                await self.limit.release()
            if attempt + 1 < self.attempts:
                self.stats.retries += 1
                await asyncio.sleep(delay)
        if unreachable:
            raise TeacherUnreachable(
                f"the teacher at {self.base_url} is unreachable after {self.attempts} attempts "
                f"({last_problem}) — start the server or fix --base-url; rerun the same command "
                "to resume",
                str(last_problem),
            )
        raise RequestFailed(f"{what} gave up after {self.attempts} attempts: {last_problem}")


@dataclass
class EndpointProbe:
    """What a quick test of an endpoint found: models, latency, system-role support."""

    base_url: str
    models: list[ModelInfo] = field(default_factory=list)
    models_latency: float | None = None
    model: str | None = None
    chat_latency: float | None = None
    system_role: bool | None = None  # None: not tested (no model given or chat failed)
    error: str | None = None


async def probe_endpoint_async(
    base_url: str, model: str | None, api_key: str | None, timeout: float = 30.0
) -> EndpointProbe:
    result = EndpointProbe(base_url)
    client = TeacherClient(base_url, model or "", api_key, timeout=timeout, attempts=1)
    try:
        started = time.monotonic()
        models_missing = False
        try:
            result.models = await client.list_models()
            result.models_latency = time.monotonic() - started
        except TeacherUnreachable as exc:  # a probe is not a run: nothing to resume
            result.error = (
                f"cannot reach {base_url} ({exc.problem}) — start the server or fix the URL"
            )
            return result
        except (TeacherFatal, RequestFailed) as exc:
            if "404" not in str(exc):
                result.error = str(exc)
                return result
            models_missing = True
        chosen = model or (result.models[0].id if result.models else None)
        if not chosen:
            result.error = _no_model_hint(base_url, models_missing)
            return result
        result.model = client.model = chosen
        started = time.monotonic()
        try:
            await client.complete("Reply with OK.", "Say OK.", max_tokens=8, temperature=0.0)
        except (TeacherFatal, RequestFailed) as exc:
            result.error = str(exc)
            return result
        result.chat_latency = time.monotonic() - started
        result.system_role = not client.merge_system
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    return result


def _no_model_hint(base_url: str, models_missing: bool) -> str:
    """Why a probe found no model to try, and what to do about it."""
    root = base_url.rstrip("/")
    if models_missing and not root.endswith("/v1"):
        return (
            f"{root}/models is not found (404) — OpenAI-compatible APIs usually live under "
            f"/v1: try {root}/v1"
        )
    if models_missing:
        return f"{root} has no /models list (404) — fill in Model and test again"
    return f"{root} lists no models — fill in Model and test again"


def probe_endpoint(
    base_url: str, model: str | None, api_key: str | None, timeout: float = 30.0
) -> EndpointProbe:
    """Test an endpoint (blocking): list its models and send one tiny chat request."""
    return asyncio.run(probe_endpoint_async(base_url, model, api_key, timeout))

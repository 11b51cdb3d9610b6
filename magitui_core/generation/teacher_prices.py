"""Cost estimates for OpenAI teachers: a small price table the user can edit.

Prices are US dollars per million tokens (input, output). The built-in table is
a starting point and prices change: ``teacher_prices.toml`` beside config.toml
overrides or adds models, e.g.::

    ["gpt-4o-mini"]
    input = 0.15
    output = 0.60
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from magitui_core import paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PRICES_FILE = "teacher_prices.toml"

# USD per 1M tokens (input, output), list prices when this table was written.
BUILT_IN: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-3.5-turbo": (0.50, 1.50),
    "gpt-3.5-turbo-1106": (1.00, 2.00),  # the model Magicoder's paper used
}


@dataclass(frozen=True)
class PriceTable:
    prices: dict[str, tuple[float, float]]
    path: Path
    warnings: tuple[str, ...] = ()

    def price(self, model: str) -> tuple[float, float] | None:
        """Exact name first, then the longest known prefix (dated snapshots: gpt-4o-2024-08-06)."""
        if model in self.prices:
            return self.prices[model]
        matches = [name for name in self.prices if model.startswith(name)]
        return self.prices[max(matches, key=len)] if matches else None

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        price = self.price(model)
        if price is None:
            return None
        return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000


def prices_path() -> Path:
    return paths.config_dir() / PRICES_FILE


def load_prices(path: Path | None = None) -> PriceTable:
    """The built-in table with the user's file on top; a bad file is reported, not fatal."""
    file = path or prices_path()
    prices = dict(BUILT_IN)
    warnings: list[str] = []
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            return PriceTable(
                prices, file, (f"{file}: cannot read ({exc}); using built-in prices",)
            )
        for model, entry in data.items():
            try:
                prices[model] = (float(entry["input"]), float(entry["output"]))
            except (TypeError, KeyError, ValueError):
                warnings.append(
                    f'{file}: ["{model}"] needs input = and output = numbers (USD per 1M tokens)'
                )
    return PriceTable(prices, file, tuple(warnings))

"""A one-line choice among fixed values, the first (the recipe's) chosen: how the app's forms
ask for an option such as dedupe, benchmark or precision."""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import Select


def choice(values: Sequence[str], id: str, classes: str | None = None) -> Select[str]:
    return Select(
        [(value, value) for value in values],
        value=values[0],
        allow_blank=False,
        compact=True,
        id=id,
        classes=classes,
    )

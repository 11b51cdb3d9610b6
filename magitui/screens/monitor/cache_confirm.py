"""The confirmation before deleting from the cache: every item that goes, with its
size, what stays and why, in a scrollable list; No is focused, as in ConfirmScreen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from magitui.widgets.confirm import ConfirmScreen
from magitui_core.cache.catalog import format_size
from magitui_core.cache.delete import DeletionPlan


class CacheDeleteConfirm(ConfirmScreen):
    def __init__(self, plan: DeletionPlan) -> None:
        count = len(plan.items)
        items = f"{count} item{'s' if count != 1 else ''}"
        super().__init__(
            f"Delete {items} · free {format_size(plan.freed_bytes)}",
            Content(""),
            yes_label="Delete",
        )
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm cache-confirm") as dialog:
            dialog.border_title = self._title
            yield Static(
                Content.from_markup(
                    "These go from disk [b]for good[/b] (they can be downloaded again):"
                ),
                classes="dialog-message",
            )
            with VerticalScroll(classes="dialog-scroll cache-confirm-list"):
                yield Static(Content("\n").join(Content(line) for line in self.plan.describe()))
            yield Static(
                Content.from_markup(
                    "[b]$total[/b] will be freed. Nothing outside the scanned caches is touched.",
                    total=format_size(self.plan.freed_bytes),
                ),
                classes="dialog-message cache-confirm-total",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("No", id="no", variant="primary")
                yield Button(f"{self._yes_label} (y)", id="yes", variant="error")

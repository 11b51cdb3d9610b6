"""Command palette entries for the sections: "Go to Home", "Go to Train", …"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import ModalScreen

from magitui.sections import SECTIONS

if TYPE_CHECKING:
    from magitui.app import MagituiApp


class SectionCommands(Provider):
    def _commands(self) -> list[tuple[str, str, partial[None]]]:
        app = cast("MagituiApp", self.app)
        # Opened over a dialog: switching sections would strand the dialog behind.
        if not app.has_context or isinstance(self.screen, ModalScreen):
            return []
        return [
            (
                f"Go to {section.title}",
                f"{section.summary} (key {section.key})",
                partial(app.action_switch_section, section.mode),
            )
            for section in SECTIONS
        ]

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)

"""The key footer, rebuilt only when the keys it shows change.

Textual's Footer recomposes (every key widget made, mounted and styled anew) on each
bindings refresh, and a refresh comes with every focus change and every state a screen
reports. At start-up that was four rebuilds of one footer, and a tour of the sections
forty-seven. This one looks, once per frame, at what it would show (key, label, enabled,
tooltip, group) and rebuilds only when that differs from what it shows.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

Shown = tuple[tuple[object, ...], ...]


def _shown_keys(screen: Screen[object]) -> Shown:
    return tuple(
        (binding.key, binding.action, binding.description, enabled, tooltip, binding.group)
        for _node, binding, enabled, tooltip in screen.active_bindings.values()
        if binding.show
    )


class KeyFooter(Footer):
    _shown: Shown | None = None
    _looking = False

    def bindings_changed(self, screen: Screen[object]) -> None:
        if not (screen.app.app_focus and self.is_attached and screen is self.screen):
            super().bindings_changed(screen)
            return
        if not self._looking:  # several refreshes in one frame: one look
            self._looking = True
            # After the refresh, as the Footer's own rebuild does: the screen's widgets
            # that its key states depend on are mounted by then.
            self.call_after_refresh(self._rebuild_if_changed, screen)

    async def _rebuild_if_changed(self, screen: Screen[object]) -> None:
        self._looking = False
        # Only for the screen on display: a "screen." action is checked against the current
        # screen, so another screen's keys cannot be read (it looks again when resumed).
        if not (self.is_attached and screen is self.screen and screen.is_current):
            return
        keys = _shown_keys(screen)
        if keys != self._shown:
            self._shown = keys
            # What Footer.bindings_changed does, less its wait for one more refresh: the keys
            # show on the same frame as with the stock footer.
            self._bindings_ready = True
            await self.recompose()

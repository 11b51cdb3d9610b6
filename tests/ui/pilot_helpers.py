"""Driving the app in tests: run a scenario, wait for conditions, read the screen as text."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

from magitui.app import MagituiApp

Scenario = Callable[[Pilot[None]], Awaitable[None]]


def drive(app: MagituiApp, scenario: Scenario, size: tuple[int, int] = (80, 24)) -> None:
    """Run ``scenario`` against ``app`` headless at ``size`` (80x24 unless told)."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await scenario(pilot)

    asyncio.run(main())


async def settle(pilot: Pilot[None]) -> None:
    """Let pending messages, the polls in flight and their renders finish."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def wait_until(
    pilot: Pilot[None], condition: Callable[[], object], what: str, timeout: float = 15.0
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)


def screen_text(app: object) -> str:
    """The visible screen as plain text, one line per row."""
    screen = app.screen  # type: ignore[attr-defined]
    return "\n".join(strip.text for strip in screen._compositor.render_strips())


def notifications(app: MagituiApp) -> list[tuple[str, str, str]]:
    """(severity, title, message) of the notifications currently shown."""
    return [(n.severity, n.title, n.message) for n in app._notifications]

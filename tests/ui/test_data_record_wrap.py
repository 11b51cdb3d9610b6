"""Data › Enter: a record's code wraps in its pane instead of running off the edge."""

from __future__ import annotations

import json

from pilot_helpers import drive, screen_text, settle, wait_until
from textual.pilot import Pilot

from magitui.app import MagituiApp
from magitui.screens.data.record_view import RecordScreen
from magitui_core.context import Context


def test_a_long_line_of_code_wraps_in_the_record_pane(ctx: Context) -> None:
    run = ctx.workspace.create_run("r1")
    long = "x = compute(" + ", ".join(f"argument_{i}" for i in range(30)) + ")  # END_OF_LINE"
    record = {"seed": "s", "problem": "Write it", "solution": f"```python\n{long}\n```"}
    (run.path / "data" / "generated.jsonl").write_text(json.dumps(record) + "\n")

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("d")
        await wait_until(pilot, lambda: "1 row" in screen_text(pilot.app), "the file")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, RecordScreen)
        text = screen_text(pilot.app)
        assert "argument_29)" in text and "END_OF_LINE" in text  # nothing cut

    drive(MagituiApp(context=ctx), scenario, size=(100, 30))

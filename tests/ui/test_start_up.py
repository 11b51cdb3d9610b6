"""Start-up: bare `magitui` collects no garbage until its first frame is up; the app then
collects once and turns collection back on, with the start-up objects frozen out of it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PROBE = textwrap.dedent(
    """
    import gc
    import magitui.app
    import magitui.entry

    seen = []

    async def first_frame(pilot):
        await pilot.pause(magitui.app.START_UP_SETTLED + 0.3)
        print("collecting", gc.isenabled(), "frozen", gc.get_freeze_count() > 0)
        gc.unfreeze()  # garbage frozen with the live objects would show up now
        print("garbage left", gc.collect())
        pilot.app.exit()

    def run_app(context):
        seen.append(gc.isenabled())  # as the entry point hands over
        magitui.app.MagituiApp(context=context).run(
            headless=True, size=(80, 24), auto_pilot=first_frame
        )

    magitui.app.run_app = run_app
    magitui.entry.sys.argv = ["magitui"]
    magitui.entry.main()
    print("while starting", seen)
    """
)


def test_collection_is_off_while_starting_and_back_on_after_the_first_frame(
    isolated: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "while starting [False]" in result.stdout
    assert "collecting True frozen True" in result.stdout
    # What start-up left in reference cycles was collected before the rest was frozen.
    left = int(result.stdout.split("garbage left ")[1].split()[0])
    assert left < 1000, left

"""Render the README's screenshot: the Home screen over a sample workspace, as SVG.

python docs/screenshot.py   # writes docs/screenshot.svg
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from textual.pilot import Pilot

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "ui"))


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="magitui-screenshot-"))
    os.environ["MAGITUI_CONFIG"] = str(base / "config.toml")
    os.environ["MAGITUI_CREDENTIALS"] = str(base / "credentials.toml")
    os.environ["HOME"] = str(base)  # so the title shows the usual ~/.local/share/magitui
    workspace = base / ".local" / "share" / "magitui"
    os.environ["MAGITUI_HOME"] = str(workspace)
    os.environ["TZ"] = "UTC"

    from snapshot_data import fill_workspace  # the same sample data as the snapshot tests

    from magitui.app import MagituiApp

    fill_workspace(workspace)

    async def shoot(pilot: Pilot[None]) -> None:
        await pilot.pause(0.5)
        pilot.app.save_screenshot("screenshot.svg", str(ROOT / "docs"))
        pilot.app.exit()

    MagituiApp().run(headless=True, size=(100, 30), auto_pilot=shoot)
    print(ROOT / "docs" / "screenshot.svg")


if __name__ == "__main__":
    main()

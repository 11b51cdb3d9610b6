"""Layering rules, proven in fresh interpreters (an in-process check would see test imports).

- magitui_core never loads textual or rich: the engine runs headless and in job processes.
- the running TUI never loads torch, transformers, deepspeed or datasets: start-up stays fast and a
  broken CUDA install cannot take the UI down.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import textwrap

import pytest

import magitui_core

UI_LIBRARIES = ("textual", "rich")
HEAVY_LIBRARIES = ("torch", "transformers", "deepspeed", "datasets", "accelerate")

CORE_MODULES = sorted(f"magitui_core.{m.name}" for m in pkgutil.iter_modules(magitui_core.__path__))


def loaded_roots(code: str) -> set[str]:
    probe = (
        code
        + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_never_loads_the_ui(module: str) -> None:
    loaded = loaded_roots(f"import {module}")
    assert not loaded & set(UI_LIBRARIES), f"{module} loads {loaded & set(UI_LIBRARIES)}"


def test_core_has_modules_to_check() -> None:
    assert {"magitui_core.jobs", "magitui_core.config", "magitui_core.workspace"} <= set(
        CORE_MODULES
    )


def test_running_tui_never_loads_heavy_libraries(isolated: object) -> None:
    """Start the real app headless, visit every screen, then look at sys.modules."""
    code = textwrap.dedent(
        """
        from magitui.app import MagituiApp

        async def tour(pilot):
            for key in "sgdtmch":
                await pilot.press(key)
                await pilot.pause()
            pilot.app.exit()

        MagituiApp().run(headless=True, size=(80, 24), auto_pilot=tour)
        """
    )
    loaded = loaded_roots(code)
    assert "textual" in loaded  # the probe really ran the app
    assert not loaded & set(HEAVY_LIBRARIES), f"the TUI loaded {loaded & set(HEAVY_LIBRARIES)}"

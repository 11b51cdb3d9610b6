"""Layering rules, proven in fresh interpreters (an in-process check would see test imports).

- magitui_core (every stage package and every shared module) never loads textual, rich or the UI
  package: the engine runs headless and in job processes.
- the modules every stage shares never import a stage: imports point down the layers.
- the running TUI never loads torch, transformers, deepspeed or datasets: start-up stays fast and a
  broken CUDA install cannot take the UI down.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import magitui_core

UI_LIBRARIES = ("textual", "rich", "magitui")
HEAVY_LIBRARIES = ("torch", "transformers", "deepspeed", "datasets", "accelerate")

CORE_MODULES = sorted(
    m.name for m in pkgutil.walk_packages(magitui_core.__path__, prefix="magitui_core.")
)
STAGES = sorted(
    f"magitui_core.{m.name}" for m in pkgutil.iter_modules(magitui_core.__path__) if m.ispkg
)
SHARED = sorted(
    f"magitui_core.{m.name}" for m in pkgutil.iter_modules(magitui_core.__path__) if not m.ispkg
)
# `context` is what a front end opens first (config, workspace and the job manager together), so
# it alone of the shared modules sits above the jobs stage.
SHARED_ALLOWED_STAGES = {"magitui_core.context": {"magitui_core.jobs"}}


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
    assert {"magitui_core.jobs.manager", "magitui_core.config", "magitui_core.workspace"} <= set(
        CORE_MODULES
    )
    assert {"magitui_core.generation", "magitui_core.training", "magitui_core.cache"} <= set(STAGES)


def imported_modules(module: str) -> set[str]:
    """Every magitui_core module named by an import anywhere in MODULE, deferred ones included."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("magitui_core.")}


@pytest.mark.parametrize("module", SHARED)
def test_shared_modules_never_import_a_stage(module: str) -> None:
    allowed = SHARED_ALLOWED_STAGES.get(module, set())
    stages = {
        stage
        for name in imported_modules(module)
        for stage in STAGES
        if name == stage or name.startswith(stage + ".")
    }
    assert stages <= allowed, f"{module} imports the stages {sorted(stages - allowed)}"


def test_running_tui_never_loads_heavy_libraries(isolated: object) -> None:
    """Start the real app headless, visit every screen, then look at sys.modules."""
    code = textwrap.dedent(
        """
        from magitui.app import MagituiApp

        async def tour(pilot):
            for key in "sgdtmceh":
                await pilot.press(key)
                await pilot.pause()
            pilot.app.exit()

        MagituiApp().run(headless=True, size=(80, 24), auto_pilot=tour)
        """
    )
    loaded = loaded_roots(code)
    assert "textual" in loaded  # the probe really ran the app
    assert not loaded & set(HEAVY_LIBRARIES), f"the TUI loaded {loaded & set(HEAVY_LIBRARIES)}"


def test_checking_a_launch_from_the_train_form_never_loads_heavy_libraries(
    isolated: Path,
) -> None:
    """The form's check runs every preflight check in the app's process: reading the model's
    config, the data and the machine must not pull in torch or transformers."""
    model = isolated / "model"
    model.mkdir()
    (model / "config.json").write_text(
        '{"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, '
        '"num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 512}'
    )
    data = isolated / "workspace" / "data" / "train.jsonl"
    data.parent.mkdir(parents=True)
    data.write_text('{"instruction": "a", "response": "b"}\n')
    code = textwrap.dedent(
        f"""
        from magitui.app import MagituiApp
        from textual.widgets import Input, Static

        async def tour(pilot):
            await pilot.press("t")
            await pilot.pause()
            await pilot.press("n")
            await pilot.pause()
            pilot.app.screen.query_one("#field-base_model", Input).value = {str(model)!r}
            await pilot.press("ctrl+l")
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
            text = str(pilot.app.screen.query_one("#plan-result", Static).render())
            assert "Launchable" in text, text
            pilot.app.exit()

        MagituiApp().run(headless=True, size=(80, 24), auto_pilot=tour)
        """
    )
    loaded = loaded_roots(code)
    assert "textual" in loaded
    assert not loaded & set(HEAVY_LIBRARIES), f"the check loaded {loaded & set(HEAVY_LIBRARIES)}"


def test_the_first_frame_loads_only_what_home_draws(isolated: object) -> None:
    """Start-up cost is import cost: Home's first frame needs the config, the job list and the
    runs' scores, not a validation library nor the eval engine behind the scores."""
    code = textwrap.dedent(
        """
        import sys
        from magitui.app import MagituiApp

        async def first_frame(pilot):
            await pilot.pause()
            await pilot.app.workers.wait_for_complete()
            print(" ".join(sorted(sys.modules)))
            pilot.app.exit()

        MagituiApp().run(headless=True, size=(80, 24), auto_pilot=first_frame)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "magitui.screens.home.screen" in loaded  # the probe really drew Home
    unwanted = {"pydantic", "magitui_core.eval.engine", "magitui_core.eval.sandbox"}
    assert not loaded & unwanted, f"the first frame loaded {loaded & unwanted}"

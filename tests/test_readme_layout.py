"""README's "Layout of the code" draws the tree as it is: every stage, shared module and screen
package is named there, and everything it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def layout_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout of the code", 1)[1]
    return section.split("```", 2)[1]


def block_lines(block: str, top: str) -> list[str]:
    """The lines of BLOCK from the `top/` line up to the next top-level entry."""
    lines = block.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{top}/"))
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith(" ")),
        len(lines),
    )
    return lines[start + 1 : end]


def test_every_engine_package_and_shared_module_is_drawn() -> None:
    lines = block_lines(layout_block(), "magitui_core")
    drawn_packages = {m.group(1) for line in lines if (m := re.match(r"  ([a-z_]+)/ ", line))}
    drawn_modules = {name for line in lines for name in re.findall(r"\b([a-z_]+)\.py\b", line)}
    core = ROOT / "magitui_core"
    packages = {p.name for p in core.iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in core.glob("*.py") if p.name != "__init__.py"}
    assert packages == drawn_packages
    assert modules == drawn_modules


def test_every_module_of_a_stage_is_named_on_its_line() -> None:
    lines = block_lines(layout_block(), "magitui_core")
    core = ROOT / "magitui_core"
    for index, line in enumerate(lines):
        package = re.match(r"  ([a-z_]+)/ ", line)
        if not package:
            continue
        # a stage's entry and the indented lines that continue it
        text = line
        for follow in lines[index + 1 :]:
            if not follow.startswith(" " * 10):
                break
            text += " " + follow
        words = set(re.findall(r"[a-z_]+", text.split("/", 1)[1]))
        modules = {p.stem for p in (core / package.group(1)).glob("*.py")} - {"__init__"}
        assert modules <= words, f"{package.group(1)}/ does not name {sorted(modules - words)}"


def test_every_screen_package_is_drawn() -> None:
    lines = block_lines(layout_block(), "magitui")
    drawn = {name for line in lines for name in re.findall(r"\b([a-z_]+)/", line)}
    screens = ROOT / "magitui" / "screens"
    packages = {p.name for p in screens.iterdir() if (p / "__init__.py").exists()}
    assert packages <= drawn, packages - drawn
    for name in drawn - {"cli", "screens", "widgets"}:
        assert (screens / name / "__init__.py").exists(), f"screens/{name}/ is drawn"

"""The app's sections: one mode each, one key each, one palette command each.

Keeping them in one table means the key bindings, the command palette and the
help screen can never disagree. Screens are imported only when first shown,
which keeps start-up to Textual plus the Home screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.screen import Screen


@dataclass(frozen=True)
class Section:
    mode: str
    key: str
    title: str
    summary: str
    screen_path: str  # "module:Class", imported on first use

    def build(self) -> Screen[None]:
        module, _, name = self.screen_path.partition(":")
        screen_class = getattr(import_module(module), name)
        return screen_class()


SECTIONS: tuple[Section, ...] = (
    Section(
        "home", "h", "Home", "runs and jobs at a glance", "magitui.screens.home.screen:HomeScreen"
    ),
    Section(
        "setup", "s", "Setup", "teacher, keys and paths", "magitui.screens.setup.screen:SetupScreen"
    ),
    Section(
        "generate",
        "g",
        "Generate",
        "OSS-Instruct data from a teacher model",
        "magitui.screens.generate:GenerateScreen",
    ),
    Section("data", "d", "Data", "curate generated data", "magitui.screens.data.screen:DataScreen"),
    Section(
        "train",
        "t",
        "Train",
        "fine-tune with accelerate + DeepSpeed",
        "magitui.screens.train.screen:TrainScreen",
    ),
    Section(
        "monitor",
        "m",
        "Monitor",
        "GPUs, disks and the HF cache",
        "magitui.screens.monitor.screen:MonitorScreen",
    ),
    Section(
        "chat", "c", "Chat", "talk to a trained model", "magitui.screens.chat.screen:ChatScreen"
    ),
    Section(
        "eval",
        "e",
        "Eval",
        "HumanEval pass@1: base vs fine-tuned",
        "magitui.screens.eval.screen:EvalScreen",
    ),
)

SECTIONS_BY_MODE: dict[str, Section] = {section.mode: section for section in SECTIONS}
HOME = "home"

"""Setup step 1: where the Hugging Face cache and the workspace live, on which disk, and a
better place for HF_HOME (the largest local, writable volume; never a network one)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, Static

from magitui_core.cache.catalog import CacheLocations
from magitui_core.machine.disks import DiskInfo, DiskReport, format_binary, mount_of

# RAM-backed or helper file systems: a model cache there vanishes on reboot or eats memory.
NOT_FOR_CACHE = frozenset({"tmpfs", "devtmpfs", "overlay", "squashfs", "iso9660"})


@dataclass(frozen=True)
class StorageFacts:
    disks: DiskReport
    locations: CacheLocations
    workspace: Path
    recommended: Path | None  # a better HF_HOME, or None when the current one is best
    reason: str


def recommend_hf_home(
    report: DiskReport,
    current: Path,
    home: Path,
    writable: Callable[[Path], bool],
) -> tuple[Path | None, str]:
    """The folder to move HF_HOME to, and why (None: keep the current one)."""
    candidates = [
        d for d in report.disks if not d.is_network and d.fstype.lower() not in NOT_FOR_CACHE
    ]
    mounts = [d.mountpoint for d in report.disks]
    current_mount = mount_of(current, mounts)
    best: tuple[DiskInfo, Path] | None = None
    for disk in sorted(candidates, key=lambda d: d.free, reverse=True):
        if disk.mountpoint == current_mount:
            folder = current
        elif mount_of(home, mounts) == disk.mountpoint:
            folder = home / ".cache" / "huggingface"
        else:
            folder = Path(disk.mountpoint) / "huggingface"
        if writable(folder):
            best = (disk, folder)
            break
    if best is None:
        return None, "no local disk you can write to has more room than the current one"
    disk, folder = best
    if disk.mountpoint == current_mount:
        return None, f"HF_HOME is already on the largest local disk ({disk.mountpoint})"
    return folder, (
        f"{disk.mountpoint} ({disk.fstype}) has {format_binary(disk.free)} free, "
        "the most of any local disk"
    )


def can_write(folder: Path) -> bool:
    """Whether ``folder`` (or its nearest existing parent, where it would be made) is writable."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK)
    return False


class StorageStep(Vertical):
    class ApplyRequested(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="storage-scroll"):
            yield Static(Content.from_markup("[$text-muted]Reading disks…[/]"), id="storage-where")
            yield DataTable(id="storage-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="storage-warnings")
            with Horizontal(classes="setup-row"):
                yield Label("New HF_HOME", classes="setup-label")
                yield Input(
                    id="storage-hf-home", compact=True, placeholder="folder for the HF cache"
                )
            with Horizontal(classes="setup-buttons"):
                yield Button("Apply", id="storage-apply", compact=True, variant="primary")
            yield Static("", id="storage-result")

    def on_mount(self) -> None:
        self.query_one("#storage-table", DataTable).add_columns(
            "Mount", "FS", "Size", "Free", "Holds"
        )

    def show(self, facts: StorageFacts) -> None:
        table = self.query_one("#storage-table", DataTable)
        table.clear()
        for disk in facts.disks.disks:
            fs = (
                Content.from_markup("[$warning]$fs[/]", fs=disk.fstype)
                if disk.is_network
                else disk.fstype
            )
            free = format_binary(disk.free)
            table.add_row(
                disk.mountpoint,
                fs,
                format_binary(disk.total),
                Content.from_markup("[$error]$f[/]", f=free) if disk.is_low else free,
                ", ".join(disk.roles),
            )
        lines = [
            Content.from_markup("[b]HF_HOME[/]   $p", p=str(facts.locations.hf_home)),
            Content.from_markup("[b]Workspace[/] $p", p=str(facts.workspace)),
        ]
        if facts.recommended is not None:
            lines.append(
                Content.from_markup(
                    "[b $success]Suggested HF_HOME[/] $p [$text-muted]— $why[/]",
                    p=str(facts.recommended),
                    why=facts.reason,
                )
            )
        else:
            lines.append(Content.from_markup("[$text-muted]$why[/]", why=facts.reason))
        self.query_one("#storage-where", Static).update(Content("\n").join(lines))
        warnings = self.query_one("#storage-warnings", Static)
        warnings.update(
            Content("\n").join(
                Content.from_markup("[$warning]⚠ $w[/]", w=w) for w in facts.disks.warnings
            )
        )
        warnings.display = bool(facts.disks.warnings)
        field = self.query_one("#storage-hf-home", Input)
        if not field.value and facts.recommended is not None:
            field.value = str(facts.recommended)

    @on(Button.Pressed, "#storage-apply")
    @on(Input.Submitted, "#storage-hf-home")
    def _apply(self) -> None:
        path = self.query_one("#storage-hf-home", Input).value.strip()
        if not path:
            self.show_result("New HF_HOME is empty — enter a folder", error=True)
            return
        self.post_message(self.ApplyRequested(path))

    def show_result(self, text: str, error: bool = False) -> None:
        markup = "[$error]$text[/]" if error else "$text"
        self.query_one("#storage-result", Static).update(Content.from_markup(markup, text=text))

    def show_applied(self, path: Path) -> None:
        line = f"export HF_HOME={shlex.quote(str(path))}"
        self.query_one("#storage-result", Static).update(
            Content.from_markup(
                "[$success]Saved to magitui's config[/]: jobs get HF_HOME=$p.\n"
                "For your own shell (add to ~/.bashrc):\n  [b]$line[/]",
                p=str(path),
                line=line,
            )
        )

"""Setup: teacher, keys and paths (placeholder that shows the settings in force)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static

from magitui.screens.placeholder import PlaceholderScreen
from magitui_core import credentials


class SetupScreen(PlaceholderScreen):
    TITLE_TEXT = "Setup"
    SUMMARY = (
        "Everything a recipe needs before it starts: the teacher endpoint and "
        "model, API keys, where data and the Hugging Face cache live."
    )
    PLANNED = (
        "edit the settings below in place, checked before they are saved",
        "store API keys in the private credentials file, never in config.toml",
        "test the teacher endpoint and the Hugging Face login",
    )
    COMMAND = "magitui config / magitui credentials"

    def compose_extra(self) -> ComposeResult:
        yield Static(id="settings")

    def on_mount(self) -> None:
        self._show_settings()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._show_settings())

    def _show_settings(self) -> None:
        ctx = self.ctx
        config = ctx.config
        loaded = ctx.loaded
        file_note = "" if loaded.exists else " (not created yet: defaults)"
        rows = [
            ("Config file", f"{loaded.path}{file_note}"),
            ("Workspace", str(ctx.workspace.root)),
            ("Theme", self.app.theme),
            ("Refresh", f"every {config.ui.refresh_seconds:g}s"),
            ("Stop grace", f"{config.jobs.stop_grace_seconds:g}s before SIGKILL"),
            ("Teacher URL", config.teacher.base_url or "not set"),
            ("Teacher model", config.teacher.model or "not set"),
            ("HF_HOME for jobs", str(config.huggingface.hf_home or "from the environment")),
        ]
        for name, spec in credentials.SECRETS.items():
            secret = credentials.resolve(name)
            # Only where a secret comes from, never any of its characters.
            rows.append((spec.label, f"set — {secret.source}" if secret.value else "not set"))
        width = max(len(label) for label, _ in rows) + 2
        lines = [Content.from_markup("[b]Settings in force[/]")]
        lines += [
            Content.from_markup(
                "  [$text-muted]$label[/]$value", label=label.ljust(width), value=value
            )
            for label, value in rows
        ]
        self.query_one("#settings", Static).update(Content("\n").join(lines))

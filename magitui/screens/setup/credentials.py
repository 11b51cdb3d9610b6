"""Setup step 2: the Hugging Face token and the teacher's key and URL. Secrets are typed
into password inputs, stored 0600 by magitui_core.credentials, and only ever shown masked."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from magitui_core import credentials


@dataclass(frozen=True)
class CredentialEntries:
    """What the user typed; an empty secret means "leave the stored one as it is"."""

    hf_token: str
    openai_api_key: str
    base_url: str


class CredentialsStep(Vertical):
    class SaveRequested(Message):
        def __init__(self, entries: CredentialEntries) -> None:
            super().__init__()
            self.entries = entries

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="cred-scroll"):
            yield Static("", id="cred-state")
            for cid, label, password, placeholder in (
                ("cred-hf-token", "Hugging Face token", True, "hf_… (empty: keep)"),
                ("cred-openai-key", "Teacher API key", True, "sk-… (empty: keep)"),
                ("cred-base-url", "Teacher base URL", False, "https://api.openai.com/v1"),
            ):
                with Horizontal(classes="setup-row"):
                    yield Label(label, classes="setup-label")
                    yield Input(id=cid, password=password, placeholder=placeholder, compact=True)
            with Horizontal(classes="setup-buttons"):
                yield Button("Save", id="cred-save", compact=True, variant="primary")
            yield Static("", id="cred-result")

    def show_state(self, base_url: str | None) -> None:
        """Where each secret comes from now, masked; reads the environment and small files."""
        rows = []
        for name, spec in credentials.SECRETS.items():
            secret = credentials.resolve(name)
            state = f"{secret.masked} — {secret.source}" if secret.value else "not set"
            rows.append(Content.from_markup("[b]$label[/] $state", label=spec.label, state=state))
        rows.append(Content.from_markup("[b]Teacher base URL[/] $url", url=base_url or "not set"))
        self.query_one("#cred-state", Static).update(Content("\n").join(rows))
        url = self.query_one("#cred-base-url", Input)
        if not url.value and base_url:
            url.value = base_url

    @on(Button.Pressed, "#cred-save")
    @on(Input.Submitted)
    def _save(self) -> None:
        entries = CredentialEntries(
            hf_token=self.query_one("#cred-hf-token", Input).value.strip(),
            openai_api_key=self.query_one("#cred-openai-key", Input).value.strip(),
            base_url=self.query_one("#cred-base-url", Input).value.strip(),
        )
        self.post_message(self.SaveRequested(entries))

    def clear_secrets(self) -> None:
        # A stored secret does not stay in the widget tree longer than needed.
        self.query_one("#cred-hf-token", Input).value = ""
        self.query_one("#cred-openai-key", Input).value = ""

    def show_result(self, lines: list[tuple[str, str]]) -> None:
        """(level, text) lines: level is "ok", "warning" or "error"."""
        colour = {"ok": "$success", "warning": "$warning", "error": "$error"}
        self.query_one("#cred-result", Static).update(
            Content("\n").join(
                Content.from_markup(f"[{colour[level]}]$t[/]", t=text) for level, text in lines
            )
        )

"""The Chat settings dialog: endpoints A (and B for compare), system prompt, sampling, and the
prompt format (the model's chat template, or the Magicoder training prompt).

Known endpoints (running server jobs, the configured teacher, OPENAI_BASE_URL) and the models
an endpoint serves (its /v1/models) are listed below the fields; Enter on one fills the
endpoint being edited.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from magitui_core.chat.client import ChatSettings
from magitui_core.chat.endpoints import Endpoint, EndpointError, served_models
from magitui_core.chat.prompt_format import PROMPT_FORMATS


@dataclass(frozen=True)
class PaneSettings:
    a: ChatSettings
    b: tuple[str, str] | None = None  # (base_url, model) of the compared endpoint

    @property
    def b_settings(self) -> ChatSettings | None:
        if self.b is None:
            return None
        return replace(self.a, base_url=self.b[0], model=self.b[1])


FIELDS = (
    ("url-a", "A base URL"),
    ("model-a", "A model"),
    ("url-b", "B base URL"),
    ("model-b", "B model"),
    ("system", "System"),
    ("temperature", "Temperature"),
    ("top-p", "Top p"),
    ("max-tokens", "Max tokens"),
    ("prompt-format", "Format"),  # the prompt format: template or magicoder
)

PLACEHOLDERS = {"prompt-format": "template (the model's chat template) or magicoder"}


def parse_settings(values: dict[str, str]) -> PaneSettings | str:
    """The dialog's fields as settings, or the one-line problem with the first bad field."""
    url_a, model_a = values["url-a"].strip(), values["model-a"].strip()
    if not url_a.startswith(("http://", "https://")):
        return f"A base URL {url_a!r} — must start with http:// or https://"
    if not model_a:
        return "A model is empty — type the served model name or pick one from the list"
    try:
        temperature = float(values["temperature"])
        top_p = float(values["top-p"])
        max_tokens = int(values["max-tokens"])
    except ValueError:
        return "temperature and top p must be numbers, max tokens a whole number"
    if not 0 <= temperature <= 2:
        return f"temperature {temperature} — must be between 0 and 2"
    if not 0 < top_p <= 1:
        return f"top p {top_p} — must be above 0 and at most 1"
    if max_tokens < 1:
        return f"max tokens {max_tokens} — must be at least 1"
    url_b, model_b = values["url-b"].strip(), values["model-b"].strip()
    if bool(url_b) != bool(model_b):
        return "B needs both a base URL and a model (or neither, to chat with A alone)"
    if url_b and not url_b.startswith(("http://", "https://")):
        return f"B base URL {url_b!r} — must start with http:// or https://"
    prompt_format = values.get("prompt-format", "template").strip() or "template"
    if prompt_format not in PROMPT_FORMATS:
        return (
            f"prompt format {prompt_format!r} — type template (the model's chat template) "
            "or magicoder (the training prompt, for a model without one)"
        )
    system = values["system"].strip() or None
    settings = ChatSettings(
        url_a, model_a, system, temperature, top_p, max_tokens, prompt_format=prompt_format
    )
    return PaneSettings(settings, (url_b, model_b) if url_b else None)


class ChatSettingsScreen(ModalScreen["PaneSettings | None"]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+l", "list_models", "Models"),
    ]

    def __init__(
        self,
        current: PaneSettings,
        endpoints: list[Endpoint],
        api_key: str | None = None,
        side: str = "a",
    ) -> None:
        super().__init__(classes="dialog-screen")
        self._current = current
        self._endpoints = endpoints
        self._api_key = api_key
        self._editing = side  # which endpoint a pick fills; its URL field gets the focus

    def compose(self) -> ComposeResult:
        a, b = self._current.a, self._current.b
        values = {
            "url-a": a.base_url,
            "model-a": a.model,
            "url-b": b[0] if b else "",
            "model-b": b[1] if b else "",
            "system": a.system or "",
            "temperature": str(a.temperature),
            "top-p": str(a.top_p),
            "max-tokens": str(a.max_tokens),
            "prompt-format": a.prompt_format,
        }
        with Vertical(classes="dialog chat-settings") as dialog:
            dialog.border_title = "Chat settings"
            dialog.border_subtitle = "Enter apply · Ctrl+L list models · Esc cancel"
            with VerticalScroll(classes="chat-settings-fields"):
                for field_id, label in FIELDS:
                    with Horizontal(classes="chat-field"):
                        yield Label(label, classes="chat-field-label")
                        yield Input(
                            values[field_id],
                            placeholder=PLACEHOLDERS.get(field_id, ""),
                            id=field_id,
                            compact=True,
                        )
                yield Static("", id="settings-error", classes="field-error", markup=False)
                yield Static("Endpoints and models", classes="chat-picks-title")
                yield OptionList(id="chat-picks")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Models", id="models")
                yield Button("Cancel", id="cancel")
                yield Button("Apply", id="apply", variant="primary")

    def on_mount(self) -> None:
        self._show_endpoints()
        self.query_one(f"#url-{self._editing}", Input).focus()

    def _show_endpoints(self) -> None:
        picks = self.query_one("#chat-picks", OptionList)
        picks.clear_options()
        for index, endpoint in enumerate(self._endpoints):
            text = f"{endpoint.base_url}  {endpoint.model or '(model?)'}  · {endpoint.label}"
            picks.add_option(Option(text, id=f"endpoint-{index}"))
        if not self._endpoints:
            picks.add_option(Option("no endpoints found — type one above", disabled=True))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._apply()

    def on_descendant_focus(self, event: object) -> None:
        focused = self.focused
        if isinstance(focused, Input) and focused.id in ("url-a", "model-a", "url-b", "model-b"):
            self._editing = focused.id[-1]

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "apply":
            self._apply()
        elif event.button.id == "models":
            self.action_list_models()
        else:
            self.dismiss(None)

    @on(OptionList.OptionSelected, "#chat-picks")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or ""
        side = self._editing
        if option_id.startswith("endpoint-"):
            endpoint = self._endpoints[int(option_id.removeprefix("endpoint-"))]
            self.query_one(f"#url-{side}", Input).value = endpoint.base_url
            if endpoint.model:
                self.query_one(f"#model-{side}", Input).value = endpoint.model
        elif option_id.startswith("model:"):
            self.query_one(f"#model-{side}", Input).value = option_id.removeprefix("model:")
        self.query_one(f"#model-{side}", Input).focus()

    def action_list_models(self) -> None:
        url = self.query_one(f"#url-{self._editing}", Input).value.strip()
        if not url:
            self._show_error(f"{self._editing.upper()} base URL is empty — type it first")
            return
        self._show_error(None)
        self.query_one("#chat-picks", OptionList).border_title = f"asking {url}/models…"
        self._fetch_models(url)

    @work(thread=True, exclusive=True, exit_on_error=False, group="chat-models")
    def _fetch_models(self, url: str) -> None:
        try:
            models = served_models(url, self._api_key)
        except EndpointError as exc:
            self.app.call_from_thread(self._show_error, str(exc))
            return
        self.app.call_from_thread(self._show_models, url, models)

    def _show_models(self, url: str, models: list[str]) -> None:
        picks = self.query_one("#chat-picks", OptionList)
        picks.border_title = f"{len(models)} model(s) at {url}"
        self._show_endpoints()
        for model in models:
            picks.add_option(Option(f"model {model}", id=f"model:{model}"))
        if models:
            picks.highlighted = len(self._endpoints)
            picks.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _apply(self) -> None:
        values = {field_id: self.query_one(f"#{field_id}", Input).value for field_id, _ in FIELDS}
        result = parse_settings(values)
        if isinstance(result, str):
            self._show_error(result)
            return
        self.dismiss(result)

    def _show_error(self, problem: str | None) -> None:
        error = self.query_one("#settings-error", Static)
        error.update(problem or "")
        error.display = bool(problem)

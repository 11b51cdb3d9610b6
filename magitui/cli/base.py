"""What every subcommand shares: the lazily opened context and one-line errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from magitui_core.config import ConfigError
from magitui_core.credentials import CredentialsError
from magitui_core.durations import compact_duration
from magitui_core.jobs.manager import JobError
from magitui_core.workspace import WorkspaceError

F = TypeVar("F", bound=Callable[..., Any])
EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    JobError,
    WorkspaceError,
    ConfigError,
    CredentialsError,
)


def friendly_errors(func: F) -> F:
    """Expected failures print one line naming the problem and the fix, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EXPECTED_ERRORS as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


class CliContext:
    """Lazily opened context, so `magitui --help` never touches the disk."""

    def __init__(self, workspace: str | None) -> None:
        self.workspace_arg = workspace
        self._context: Any = None

    def get(self) -> Any:
        if self._context is None:
            from magitui_core.context import open_context

            try:
                self._context = open_context(self.workspace_arg)
            except WorkspaceError as exc:
                raise click.ClickException(str(exc)) from None
            for warning in self._context.warnings:
                click.secho(f"warning: {warning}", fg="yellow", err=True)
        return self._context


pass_ctx = click.make_pass_decorator(CliContext)


def fmt_time(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


fmt_duration = compact_duration


class OldSpellings:
    """A command's former option names, still understood for one release but never shown.

    Used as click's ``token_normalize_func``: click hands it each option name without its
    dashes (``mixed-precision`` for ``--mixed-precision``) and looks the result up.
    """

    def __init__(self, **renamed: str) -> None:
        self.renamed = {old.replace("_", "-"): new for old, new in renamed.items()}

    def __call__(self, token: str) -> str:
        return self.renamed.get(token, token)


def settings(**old_spellings: str) -> dict[str, Any]:
    """Context settings every command shares: defaults shown in --help, old spellings kept."""
    return {"show_default": True, "token_normalize_func": OldSpellings(**old_spellings)}

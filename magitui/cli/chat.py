"""`magitui chat`: talk to any OpenAI-compatible endpoint from a script or a plain terminal."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from magitui_core.chat import ChatClient, ChatError, ChatSettings, Conversation, TurnStats

REPL_HELP = "/exit quits · /reset forgets the conversation · /regen answers again · /save FILE"


def _stats_line(stats: TurnStats) -> str:
    parts = [f"finish {stats.finish_reason or '?'}"]
    if stats.first_token_s is not None:
        parts.append(f"first token {stats.first_token_s:.2f}s")
    if stats.tokens_per_s is not None:
        parts.append(f"{stats.tokens_per_s:.1f} tok/s")
    if stats.finish_reason == "length":
        parts.append("cut at --max-tokens")
    return " · ".join(parts)


def _stream(chunks: object) -> None:
    for piece in chunks:  # type: ignore[attr-defined]
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


@click.command("chat", context_settings={"show_default": True})
@click.option(
    "--base-url", required=True, help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1"
)
@click.option("--model", required=True, help="Model name the server expects.")
@click.option("-p", "--prompt", help="Ask one question, print the answer and exit.")
@click.option("--system", help="System prompt.")
@click.option("--temperature", type=float, default=0.2)
@click.option("--top-p", type=float, default=0.95)
@click.option("--max-tokens", type=int, default=1024)
@click.option("--api-key-env", default="OPENAI_API_KEY", help="Variable holding the API key.")
@click.option(
    "--save", type=click.Path(path_type=Path), help="Write the transcript (.json or .md)."
)
def chat(
    base_url: str,
    model: str,
    prompt: str | None,
    system: str | None,
    temperature: float,
    top_p: float,
    max_tokens: int,
    api_key_env: str,
    save: Path | None,
) -> None:
    """Chat with MODEL at BASE_URL: one answer with -p, else a line-by-line conversation."""
    settings = ChatSettings(
        base_url=base_url,
        model=model,
        system=system,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
    )
    client = ChatClient(Conversation(settings), api_key=os.environ.get(api_key_env))
    if prompt is not None:
        try:
            _stream(client.send(prompt))
        except ChatError as exc:
            raise click.ClickException(str(exc)) from None
        click.secho(_stats_line(client.last), err=True, dim=True)
        if save:
            client.conversation.save(save)
        return
    click.secho(f"chatting with {model} at {base_url} — {REPL_HELP}", err=True, dim=True)
    while True:
        try:
            line = input(">>> ")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            break
        text = line.strip()
        if not text:
            continue
        if text == "/exit":
            break
        if text == "/reset":
            client.conversation.turns.clear()
            click.secho("conversation cleared", err=True, dim=True)
            continue
        if text.startswith("/save"):
            target = Path(text.removeprefix("/save").strip() or "chat.md")
            click.secho(f"saved {client.conversation.save(target)}", err=True, dim=True)
            continue
        try:
            _stream(client.regenerate() if text == "/regen" else client.send(text))
            click.secho(_stats_line(client.last), err=True, dim=True)
        except ChatError as exc:
            click.secho(f"error: {exc}", err=True, fg="red")
        except KeyboardInterrupt:
            click.secho("\n(stopped)", err=True, dim=True)
    if save:
        client.conversation.save(save)

"""`magitui chat`: talk to any OpenAI-compatible endpoint from a script or a plain terminal."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from magitui_core.chat.client import ChatClient, ChatError, ChatSettings, Conversation, TurnStats
from magitui_core.chat.prompt_format import PROMPT_FORMATS

REPL_HELP = (
    "/exit quits · /reset forgets the conversation · /regen answers again · "
    "/more continues a cut answer · /save FILE"
)


def _stats_line(stats: TurnStats) -> str:
    parts = [f"finish {stats.finish_reason or '?'}"]
    if stats.first_token_s is not None:
        parts.append(f"first token {stats.first_token_s:.2f}s")
    if stats.tokens_per_s is not None:
        parts.append(f"{stats.tokens_per_s:.1f} tok/s")
    if stats.finish_reason == "length":
        parts.append("cut at --max-tokens (/more continues in the REPL)")
    return " · ".join(parts)


def _stream(chunks: object) -> None:
    for piece in chunks:  # type: ignore[attr-defined]
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


def _show_prompt(client: ChatClient) -> None:
    if client.last_prompt is None:
        click.secho("(prompt formatted by the server's chat template)", err=True, dim=True)
        return
    click.secho(f"--- raw prompt sent ---\n{client.last_prompt}\n--- end ---", err=True, dim=True)


@click.command("chat", context_settings={"show_default": True})
@click.option(
    "--base-url", required=True, help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1"
)
@click.option("--model", required=True, help="Model name the server expects.")
@click.option("-p", "--prompt", help="Ask one question, print the answer and exit.")
@click.option("--system", help="System prompt.")
@click.option("--temperature", type=float, default=0.2, help="Sampling temperature (0: greedy).")
@click.option("--top-p", type=float, default=0.95, help="Nucleus sampling: the top-p mass.")
@click.option("--max-tokens", type=int, default=1024, help="Answer token limit.")
@click.option(
    "--prompt-format",
    type=click.Choice(PROMPT_FORMATS),
    default="template",
    help="template: the server's chat template; magicoder: the Magicoder training prompt, "
    "rendered here and sent to the completions API (for a model without a chat template).",
)
@click.option(
    "--show-prompt", is_flag=True, help="Print the exact raw prompt sent to stderr (magicoder)."
)
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
    prompt_format: str,
    show_prompt: bool,
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
        prompt_format=prompt_format,
    )
    client = ChatClient(Conversation(settings), api_key=os.environ.get(api_key_env))
    if prompt is not None:
        try:
            _stream(client.send(prompt))
        except ChatError as exc:
            raise click.ClickException(str(exc)) from None
        if show_prompt:
            _show_prompt(client)
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
            if text == "/regen":
                _stream(client.regenerate())
            elif text == "/more":
                _stream(client.continue_last())
            else:
                _stream(client.send(text))
            if show_prompt:
                _show_prompt(client)
            click.secho(_stats_line(client.last), err=True, dim=True)
        except ChatError as exc:
            click.secho(f"error: {exc}", err=True, fg="red")
        except KeyboardInterrupt:
            click.secho("\n(stopped)", err=True, dim=True)
    if save:
        client.conversation.save(save)

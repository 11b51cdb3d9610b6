"""The exact text a model sees in a chat turn when magitui, not the server, renders it.

Two prompt formats:
- ``template``: the server formats the conversation with the model's own chat template (a model
  trained by magitui carries the training prompt as its template). Only to continue an answer in
  place does magitui render that template itself, when the model folder is on this machine.
- ``magicoder``: for a base model or a foreign checkpoint without a chat template, the
  conversation is rendered with the Magicoder training prompt (prompts.render_chat) and sent as a
  raw prompt to the completions API.

Both render the text that is sent, so the raw-prompt view shows that exact text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from magitui_core.chat.endpoints import model_chat_template, special_tokens
from magitui_core.prompts import render_chat

PROMPT_FORMATS = ("template", "magicoder")


def tokenizer_adds_bos(model: str) -> bool:
    """Whether a local model's tokenizer puts BOS in front of a text by itself, as the
    completions API's tokenization does: then the text sent must not carry it too."""
    folder = Path(model).expanduser()
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = {}
    if config.get("add_bos_token") is True:
        return True
    try:
        tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    bos, _ = special_tokens(model)
    return bool(bos) and _post_processor_adds(tokenizer.get("post_processor"), bos)


def _post_processor_adds(processor: Any, bos: str) -> bool:
    if not isinstance(processor, dict):
        return False
    if processor.get("type") == "Sequence":
        return any(_post_processor_adds(p, bos) for p in processor.get("processors", []))
    if processor.get("type") == "TemplateProcessing":
        single = processor.get("single", [])
        return any(
            isinstance(piece, dict) and piece.get("SpecialToken", {}).get("id") == bos
            for piece in single
        )
    return False


def _bos_for_text(model: str) -> tuple[str, str]:
    """(bos, eos) to write into a raw prompt: BOS left out where the tokenizer adds it."""
    bos, eos = special_tokens(model)
    return ("" if tokenizer_adds_bos(model) else bos), eos


def magicoder_prompt(messages: list[dict[str, str]], model: str, continuing: bool = False) -> str:
    """The conversation as Magicoder training text. ``continuing``: the last message is a cut
    assistant answer, and the text ends with it (no EOS) so the model carries on."""
    bos, eos = _bos_for_text(model)
    if continuing:
        return render_chat(messages[:-1], bos, eos) + messages[-1]["content"]
    return render_chat(messages, bos, eos)


def lacks_chat_template(model: str) -> bool:
    """A model folder on this machine without a chat template: only the magicoder format
    can talk to it."""
    return Path(model).expanduser().is_dir() and model_chat_template(model) is None


def template_prompt(
    messages: list[dict[str, str]], model: str, continuing: bool = False
) -> str | None:
    """The model's own chat template rendered here, as transformers does on the server; None
    when the model is not a local folder with a template, or transformers is not installed."""
    template = model_chat_template(model)
    if template is None:
        return None
    try:  # transformers' own renderer (jinja sandbox, continue_final_message): the same text
        from transformers.utils.chat_template_utils import render_jinja_template
    except ImportError:
        return None
    bos, eos = special_tokens(model)
    try:
        rendered: Any = render_jinja_template(
            [messages],
            chat_template=template,
            add_generation_prompt=not continuing,
            continue_final_message=continuing,
            bos_token=bos,
            eos_token=eos,
        )
    except Exception:  # a template this renderer cannot run: the server's chat API is used
        return None
    text: str = rendered[0][0]  # (one text per conversation, generation indices)
    # The chat API tokenizes without special tokens; the completions API adds them.
    if bos and text.startswith(bos) and tokenizer_adds_bos(model):
        text = text[len(bos) :]
    return text

"""Chat requests whose messages skip the openai SDK's request transform.

``chat.completions.create`` walks every message against the SDK's typed schema before a byte
is sent, with the GIL held: about 0.12 ms a message on a 2-core box, on every request, so a
long chat's request and each of generation's thousands of requests paid it. Plain role/content
strings come out of that walk as they went in. ``extra_body`` is merged into the body after
the walk, each key at the place the typed argument holds, so sending the messages there, with
an empty list in their place, sends the same bytes (tests/chat and tests/generation compare
them with the SDK's own).
"""

from __future__ import annotations

from typing import Any


def plain_messages(
    messages: list[dict[str, str]], extra_body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``chat.completions.create``: ``messages`` sent as they are."""
    return {"messages": [], "extra_body": {"messages": messages, **(extra_body or {})}}

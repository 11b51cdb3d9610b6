"""Chat: talking to a fine-tuned model (placeholder)."""

from magitui.screens.placeholder import PlaceholderScreen


class ChatScreen(PlaceholderScreen):
    TITLE_TEXT = "Chat"
    SUMMARY = (
        "Try a checkpoint: serve it locally (or point at an OpenAI-compatible "
        "endpoint) and chat with it, with code blocks highlighted."
    )
    PLANNED = (
        "pick a run's checkpoint or an endpoint",
        "stream answers, copy code blocks",
        "compare the fine-tuned model with its base on the same prompt",
    )
    COMMAND = "magitui chat"

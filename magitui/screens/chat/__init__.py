"""The Chat screen and its widgets: prompt input, messages, settings dialog, transcripts."""

"""Data: curating generated data (placeholder)."""

from magitui.screens.placeholder import PlaceholderScreen


class DataScreen(PlaceholderScreen):
    TITLE_TEXT = "Data"
    SUMMARY = (
        "Turn a run's raw generations into training data: clean, deduplicate, "
        "decontaminate against benchmarks, and inspect samples."
    )
    PLANNED = (
        "browse generated records side by side with their seed snippets",
        "filter by language and length, drop near-duplicates",
        "remove samples that overlap HumanEval, MBPP and other benchmarks",
    )
    COMMAND = "magitui data"

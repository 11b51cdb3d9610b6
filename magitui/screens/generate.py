"""Generate: OSS-Instruct data from a teacher model (placeholder with its jobs)."""

from magitui.screens.placeholder import JobKindScreen


class GenerateScreen(JobKindScreen):
    TITLE_TEXT = "Generate"
    POLL_WHAT = "generate jobs"
    JOB_KIND = "generate"
    SUMMARY = (
        "Prompt a teacher LLM with seed snippets of open-source code to write "
        "instruction–solution pairs, as in Magicoder's OSS-Instruct."
    )
    PLANNED = (
        "pick seed code, teacher endpoint and model, sample count, concurrency",
        "start the generation as a detached job in a run, with live progress",
        "show token use and failed requests as they happen",
    )
    COMMAND = "magitui generate"

"""Monitor: GPUs, disks and the Hugging Face cache (placeholder)."""

from magitui.screens.placeholder import PlaceholderScreen


class MonitorScreen(PlaceholderScreen):
    TITLE_TEXT = "Monitor"
    SUMMARY = (
        "Keep an eye on the machine while jobs run: GPU use and memory, disk space "
        "of the workspace and the Hugging Face cache."
    )
    PLANNED = (
        "per-GPU utilisation, memory and temperature, with the job using each",
        "free space where checkpoints and the HF cache live",
        "clean old models and datasets out of the HF cache, with a preview",
    )
    COMMAND = "magitui monitor"

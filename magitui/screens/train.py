"""Train: fine-tuning with accelerate + DeepSpeed (placeholder with its jobs)."""

from magitui.screens.placeholder import JobKindScreen


class TrainScreen(JobKindScreen):
    TITLE_TEXT = "Train"
    POLL_WHAT = "train jobs"
    JOB_KIND = "train"
    SUMMARY = (
        "Fine-tune a code model on a run's curated data with accelerate and "
        "DeepSpeed, in a detached job that survives a dropped SSH link."
    )
    PLANNED = (
        "choose base model, DeepSpeed stage, batch size and learning rate",
        "check GPU memory before launching",
        "plot loss and throughput from the job's metric events",
    )
    COMMAND = "magitui train"

"""Padding-free packing: examples share a row but not their attention, and a packed run
trains with no padding at all."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from magitui_core.jobs.events import read_events
from magitui_core.jobs.manager import JobManager
from magitui_core.training.packing import PackingUnsupported, prepare_for_packing
from magitui_core.training.sft_data import IGNORED_INDEX, PackingCollator
from tests.conftest import wait_until_ended

FIRST = list(range(5, 25))
SECOND = list(range(30, 45))


def load(tiny_model: Path, attention: str):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model, attn_implementation=attention)


def second_example_drift(model, batch) -> float:
    """How far the packed second example's logits are from running it alone."""
    import torch

    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits
        alone = model(input_ids=torch.tensor([SECOND])).logits
    return float((packed[0, len(FIRST) :] - alone[0]).abs().max())


def test_collator_flattens_without_padding_and_separates_labels() -> None:
    collator = PackingCollator()
    batch = collator(
        [
            {"input_ids": FIRST, "labels": [IGNORED_INDEX] * 3 + FIRST[3:], "length": 20},
            {"input_ids": SECOND, "labels": SECOND, "length": 15},
        ]
    )
    assert batch["input_ids"].tolist() == [FIRST + SECOND]
    assert batch["position_ids"].tolist() == [list(range(20)) + list(range(15))]
    assert "attention_mask" not in batch  # the position ids carry the boundaries
    labels = batch["labels"].tolist()[0]
    assert labels[:20] == [IGNORED_INDEX] * 3 + FIRST[3:]
    assert labels[20] == IGNORED_INDEX  # no example learns the next one's first token
    assert labels[21:] == SECOND[1:]
    assert collator.pad_share == 0.0 and collator.tokens_per_batch == 35


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_packed_examples_do_not_attend_to_each_other(tiny_model: Path, attention: str) -> None:
    model = load(tiny_model, attention)
    batch = PackingCollator()(
        [{"input_ids": FIRST, "labels": FIRST}, {"input_ids": SECOND, "labels": SECOND}]
    )
    # The trap prepare_for_packing removes: with the config's KV cache on, the mask builder
    # ignores the packed position ids and the second example sees the first.
    assert model.config.use_cache is True
    assert second_example_drift(model, batch) > 0.1
    assert prepare_for_packing(model) == attention
    assert second_example_drift(model, batch) < 1e-4


def test_attention_without_packed_masks_is_refused(tiny_model: Path) -> None:
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    # An implementation registered for attention but not for masks, like a hub kernel.
    AttentionInterface.register("magitui_test_attention", sdpa_attention_forward)
    model = load(tiny_model, "magitui_test_attention")
    with pytest.raises(PackingUnsupported) as caught:
        prepare_for_packing(model)
    message = str(caught.value)
    assert "'magitui_test_attention'" in message and "sdpa" in message
    assert "--packing off" in message


def test_packed_training_job_has_no_padding(
    jobs: JobManager, tiny_model: Path, train_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "magitui_core.training.sft", "--data", str(train_file)]
    command += ["--base-model", str(tiny_model), "--out", str(out), "--packing"]
    command += ["--max-steps", "4", "--global-batch", "4", "--per-device-batch", "4"]
    command += ["--save-steps", "4"]
    job = jobs.start(command, kind="train")
    info = wait_until_ended(jobs, job.id, 180, "packed training")
    assert info.state.value == "succeeded", "\n".join(info.tail(30))
    events = read_events(info.events_path)
    (begin,) = [e for e in events if e["type"] == "progress"]
    assert begin["packing"] is True and begin["pad_share"] == 0.0
    (mode,) = [e for e in events if e["type"] == "log" and "attention" in e]
    assert mode["attention"] == "sdpa" and mode["packing"] is True
    metrics = [e for e in events if e["type"] == "metric"]
    assert [m["step"] for m in metrics] == [1, 2, 3, 4]
    assert all(m["loss"] > 0 and m["pad_share"] == 0.0 for m in metrics)
    assert all(m["tokens_per_batch"] > 0 for m in metrics)
    (done,) = [e for e in events if e["type"] == "done"]
    assert done["pad_share"] == 0.0 and done["packing"] is True

    from transformers import AutoConfig

    # Packing turned the KV cache off for training only; the saved model generates with it.
    assert AutoConfig.from_pretrained(out / "final").use_cache is True


def test_packed_training_learns_exactly_what_padded_training_does(
    jobs: JobManager, tiny_model: Path, train_file: Path, tmp_path: Path
) -> None:
    """Same rows, same order, same seed: if packed examples saw each other, the losses
    would differ from the padded run's."""

    def losses(*extra: str) -> list[float]:
        command = [sys.executable, "-m", "magitui_core.training.sft", "--data", str(train_file)]
        command += ["--base-model", str(tiny_model), "--out", str(tmp_path / "-".join(extra))]
        command += ["--max-steps", "3", "--global-batch", "4", "--per-device-batch", "4"]
        command += ["--save-steps", "3", *extra]
        info = wait_until_ended(jobs, jobs.start(command, kind="train").id, 180, "training")
        assert info.state.value == "succeeded", "\n".join(info.tail(30))
        return [e["loss"] for e in read_events(info.events_path) if e["type"] == "metric"]

    padded, packed = losses("--precision", "fp32"), losses("--precision", "fp32", "--packing")
    assert len(packed) == 3
    assert packed == pytest.approx(padded, rel=1e-4)

"""The memory advisor: model sizes from config.json, model states equal to DeepSpeed's own
estimators, and a recommendation that moves to offload only when memory demands it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from magitui_core.training.memory_advisor import (
    OPTIMIZERS,
    ModelShape,
    ModelShapeError,
    model_states,
    optimizer_kind,
    plans,
    read_model_config,
    recommend,
)

DEEPSEEK_CODER_6_7B = {  # the walkthrough's base model
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "intermediate_size": 11008,
    "vocab_size": 32256,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "tie_word_embeddings": False,
}
GB = 1024**3


def test_parameter_count_matches_a_real_model(tiny_model: Path) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    real = sum(p.numel() for p in model.parameters())  # tied embeddings counted once
    assert ModelShape.from_config(read_model_config(str(tiny_model))).parameters == real


def test_deepseek_coder_is_6_7_billion() -> None:
    shape = ModelShape.from_config(DEEPSEEK_CODER_6_7B)
    assert 6.70e9 < shape.parameters < 6.76e9
    assert shape.largest_layer == 32256 * 4096


@pytest.mark.parametrize("gpus", [1, 2, 8])
@pytest.mark.parametrize("nodes", [1, 2])
def test_model_states_equal_deepspeeds_estimators(gpus: int, nodes: int) -> None:
    from deepspeed.runtime.zero.stage3 import estimate_zero3_model_states_mem_needs
    from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs

    shape = ModelShape.from_config(DEEPSEEK_CODER_6_7B)
    p, big = shape.parameters, shape.largest_layer
    for offload in (False, True):
        cpu, gpu = estimate_zero2_model_states_mem_needs(p, gpus, nodes, cpu_offload=offload)
        ours = model_states(shape, 2, "cpu" if offload else "none", "none", gpus, nodes)
        assert ours == (gpu, cpu)
    for opt, params in ((False, False), (True, False), (True, True)):
        for zero_init in (True, False):
            cpu, gpu, _largest = estimate_zero3_model_states_mem_needs(
                p,
                big,
                gpus,
                nodes,
                cpu_offload=opt,
                cpu_offload_params=params,
                zero_init=zero_init,
            )
            ours = model_states(
                shape,
                3,
                "cpu" if opt else "none",
                "cpu" if params else "none",
                gpus,
                nodes,
                zero_init,
            )
            assert ours == (gpu, cpu)


def test_recommendation_offloads_only_when_needed() -> None:
    shape = ModelShape.from_config(DEEPSEEK_CODER_6_7B)
    roomy = recommend(plans(shape, gpu_memory=141 * GB, cpu_memory=1000 * GB))
    assert roomy is not None and roomy.label == "ZeRO-0"
    # 2 x 40 GB: sharding alone (ZeRO-3 needs ~61 GB a GPU) is not enough; offload is.
    two = recommend(plans(shape, gpu_memory=40 * GB, cpu_memory=400 * GB, gpus_per_node=2))
    assert two is not None and two.label == "ZeRO-2 + optimizer on CPU"
    eight = recommend(plans(shape, gpu_memory=40 * GB, cpu_memory=400 * GB, gpus_per_node=8))
    assert eight is not None and eight.label == "ZeRO-2"  # sharded over 8: no offload needed
    one_small = recommend(plans(shape, gpu_memory=24 * GB, cpu_memory=400 * GB))
    assert one_small is not None and one_small.label.startswith("ZeRO-")
    assert one_small.offload_optimizer == "cpu"
    assert recommend(plans(shape, gpu_memory=8 * GB, cpu_memory=16 * GB)) is None


def test_unknown_model_names_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    with pytest.raises(ModelShapeError, match="neither a folder nor in the Hugging Face cache"):
        read_model_config("org/not-downloaded")
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    with pytest.raises(ModelShapeError, match="lacks 'num_hidden_layers'"):
        ModelShape.from_config(read_model_config(str(tmp_path)))


@pytest.mark.parametrize("gpus", [1, 2, 8])
def test_other_optimizers_change_only_the_sharded_fp32_states(gpus: int) -> None:
    """AdamW keeps 12 bytes of fp32 states a parameter (DeepSpeed's figure), 8-bit AdamW 6
    (4 master + two 1-byte moments), Adafactor 4 + its row/column factors."""
    from deepspeed.runtime.zero.stage3 import estimate_zero3_model_states_mem_needs
    from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs

    shape = ModelShape.from_config(DEEPSEEK_CODER_6_7B)
    p = shape.parameters
    _, ds_zero2 = estimate_zero2_model_states_mem_needs(p, gpus, cpu_offload=False)
    _, ds_zero3, _ = estimate_zero3_model_states_mem_needs(
        p, shape.largest_layer, gpus, cpu_offload=False, cpu_offload_params=False
    )
    for stage, adamw in ((2, ds_zero2), (3, ds_zero3)):
        eight_bit, _ = model_states(shape, stage, gpus_per_node=gpus, optimizer="adamw_8bit")
        assert adamw - eight_bit == pytest.approx(6 * p / gpus, abs=1)
        adafactor, _ = model_states(shape, stage, gpus_per_node=gpus, optimizer="adafactor")
        factors = 8 / shape.hidden * p / gpus  # ≈ 0.2 % of AdamW's 8 bytes of moments
        assert adamw - adafactor == pytest.approx((8 - 8 / shape.hidden) * p / gpus, abs=1)
        assert 0 < factors < 0.01 * 8 * p / gpus
    # Plain data parallelism: everything on every GPU, 2 + 2 + 4 + 4 + moments.
    assert model_states(shape, 0)[0] == 20 * p
    assert model_states(shape, 0, optimizer="adamw_8bit")[0] == 14 * p
    # Under CPU offload accelerate runs DeepSpeed's CPU Adam whatever was asked: AdamW's figures.
    for optimizer in ("adafactor", "adamw_8bit"):
        assert model_states(shape, 2, "cpu", optimizer=optimizer) == model_states(shape, 2, "cpu")


def test_optimizer_names_from_hf_trainer() -> None:
    assert optimizer_kind("adamw_torch") == optimizer_kind("adamw_torch_fused") == "adamw"
    assert optimizer_kind("adamw_bnb_8bit") == optimizer_kind("paged_adamw_8bit") == "adamw_8bit"
    assert optimizer_kind("adafactor") == "adafactor"
    assert optimizer_kind("sgd") is None
    assert {spec.hf_optim for spec in OPTIMIZERS.values()} == {
        "adamw_torch",
        "adafactor",
        "adamw_bnb_8bit",
    }


def test_never_recommends_offload_with_adafactor_or_8_bit() -> None:
    shape = ModelShape.from_config(DEEPSEEK_CODER_6_7B)
    # 1 × 24 GB: only offload fits, and offload is AdamW only.
    adamw = recommend(plans(shape, gpu_memory=24 * GB, cpu_memory=400 * GB))
    assert adamw is not None and adamw.offload_optimizer == "cpu"
    for optimizer in ("adafactor", "adamw_8bit"):
        options = plans(shape, gpu_memory=24 * GB, cpu_memory=400 * GB, optimizer=optimizer)
        assert recommend(options) is None
        offloaded = [plan for plan in options if plan.offload_optimizer == "cpu"]
        assert offloaded and all(plan.fits and plan.blocked for plan in offloaded)
    # 4 × 40 GB: AdamW needs ZeRO-3; smaller states let the faster ZeRO-2 fit.
    four = {"gpu_memory": 40 * GB, "cpu_memory": 400 * GB, "gpus_per_node": 4}
    adamw = recommend(plans(shape, **four))
    assert adamw is not None and adamw.label == "ZeRO-3"
    for optimizer in ("adafactor", "adamw_8bit"):
        plan = recommend(plans(shape, **four, optimizer=optimizer))
        assert plan is not None and plan.label == "ZeRO-2" and plan.optimizer == optimizer

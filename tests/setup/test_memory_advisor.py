"""The memory advisor: model sizes from config.json, model states equal to DeepSpeed's own
estimators, and a recommendation that moves to offload only when memory demands it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from magitui_core.memory_advisor import (
    ModelShape,
    ModelShapeError,
    model_states,
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

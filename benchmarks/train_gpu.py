"""Training throughput on a GPU: a random ~271 M Llama trained for a few dozen steps through
`magitui train` (the launch path users get: preflight, a detached job running
`magitui_core.training.sft`, its events), on an OSS-Instruct-like length distribution.

Cases (each step is one batch: --global-batch equals the per-device batch, no accumulation):
  original  the recipe's random batches padded to their longest row (--packing off); magitui's
            default where flash-attn is not installed
  grouped   --sampling group_by_length --packing off: little padding, other batches
  packed    --packing on: the recipe's random batches end to end in one row, no padding;
            magitui's default with flash attention
  zero3     the default under DeepSpeed ZeRO-3 with optimizer and parameters offloaded to CPU
            (Adafactor cannot run there: magitui trains adamw_torch and says so)

For each: real (non-padding) tokens/s after warm-up, padded share, real tokens per batch and
peak GPU memory allocated by rank 0.
    python benchmarks/train_gpu.py [--steps 40] [--cases original,grouped,packed,zero3]
    python benchmarks/train_gpu.py --smoke   # tiny model, 2 steps, CPU: checks the plumbing
Without a CUDA GPU (and without --smoke) it says so and exits 0. Needs magitui installed with
its training extras (deepspeed, pydantic: a bare GPU machine lacks them, see FACTS.md). Each
case's output folder is deleted once read (a 271 M checkpoint with optimizer state is ~4 GB).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import isolated_env, magitui_command
from pad_share import lengths

CASES = ("original", "grouped", "packed", "zero3")
# hidden 1024, 16 layers, 16 heads, MLP 2816, vocabulary 32000, untied head: 271 M parameters.
FULL_MODEL = {"hidden": 1024, "layers": 16, "heads": 16, "mlp": 2816, "vocab": 32_000}
SMOKE_MODEL = {"hidden": 64, "layers": 2, "heads": 2, "mlp": 128, "vocab": 1_000}
CASE_TIMEOUT_S = 900


@dataclass
class Result:
    case: str
    steps: int
    tokens_per_s: float
    pad_share: float
    tokens_per_batch: float
    peak_gb: float | None
    wall_s: float


def build_model(dest: Path, shape: dict[str, int], max_len: int) -> int:
    """A word-level tokenizer (one token per word, so lengths are exact) and a random Llama."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    vocab = {token: i for i, token in enumerate(specials)}
    for i in range(shape["vocab"] - len(specials)):
        vocab[f"w{i}"] = len(vocab)
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=shape["vocab"],
        hidden_size=shape["hidden"],
        intermediate_size=shape["mlp"],
        num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"],
        num_key_value_heads=shape["heads"],
        max_position_embeddings=max(2048, max_len),
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(dest)
    fast.save_pretrained(dest)
    return sum(p.numel() for p in model.parameters())


def write_data(path: Path, model_dir: Path, rows: int, max_len: int) -> None:
    """Instruction/response rows whose token counts follow pad_share.py's distribution."""
    from transformers import AutoTokenizer

    from magitui_core.prompts import training_prompt

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    overhead = len(tokenizer(training_prompt(""), add_special_tokens=False)["input_ids"]) + 2
    rng = random.Random(2)
    vocab = len(tokenizer) - 4

    def words(n: int) -> str:
        return " ".join(f"w{rng.randrange(vocab)}" for _ in range(n))

    with path.open("w", encoding="utf-8") as handle:
        for total in lengths(rows, max_len, seed=0):
            response = max(4, int(total * 0.7))
            instruction = max(4, total - response - overhead)
            record = {"instruction": words(instruction), "response": words(response)}
            handle.write(json.dumps(record) + "\n")


def zero3_config(folder: Path, gpu: bool) -> Path:
    from magitui_core.training.accelerate_config import AccelerateSettings, write_configs

    settings = AccelerateSettings(
        gpus=1 if gpu else 0,
        mixed_precision="bf16" if gpu else "no",
        use_deepspeed=True,
        zero_stage=3,
        offload_optimizer="cpu",
        offload_params="cpu",
    )
    folder.mkdir(parents=True, exist_ok=True)
    yaml_path, _ = write_configs(settings, folder)
    return yaml_path


def run_case(case: str, args: argparse.Namespace, model: Path, data: Path, work: Path) -> Result:
    from magitui_core.context import open_context
    from magitui_core.jobs.events import read_events

    command = [*magitui_command(), "train", "--data", str(data), "--base-model", str(model)]
    command += ["--out", str(work / case), "--max-steps", str(args.steps)]
    command += ["--per-device-batch", str(args.batch), "--global-batch", str(args.batch)]
    command += ["--max-seq-len", str(args.max_seq_len)]
    command += ["--save-steps", str(args.steps + 1)]  # no checkpoint inside the timing
    if case == "original":
        command += ["--sampling", "random", "--packing", "off"]
    if case == "grouped":
        command += ["--sampling", "group_by_length", "--packing", "off"]
    if case == "packed":
        command += ["--packing", "on"]
    if case == "zero3":
        command += ["--accelerate-config", str(zero3_config(work / "zero3-config", args.gpu))]
    if not args.gpu:
        command.append("--skip-checks")  # preflight rightly objects to training without a GPU
    print(f"\n== {case}: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    # stderr (the followed metrics) goes to the terminal as progress; stdout is the job id.
    finished = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=CASE_TIMEOUT_S)
    wall = time.monotonic() - started
    job_id = finished.stdout.split()[0] if finished.stdout.split() else None
    if finished.returncode != 0 or job_id is None:
        raise SystemExit(f"case {case}: magitui train exited {finished.returncode}")
    events = read_events(open_context().jobs.get(job_id).events_path)
    shutil.rmtree(work / case, ignore_errors=True)
    return summarise(case, events, wall)


def summarise(case: str, events: list[dict], wall: float) -> Result:
    """Steady-state real tokens/s: between a step past warm-up and the last one."""
    (begin,) = [e for e in events if e["type"] == "progress" and e.get("phase") == "train"]
    metrics = [e for e in events if e["type"] == "metric"]
    (done,) = [e for e in events if e["type"] == "done"]

    def tokens_so_far(metric: dict) -> float:  # the events carry the average since begin
        return metric["tokens_per_s"] * (metric["time"] - begin["time"])

    first = metrics[min(len(metrics) - 1, max(1, len(metrics) // 4))]
    last = metrics[-1]
    if last is first:
        rate = last["tokens_per_s"]  # too few steps to leave warm-up out (--smoke)
    else:
        rate = (tokens_so_far(last) - tokens_so_far(first)) / (last["time"] - first["time"])
    peaks = [max(m["gpu_mem_gb"]) for m in metrics if m.get("gpu_mem_gb")]
    return Result(
        case=case,
        steps=done["steps"],
        tokens_per_s=rate,
        pad_share=done["pad_share"],
        tokens_per_batch=done["tokens_per_batch"],
        peak_gb=max(peaks) if peaks else None,
        wall_s=wall,
    )


def report(results: list[Result]) -> None:
    print(
        f"\n{'case':<9} {'steps':>5} {'real tok/s':>11} {'padded':>7} "
        f"{'tok/batch':>9} {'peak GPU':>9} {'wall':>7}"
    )
    for r in results:
        peak = f"{r.peak_gb:.1f} GB" if r.peak_gb is not None else "n/a"
        print(
            f"{r.case:<9} {r.steps:>5} {r.tokens_per_s:>11,.0f} {r.pad_share:>7.1%} "
            f"{r.tokens_per_batch:>9,.0f} {peak:>9} {r.wall_s:>6.0f}s"
        )
    base = next((r for r in results if r.case == "original"), None)
    if base is not None and base.tokens_per_s > 0:
        for r in results:
            if r is not base:
                print(f"{r.case}: {r.tokens_per_s / base.tokens_per_s:.2f}x the original's tok/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=8, help="per-device batch (rows)")
    parser.add_argument("--max-seq-len", type=int, default=1216)
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--cases", default=",".join(CASES), help=f"any of {', '.join(CASES)}")
    parser.add_argument("--smoke", action="store_true", help="tiny model, 2 steps, on the CPU")
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"--cases {','.join(unknown)}: unknown; choose from {', '.join(CASES)}")

    import torch

    args.gpu = torch.cuda.is_available() and not args.smoke
    if not args.gpu and not args.smoke:
        print("no CUDA GPU: this benchmark needs one (--smoke checks its plumbing on the CPU)")
        return 0
    if args.smoke:
        args.steps, args.batch, args.rows = 2, 4, 64

    isolated_env()
    work = Path(tempfile.mkdtemp(prefix="magitui-train-gpu-"))
    model, data = work / "model", work / "train.jsonl"
    shape = SMOKE_MODEL if args.smoke else FULL_MODEL
    print(f"building a random Llama in {model} …", flush=True)
    params = build_model(model, shape, args.max_seq_len)
    write_data(data, model, args.rows, args.max_seq_len)
    device = torch.cuda.get_device_name(0) if args.gpu else "CPU (smoke)"
    print(
        f"model {params / 1e6:.1f} M parameters ({shape}); {args.rows} rows, "
        f"batch {args.batch}, max_seq_len {args.max_seq_len}, {args.steps} steps; {device}"
    )
    results = [run_case(case, args, model, data, work) for case in cases]
    report(results)
    if args.smoke:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"\nmodel and data kept in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One vocabulary: the same idea has the same option name in every command, every option says
what it does, and the former spellings still work (hidden) for one release."""

from __future__ import annotations

import subprocess

import click
import pytest

from magitui.cli import main
from tests.conftest import magitui_cmd

# A shared idea → its one spelling, and the spellings it replaced (which must not be shown).
VOCABULARY = {
    "mixed precision": ("--precision", {"--mixed-precision"}),
    "optimizer": ("--optim", {"--optimizer"}),
    "sequence length": ("--max-seq-len", {"--max-len", "--seq-len"}),
    "per-device batch": ("--per-device-batch", {"--batch-size", "--micro-batch"}),
    "gradient checkpointing": ("--gradient-checkpointing", {"--checkpointing"}),
}


def commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(main)
    found: list[tuple[str, click.Command]] = []

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None:
                    walk(sub, [*path, name])
        else:
            found.append((" ".join(path), command))

    walk(main, [])
    return found


def shown_options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option) and not p.hidden]


def test_there_are_commands_to_check() -> None:
    names = {name for name, _ in commands()}
    assert {"train", "generate", "preprocess", "accelerate-config", "serve", "jobs start"} <= names


@pytest.mark.parametrize(("name", "command"), commands(), ids=lambda v: str(v))
def test_every_option_says_what_it_does(name: str, command: click.Command) -> None:
    silent = [opt.opts[0] for opt in shown_options(command) if not (opt.help or "").strip()]
    assert not silent, f"magitui {name}: options without help: {silent}"


def test_shared_ideas_have_one_spelling_everywhere() -> None:
    for name, command in commands():
        spelled = {o for opt in shown_options(command) for o in opt.opts + opt.secondary_opts}
        for idea, (canonical, former) in VOCABULARY.items():
            assert not spelled & former, (
                f"magitui {name} shows {sorted(spelled & former)} for {idea}; say {canonical}"
            )
        # -n is "how many" (generate's count, jobs logs' lines), never a name.
        for opt in shown_options(command):
            if "-n" in opt.opts:
                assert opt.name in ("count", "lines"), f"magitui {name}: -n means {opt.name}"
        for opt in shown_options(command):
            if "--run" in opt.opts:
                assert opt.metavar == "RUN", f"magitui {name}: --run {opt.metavar}"


def test_engine_defaults_agree() -> None:
    engines = {
        name: opt.default
        for name, command in commands()
        for opt in shown_options(command)
        if "--engine" in opt.opts
    }
    assert engines == {"generate": "auto", "serve": "auto"}


def test_former_spellings_still_work(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Old names parse to the same settings as the new ones (for one release)."""
    out_new, out_old = tmp_path / "new", tmp_path / "old"
    common = ["accelerate-config", "--gpus", "2", "--no-deepspeed"]
    new = subprocess.run(
        [*magitui_cmd(), *common, "--out", str(out_new), "--precision", "fp16"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    old = subprocess.run(
        [*magitui_cmd(), *common, "--out", str(out_old), "--mixed-precision", "fp16"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert new.returncode == 0 and old.returncode == 0, new.stderr + old.stderr
    same = (out_old / "accelerate.yaml").read_text().replace(str(out_old), str(out_new))
    assert (out_new / "accelerate.yaml").read_text() == same
    assert "mixed_precision: fp16" in (out_new / "accelerate.yaml").read_text()
    help_text = subprocess.run(
        [*magitui_cmd(), "accelerate-config", "--help"], capture_output=True, text=True
    ).stdout
    assert "--precision" in help_text and "--mixed-precision" not in help_text
    parsed = main.get_command(click.Context(main), "train").make_context(  # type: ignore[union-attr]
        "train",
        [
            "--data",
            "d.jsonl",
            "--base-model",
            "m",
            "--out",
            "o",
            "--batch-size",
            "4",
            "--max-len",
            "512",
        ],
    )
    assert (parsed.params["per_device_batch"], parsed.params["max_seq_len"]) == (4, 512)

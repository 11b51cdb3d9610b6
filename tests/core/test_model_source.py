"""A model is a local folder or a Hugging Face id, decided once, with one line when neither."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from magitui_core.model_source import ModelSourceError, model_source
from tests.conftest import magitui_cmd


def test_folders_ids_and_mistakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "final").mkdir()
    (tmp_path / "weights.bin").write_bytes(b"x")
    local = model_source(str(tmp_path / "final"))
    assert local.is_local and local.folder == (tmp_path / "final").resolve()
    monkeypatch.chdir(tmp_path)
    assert model_source("final").folder == (tmp_path / "final").resolve()  # relative, existing
    for hub_id in ("deepseek-ai/deepseek-coder-6.7b-base", "gpt2", "org/name.v1_2"):
        source = model_source(hub_id)
        assert not source.is_local and source.text == hub_id
    cases = {
        "/no/such/dir": r"model folder /no/such/dir does not exist — check the path",
        "./missing": r"folder ./missing does not exist",
        "runs/exp/checkpoints/final": r"folder runs/exp/checkpoints/final does not exist",
        "weights.bin": r"weights.bin is a file — give the model's folder",
        "bad id!!": r"'bad id!!' is neither an existing folder nor a Hugging Face id",
        "org--x/name": r"neither an existing folder nor a Hugging Face id",
        "  ": r"no model given",
    }
    for text, message in cases.items():
        with pytest.raises(ModelSourceError, match=message):
            model_source(text)


def test_serve_refuses_a_missing_folder_before_starting_a_job(isolated: Path) -> None:
    result = subprocess.run(
        [*magitui_cmd(), "serve", "/no/such/dir"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: model folder /no/such/dir does not exist — check the path, or give a Hugging "
        "Face id like deepseek-ai/deepseek-coder-6.7b-base"
    )
    assert not (isolated / "workspace" / "jobs").exists() or not any(
        (isolated / "workspace" / "jobs").iterdir()
    )

"""Fixtures for the Monitor tests: a private HF_HOME holding a real cache layout, and
every other cache the scan looks at pointed into tmp_path (never the user's ~/.cache)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cache_layout import Layout, build_layout


@pytest.fixture
def cache_env(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_DATASETS_CACHE", "HF_XET_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / "xdg-cache"))
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(isolated / "torch_extensions"))
    monkeypatch.setenv("PIP_CACHE_DIR", str(isolated / "pip"))
    return isolated


@pytest.fixture
def layout(cache_env: Path) -> Layout:
    return build_layout(cache_env / "hf", cache_env / "outside")

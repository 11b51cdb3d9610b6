"""Curation tests never reach out to the Hugging Face Hub, whatever the machine's network."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def hub_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Subprocesses inherit it too. A test of the Hub probe itself removes it again.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("MBPP_PATH", "DS1000_PATH"):
        monkeypatch.delenv(name, raising=False)

"""Secrets: environment first, 0600 file second, masked everywhere they are shown."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from magitui_core import credentials, paths
from tests.conftest import magitui_cmd
from tests.fake_secrets import fake_hf_token, fake_openai_key

KEY = fake_openai_key("proj-0123456789abcdefghijKLMN")


def test_env_beats_file(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials.store("openai_api_key", KEY)
    assert credentials.resolve("openai_api_key").source.startswith("credentials file")
    monkeypatch.setenv("OPENAI_API_KEY", fake_openai_key("from-the-environment-1234"))
    resolved = credentials.resolve("openai_api_key")
    assert resolved.value == fake_openai_key("from-the-environment-1234")
    assert resolved.source == "environment (OPENAI_API_KEY)"


def test_file_is_created_0600_and_never_in_config(isolated: Path) -> None:
    path = credentials.store("hf_token", fake_hf_token("abcdefghijklmnopqrstuvwxyz0123"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credentials.permission_warning() is None
    assert not paths.config_file().exists()
    path.chmod(0o644)
    warning = credentials.permission_warning()
    assert warning is not None and f"chmod 600 {path}" in warning


def test_unset_removes_only_that_secret(isolated: Path) -> None:
    credentials.store("hf_token", fake_hf_token("abcdefghijklmnopqrstuvwxyz0123"))
    credentials.store("openai_api_key", KEY)
    credentials.store("hf_token", "")
    assert credentials.load_credentials_file() == {"openai_api_key": KEY}


def test_hf_token_falls_back_to_huggingface_login(isolated: Path) -> None:
    token_file = isolated / "hf" / "token"
    token_file.parent.mkdir(parents=True)
    token_file.write_text(fake_hf_token("loggedinloggedinloggedin1234") + "\n")
    resolved = credentials.resolve("hf_token")
    assert resolved.value == fake_hf_token("loggedinloggedinloggedin1234")
    assert "huggingface login" in resolved.source


def test_mask_shows_only_ends() -> None:
    assert credentials.mask(KEY) == "sk-…KLMN"
    assert credentials.mask("short") == "•••••"


def test_redaction_of_text_and_argv(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "plain-token-without-prefix-42")
    text = f"key={KEY} tok=plain-token-without-prefix-42"
    assert KEY not in credentials.redact_text(text)
    assert "plain-token-without-prefix-42" not in credentials.redact_text(text)
    argv = ["serve", "--api-key", "secret-value-1", "--token=abcdefghijkl", KEY]
    redacted = credentials.redact_argv(argv)
    assert redacted[:2] == ["serve", "--api-key"]
    assert "secret-value-1" not in " ".join(redacted)
    assert "abcdefghijkl" not in " ".join(redacted)
    assert KEY not in " ".join(redacted)


def test_job_environment_only_adds_missing(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials.store("openai_api_key", KEY)
    assert credentials.job_environment() == {"OPENAI_API_KEY": KEY}
    monkeypatch.setenv("OPENAI_API_KEY", fake_openai_key("env-wins-000000000000"))
    assert credentials.job_environment() == {}


def test_hf_token_is_also_stored_where_huggingface_hub_looks(isolated: Path) -> None:
    token = fake_hf_token("abcdefghijklmnopqrstuvwxyz0123")
    credentials.store("hf_token", token)
    hub_file = isolated / "hf" / "token"  # $HF_HOME/token
    assert hub_file.read_text() == token
    assert stat.S_IMODE(hub_file.stat().st_mode) == 0o600


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*magitui_cmd(), "credentials", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_unset_removes_the_secret_and_the_token_file_it_wrote(isolated: Path) -> None:
    token = fake_hf_token("unsetmeabcdefghijklmnopqrst")
    assert run_cli("set", "hf_token", stdin=token + "\n").returncode == 0
    assert run_cli("set", "openai_api_key", stdin=KEY + "\n").returncode == 0
    token_file = isolated / "hf" / "token"
    assert token_file.read_text() == token
    result = run_cli("unset", "hf_token")
    assert result.returncode == 0, result.stderr
    assert "removed hf_token from" in result.stdout and str(token_file) in result.stdout
    assert not token_file.exists()
    # A fresh process reads no token at all, and the other secret is untouched.
    shown = run_cli().stdout
    assert "Hugging Face token   not set" in shown
    assert credentials.mask(KEY) in shown
    assert token not in paths.credentials_file().read_text()
    again = run_cli("unset", "hf_token")
    assert again.returncode == 0 and "was not stored" in again.stdout


def test_unset_keeps_a_login_made_elsewhere_and_says_so(isolated: Path) -> None:
    credentials.store("hf_token", fake_hf_token("storedbymagituiabcdefghijk"))
    token_file = isolated / "hf" / "token"
    other = fake_hf_token("loggedinwithhfcliabcdefghij")
    token_file.write_text(other)  # huggingface-cli login since: not magitui's to delete
    result = run_cli("unset", "hf_token")
    assert result.returncode == 0
    assert token_file.read_text() == other
    assert "still set by the huggingface login" in result.stderr
    assert credentials.resolve("hf_token").value == other

"""The headless command as a user runs it: real `magitui` processes, real jobs."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from magitui_core.jobs.supervisor import group_members
from tests.conftest import magitui_cmd
from tests.fake_secrets import fake_openai_key


def magitui(
    *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*magitui_cmd(), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def jobs_json() -> list[dict]:
    result = magitui("jobs", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_version_and_help(isolated: Path) -> None:
    assert magitui("--version").stdout.startswith("magitui, version ")
    help_text = magitui("--help").stdout
    for command in ("jobs", "runs", "config", "credentials"):
        assert command in help_text


def test_job_lifecycle_from_the_command_line(isolated: Path) -> None:
    assert "No jobs yet" in magitui("jobs").stdout
    started = magitui("jobs", "start", "--name", "ticker", "--", "sh", "-c", "echo tick; sleep 300")
    assert started.returncode == 0, started.stderr
    job_id = started.stdout.strip()
    assert job_id.startswith("ticker-")
    assert f"magitui jobs logs {job_id} -f" in started.stderr
    (listed,) = jobs_json()
    assert listed["id"] == job_id and listed["state"] == "running"
    table = magitui("jobs").stdout
    assert table.splitlines()[0].split()[:4] == ["ID", "NAME", "RUN", "STATE"]
    assert job_id in table and "running" in table
    deadline = time.monotonic() + 5
    while "tick" not in magitui("jobs", "logs", job_id).stdout:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    stopped = magitui("jobs", "stop", job_id, "--grace", "3")
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == f"{job_id} stopped, SIGTERM"
    assert group_members(listed["pgid"]) == []
    assert magitui("jobs", "stop", job_id).stdout.strip() == f"{job_id} already stopped"
    shown = json.loads(magitui("jobs", "show", job_id, "--json").stdout)
    assert shown["state"] == "stopped" and shown["signal"] == "SIGTERM"


def test_job_survives_the_shell_that_started_it(isolated: Path) -> None:
    """The shell runs `magitui jobs start` and is then hung up on, like a dropped SSH link."""
    script = f"{' '.join(magitui_cmd())} jobs start --name lasting -- sleep 300; kill -HUP $$"
    shell = subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, start_new_session=True, timeout=60
    )
    job_id = shell.stdout.strip()
    assert job_id.startswith("lasting-"), shell.stderr
    time.sleep(0.3)
    (job,) = jobs_json()
    assert job["state"] == "running"
    assert magitui("jobs", "stop", job_id, "--grace", "2").returncode == 0


def test_logs_follow_until_the_job_ends(isolated: Path) -> None:
    job_id = magitui(
        "jobs", "start", "--", "sh", "-c", "for i in 1 2 3; do echo step $i; sleep 0.2; done"
    ).stdout.strip()
    followed = magitui("jobs", "logs", job_id, "-f", timeout=30)
    assert followed.returncode == 0
    assert followed.stdout.splitlines() == ["step 1", "step 2", "step 3"]
    assert f"job {job_id} succeeded" in followed.stderr


def test_errors_are_one_clear_line(isolated: Path) -> None:
    missing = magitui("jobs", "stop", "nope")
    assert missing.returncode == 1
    assert "no job 'nope'" in missing.stderr and "Traceback" not in missing.stderr
    failed = magitui("jobs", "start", "--", "magitui-no-such-binary")
    assert failed.returncode == 1
    assert "command not found" in failed.stderr
    bad = magitui("config", "set", "jobs.stop_grace_seconds", "-4")
    assert bad.returncode == 1
    assert "jobs.stop_grace_seconds = '-4' — must be greater than or equal to 0" in bad.stderr


def test_runs_create_rename_delete(isolated: Path) -> None:
    assert magitui("runs", "create", "exp1").returncode == 0
    assert magitui("runs", "rename", "exp1", "exp2").returncode == 0
    (run,) = json.loads(magitui("runs", "--json").stdout)
    assert run["name"] == "exp2" and run["data_files"] == []
    (Path(run["path"]) / "data" / "generated.jsonl").write_text("{}\n")
    header, row = magitui("runs").stdout.splitlines()
    assert header.split() == ["NAME", "CREATED", "JOBS", "EVAL", "DATA"]
    assert row.startswith("exp2 ") and row.endswith(" 0     -     generated.jsonl")
    refused = magitui("runs", "delete", "exp2")  # no terminal, no --yes
    assert refused.returncode == 1 and "pass --yes" in refused.stderr
    assert Path(run["path"]).is_dir()
    assert magitui("runs", "delete", "exp2", "--yes").returncode == 0
    assert not Path(run["path"]).exists()
    bad = magitui("runs", "create", "no spaces")
    assert bad.returncode == 1 and "not allowed" in bad.stderr


def test_bad_config_warns_and_carries_on(isolated: Path) -> None:
    config = isolated / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[jobs]\nstop_grace_seconds = 'never'\n")
    result = magitui("jobs")
    assert result.returncode == 0
    assert f"warning: {config}: [jobs] stop_grace_seconds = 'never'" in result.stderr
    shown = json.loads(magitui("config", "show", "--json").stdout)
    assert shown["settings"]["jobs"]["stop_grace_seconds"] == 10.0


def test_credentials_are_stored_0600_and_shown_masked(isolated: Path) -> None:
    key = fake_openai_key("live-abcdefghijklmnop0123")
    stored = magitui("credentials", "set", "openai_api_key", stdin=key + "\n")
    assert stored.returncode == 0, stored.stderr
    assert key not in stored.stdout and "sk-…0123" in stored.stdout
    path = isolated / "config" / "credentials.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shown = magitui("credentials").stdout
    assert "sk-…0123" in shown and key not in shown
    config_text = magitui("config", "show").stdout
    assert key not in config_text


@pytest.mark.parametrize("args", [["jobs"], ["runs"], ["config", "path"]])
def test_headless_commands_never_load_the_ui(isolated: Path, args: list[str]) -> None:
    code = (
        "import sys, runpy; sys.argv = ['magitui', *sys.argv[1:]];\n"
        "from magitui.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'torch', 'transformers', 'deepspeed'))\n"
        "print('LOADED', bad, file=sys.stderr)"
    )
    result = subprocess.run(
        [os.sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )
    assert "LOADED []" in result.stderr, result.stderr


def test_bare_magitui_opens_the_workspace_as_every_command_does(
    isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run bare, `magitui` starts the app without the command-line parser; what it says
    about a workspace it cannot open must not differ from what the commands say."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MAGITUI_HOME", str(blocker))
    bare, listed = magitui(), magitui("jobs")
    assert bare.returncode == listed.returncode == 1
    assert bare.stderr == listed.stderr
    assert bare.stderr.startswith(f"Error: cannot create workspace {blocker}")

"""Where the Chat pane can talk: endpoints it knows of, the models they serve, transcript files.

Pure Python (urllib, no openai import) so listing is cheap and works in the UI's threads.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from magitui_core.config import MagituiConfig
from magitui_core.jobs.manager import JobInfo
from magitui_core.jobs.status import command_value
from magitui_core.workspace import Workspace

SERVER_JOB_KINDS = ("teacher-server", "serve")
CHATS_DIR = "chats"


class EndpointError(RuntimeError):
    """An endpoint that cannot be listed or used; the message names it and the fix."""


@dataclass(frozen=True)
class Endpoint:
    label: str  # where it came from: "config teacher", "job serve-abc123", "OPENAI_BASE_URL"
    base_url: str
    model: str


def server_job_endpoint(job: JobInfo) -> Endpoint | None:
    """The endpoint a live server job listens on, read from its command line."""
    if job.status.kind not in SERVER_JOB_KINDS or not job.is_live:
        return None
    command = list(job.status.command)
    port = command_value(command, "--port")
    model = command_value(command, "--model") or command_value(command, "serve")
    if port is None or model is None:
        return None
    host = command_value(command, "--host") or "127.0.0.1"
    return Endpoint(f"job {job.id}", f"http://{host}:{port}/v1", model)


def known_endpoints(config: MagituiConfig, jobs: list[JobInfo]) -> list[Endpoint]:
    """Running server jobs first (the model just served), then the configured teacher and
    OPENAI_BASE_URL; duplicates dropped."""
    found: list[Endpoint] = []
    for job in jobs:
        endpoint = server_job_endpoint(job)
        if endpoint is not None:
            found.append(endpoint)
    if config.teacher.base_url:
        found.append(
            Endpoint("config teacher", config.teacher.base_url, config.teacher.model or "")
        )
    env_url = os.environ.get("OPENAI_BASE_URL")
    if env_url:
        found.append(Endpoint("OPENAI_BASE_URL", env_url, ""))
    unique: dict[tuple[str, str], Endpoint] = {}
    for endpoint in found:
        unique.setdefault((endpoint.base_url.rstrip("/"), endpoint.model), endpoint)
    return list(unique.values())


def served_models(base_url: str, api_key: str | None = None, timeout: float = 5.0) -> list[str]:
    """GET {base_url}/models; raises EndpointError with a one-line reason."""
    url = base_url.rstrip("/") + "/models"
    request = urllib.request.Request(url)
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise EndpointError(f"{url} answered {exc.code} — check the base URL and API key") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EndpointError(f"cannot reach {url} ({reason}) — is the server running?") from None
    except ValueError:
        raise EndpointError(
            f"{url} did not answer JSON — is it an OpenAI-compatible /v1?"
        ) from None
    return [str(item.get("id")) for item in data.get("data", []) if isinstance(item, dict)]


def model_chat_template(model: str) -> str | None:
    """The chat template of a model folder on this machine, or None (remote or no template)."""
    folder = Path(model).expanduser()
    if not folder.is_dir():
        return None
    jinja = folder / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    config = folder / "tokenizer_config.json"
    try:
        template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
    except (OSError, ValueError):
        return None
    return template if isinstance(template, str) else None


def special_tokens(model: str) -> tuple[str, str]:
    """(bos, eos) of a local model's tokenizer, for the raw-prompt view; empty when unknown."""
    config = Path(model).expanduser() / "tokenizer_config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "", ""

    def text(value: object) -> str:
        if isinstance(value, dict):
            value = value.get("content")
        return value if isinstance(value, str) else ""

    return text(data.get("bos_token")), text(data.get("eos_token"))


def chats_dir(workspace: Workspace, run: str | None) -> Path:
    """runs/<run>/chats/, or <workspace>/chats/ when the chat belongs to no run."""
    base = workspace.get_run(run).path if run else workspace.root
    return base / CHATS_DIR


def transcript_path(workspace: Workspace, run: str | None, suffix: str = ".json") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return chats_dir(workspace, run) / f"chat-{stamp}{suffix}"


def list_transcripts(workspace: Workspace, run: str | None) -> list[Path]:
    """Saved JSON transcripts, newest first."""
    folder = chats_dir(workspace, run)
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)

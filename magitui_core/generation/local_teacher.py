"""A teacher served on this machine, as a managed job: `vllm serve MODEL`.

vLLM is the server worth using for generation (continuous batching); it is an
optional install. `transformers serve` can stand in for small models and tests.
The server runs as a job, so it outlives the terminal and is stopped like any job.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from magitui_core.atomic import write_json_atomic
from magitui_core.jobs.manager import JobInfo, JobManager

JOB_KIND = "teacher-server"
SERVE_KIND = "serve"
ENDPOINT_FILE = "endpoint.json"
ENGINES = ("vllm", "transformers")
READY_TIMEOUT = 900.0  # big models take minutes to load
VLLM_MISSING = (
    "vllm is not installed — install it where the GPU is: pip install vllm "
    "(see https://docs.vllm.ai/en/latest/getting_started/installation.html), "
    "or serve a small model with --engine transformers (pip install 'transformers[serving]')"
)
TRANSFORMERS_MISSING = (
    "`transformers serve` is not available — install it: pip install 'transformers[serving]'"
)


class LocalTeacherError(RuntimeError):
    """The local server cannot be started or did not come up; the message says why."""


@dataclass(frozen=True)
class LocalTeacher:
    job: JobInfo
    base_url: str
    model: str  # the name requests must use


def engine_command(engine: str, model: str, port: int) -> list[str]:
    """The server's command line; raises LocalTeacherError naming the install when missing."""
    if engine == "vllm":
        vllm = shutil.which("vllm") or _beside_python("vllm")
        if vllm:
            return [vllm, "serve", model, "--host", "127.0.0.1", "--port", str(port)]
        if importlib.util.find_spec("vllm") is not None:
            return [
                sys.executable,
                "-m",
                "vllm.entrypoints.openai.api_server",
                "--model",
                model,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ]
        raise LocalTeacherError(VLLM_MISSING)
    if engine == "transformers":
        cli = _beside_python("transformers") or shutil.which("transformers")
        if not cli:
            raise LocalTeacherError(TRANSFORMERS_MISSING)
        return [cli, "serve", model, "--host", "127.0.0.1", "--port", str(port)]
    raise LocalTeacherError(f"engine {engine!r} is unknown — one of: {', '.join(ENGINES)}")


def _beside_python(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_local_teacher(
    jobs: JobManager,
    model: str,
    engine: str = "vllm",
    port: int | None = None,
    run: str | None = None,
    kind: str = JOB_KIND,
) -> LocalTeacher:
    """Start the server job; returns at once (see wait_until_ready).

    The endpoint is recorded in the job's folder (endpoint.json), so the Chat pane and
    `magitui chat` can find a running server without being told its port.
    """
    port = port or free_port()
    command = engine_command(engine, model, port)
    prefix = "teacher" if kind == JOB_KIND else "serve"
    job = jobs.start(command, name=f"{prefix}-{Path(model).name}", kind=kind, run=run)
    teacher = LocalTeacher(job, f"http://127.0.0.1:{port}/v1", model)
    write_json_atomic(
        job.dir / ENDPOINT_FILE, {"base_url": teacher.base_url, "model": model, "engine": engine}
    )
    return teacher


def serve_model_problem(model: str) -> str | None:
    """Why ``model`` cannot be served — a mistyped path, a folder that holds no model — or
    None; refused before a job starts, rather than by a server that fails a minute later."""
    from magitui_core.model_source import ModelSourceError, model_source

    try:
        source = model_source(model)
    except ModelSourceError as exc:
        return str(exc)
    if source.folder is not None and not (source.folder / "config.json").is_file():
        return (
            f"{source.folder} has no config.json — give a model folder (a run's "
            "checkpoints/final, a checkpoint-N folder) or a model id from the Hugging Face cache"
        )
    return None


def gpu_warnings(model: str, jobs: JobManager) -> list[str]:
    """Will the model fit next to what already holds the GPU? (Only where a GPU exists.)
    Reads NVML, which can stall on a sick driver: call it off the UI thread."""
    from magitui_core.machine.gpu import NvmlSource
    from magitui_core.training.memory_advisor import ModelShape, ModelShapeError, read_model_config

    warnings: list[str] = []
    training = [j for j in jobs.list_jobs() if j.is_live and j.status.kind == "train"]
    source = NvmlSource()
    try:
        snapshot = source.read()
    finally:
        source.close()
    if not snapshot.available:
        return warnings
    for job in training:
        warnings.append(f"training job {job.id} is running and holds GPU memory")
    try:
        weights = ModelShape.from_config(read_model_config(model)).parameters * 2  # 16-bit
    except ModelShapeError:
        return warnings
    free = max((g.memory_total or 0) - (g.memory_used or 0) for g in snapshot.gpus)
    if weights > free:
        warnings.append(
            f"the model's weights need about {weights / 1024**3:.1f} GiB; the freest GPU has "
            f"{free / 1024**3:.1f} GiB free"
        )
    return warnings


def default_engine() -> str:
    """vLLM where it is installed (fast), else `transformers serve`."""
    try:
        engine_command("vllm", "probe", 0)
    except LocalTeacherError:
        return "transformers"
    return "vllm"


def is_ready(base_url: str) -> bool:
    root = base_url.rstrip("/").removesuffix("/v1")
    for url in (f"{root}/health", f"{base_url.rstrip('/')}/models"):
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return False


class WaitAbandoned(LocalTeacherError):
    """The caller stopped waiting; the server job itself goes on loading."""


def wait_until_ready(
    jobs: JobManager,
    teacher: LocalTeacher,
    timeout: float = READY_TIMEOUT,
    abandon: threading.Event | None = None,
) -> LocalTeacher:
    """Poll /health (vLLM) or /v1/models until the server answers; fail fast if it died.

    ``abandon``: set it to stop waiting (WaitAbandoned) — a dialog closed while a big model
    loads must not leave a thread polling for minutes, which would hold up the app's exit.
    """
    deadline = time.monotonic() + timeout
    while True:
        if abandon is not None and abandon.is_set():
            raise WaitAbandoned(f"stopped waiting for the server job {teacher.job.id}")
        if is_ready(teacher.base_url):
            return teacher
        job = jobs.get(teacher.job.id)
        if not job.is_live:
            last = " | ".join(job.tail(3))
            raise LocalTeacherError(
                f"the server job {job.id} ended ({job.state.value}) before it was ready: "
                f"{last or 'no output'} — see: magitui jobs logs {job.id}"
            )
        if time.monotonic() > deadline:
            raise LocalTeacherError(
                f"the server job {job.id} was not ready after {timeout:.0f} s — "
                f"see: magitui jobs logs {job.id}"
            )
        if abandon is not None:
            abandon.wait(0.5)
        else:
            time.sleep(0.5)

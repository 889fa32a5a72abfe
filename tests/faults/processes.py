"""Real processes on loopback: `pathway serve` and `pathway scheduler`, started, killed with
SIGKILL, restarted and stopped with SIGTERM; and a PostgreSQL cluster of the suite's own.

Every process gets a clean `PATHWAY_*` environment (the caller's settings never leak in), short
scan and delivery intervals, and a log file under the test's tmp_path.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_SCRIPT = ROOT / "scripts" / "postgres.sh"
#: What `pathway scheduler` logs (at INFO) once its jobs are scheduled.
SCHEDULER_STARTED = "reminders every"


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             every: float = 0.05) -> float:
    """Poll until `condition` holds; returns the seconds it took, or fails naming `what`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)
    return time.monotonic() - started


def process_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a product process: no inherited PATHWAY_* settings, fast ticks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAY_")}
    env.update({
        "PYTHONPATH": str(ROOT),
        "PATHWAY_DATABASE_URL": database_url,
        "PATHWAY_HOST": "127.0.0.1",
        "PATHWAY_SCAN_INTERVAL_SECONDS": "1",
        "PATHWAY_DELIVER_INTERVAL_SECONDS": "1",
        "PATHWAY_DELIVERY_BACKOFF_SECONDS": "0.2",
        "PATHWAY_DELIVERY_LEASE_SECONDS": "3",
        "PATHWAY_DELIVERY_MAX_ATTEMPTS": "1000",
        "PATHWAY_SMTP_HOST": "",
        "PATHWAY_LOG_LEVEL": "WARNING",
    })
    env.update({f"PATHWAY_{k.upper()}": v for k, v in settings.items()})
    return env


@dataclass
class Process:
    """One product process (`api` or `scheduler`) that can be killed and started again."""

    kind: str
    env: dict[str, str]
    logs: Path
    name: str
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    started_at: float = 0.0
    log_offset: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def _argv(self) -> list[str]:
        if self.kind == "api":
            return [sys.executable, "-m", "pathway_cli", "serve", "--no-scheduler"]
        return [sys.executable, "-m", "pathway_cli", "scheduler"]

    def start(self) -> Process:
        """Start (again); an API process keeps its port across restarts."""
        env = dict(self.env)
        if self.port is not None:
            env["PATHWAY_PORT"] = str(self.port)
        path = self.logs / f"{self.name}.log"
        self.log_offset = path.stat().st_size if path.exists() else 0
        log = path.open("ab")
        self.popen = subprocess.Popen(self._argv(), cwd=ROOT, env=env, stdout=log,
                                      stderr=subprocess.STDOUT)
        log.close()
        self.starts += 1
        self.started_at = time.monotonic()
        return self

    def answers(self) -> bool:
        """Whether an API process answers /healthz now (a scheduler: whether its jobs are
        scheduled, which it logs once at start)."""
        if self.kind != "api":
            return self.alive and SCHEDULER_STARTED in self._log_since_start()
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def ready(self, timeout: float = 60) -> float:
        """Wait until an API process answers /healthz (a scheduler: until it is running)."""
        def answers() -> bool:
            if not self.alive:
                code = self.popen.returncode if self.popen else None
                raise AssertionError(f"{self.name} exited with {code}: {self.log_tail()}")
            return self.answers()

        return wait_for(answers, timeout, f"{self.name} to start", every=0.1)

    def _log_since_start(self) -> str:
        path = self.logs / f"{self.name}.log"
        if not path.exists():
            return ""
        with path.open("rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, leases and transactions are cut off."""
        if self.alive:
            assert self.popen is not None
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()
            self.kills += 1

    def terminate(self) -> None:
        """Send SIGTERM (once: a second one would cut the graceful shutdown short)."""
        if self.alive:
            assert self.popen is not None
            self.popen.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 20, *, signalled: bool = False) -> int:
        """SIGTERM and wait; returns the exit code (-9 if it had to be killed)."""
        if self.popen is None:
            return 0
        if self.popen.poll() is not None:
            return int(self.popen.returncode)
        if not signalled:
            self.terminate()
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            return -9

    def log_tail(self, lines: int = 30) -> str:
        path = self.logs / f"{self.name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        path = self.logs / f"{self.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@dataclass
class Fleet:
    """The API and scheduler processes of one test; `stop_all` in a finally."""

    database_url: str
    logs: Path
    settings: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    def add(self, kind: str) -> Process:
        env = process_env(self.database_url, **self.settings)
        if kind == "scheduler":
            env["PATHWAY_LOG_LEVEL"] = "INFO"  # its start-up line says the jobs are on
        name = f"{kind}-{sum(p.kind == kind for p in self.processes)}"
        proc = Process(kind=kind, env=env, logs=self.logs, name=name,
                       port=free_port() if kind == "api" else None)
        self.processes.append(proc)
        return proc

    def start(self, apis: int, schedulers: int) -> None:
        """Start the processes and wait until every API answers."""
        for _ in range(apis):
            self.add("api").start()
        for _ in range(schedulers):
            self.add("scheduler").start()
        for proc in self.processes:
            proc.ready()

    @property
    def apis(self) -> list[Process]:
        return [p for p in self.processes if p.kind == "api"]

    @property
    def schedulers(self) -> list[Process]:
        return [p for p in self.processes if p.kind == "scheduler"]

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.apis]

    def stop_all(self) -> dict[str, int]:
        """SIGTERM every process; their exit codes by name."""
        for proc in self.processes:
            proc.terminate()
        return {proc.name: proc.stop(signalled=True) for proc in self.processes}

    def logs_text(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log_tail(60)}" for p in self.processes)


def graceful(codes: dict[str, int]) -> bool:
    """Whether every process stopped cleanly on SIGTERM: a scheduler exits 0; uvicorn shuts
    down gracefully and then re-raises the signal, so `pathway serve` ends with -SIGTERM."""
    return all(code == 0 or (name.startswith("api") and code == -signal.SIGTERM)
               for name, code in codes.items())


class Cluster:
    """A PostgreSQL cluster of the suite's own (`scripts/postgres.sh`), for tests that stop and
    start the server: the shared test server is never touched."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.directory = Path(f"/tmp/pathway-fault-pg-{secrets.token_hex(4)}")
        self.admin_url = ""

    def _run(self, action: str) -> str:
        done = subprocess.run(["bash", str(POSTGRES_SCRIPT), action, str(self.directory),
                               str(self.port)], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"postgres.sh {action} failed: {done.stderr}")
        return done.stdout.strip()

    def start(self) -> str:
        """Start (initialising on first use); returns the admin URL."""
        self.admin_url = self._run("start")
        return self.admin_url

    def stop(self) -> None:
        """Fast shutdown: open sessions are cut off."""
        self._run("stop")

    def url(self, database: str = "postgres") -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(
            hide_password=False)

    def destroy(self) -> None:
        """Stop the server and delete its directory."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def run_cli(database_url: str, *args: str, **settings: str) -> str:
    """Run one `pathway` command in a process of its own; its stdout (fails on exit != 0)."""
    done = subprocess.run([sys.executable, "-m", "pathway_cli", *args], cwd=ROOT,
                          env=process_env(database_url, **settings), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout

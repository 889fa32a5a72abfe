"""`pathway serve` as a real process: it migrates, serves, runs the scheduler, stops on SIGTERM,
and its log names episodes by id, never by MRN or name."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.builders import intake

PATHWAY = str(Path(sys.executable).with_name("pathway"))
MRN, NAME = "SECRETMRN77", "Jane Secretperson"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_logs_ids_not_patients(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PATHWAY_DATABASE_URL": f"sqlite:///{tmp_path}/pathway.db",
           "PATHWAY_PORT": str(port), "PATHWAY_LOG_LEVEL": "INFO"}
    log = (tmp_path / "serve.log").open("w+")
    server = subprocess.Popen([PATHWAY, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "pathway serve did not start"
            time.sleep(0.2)
        created = subprocess.run([PATHWAY, "api-key", "create", "--name", "it", "--role",
                                  "integration"], env=env, capture_output=True, text=True,
                                 check=True)
        headers = {"Authorization": f"Bearer {created.stdout.split()[-1]}"}
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            body = intake(patient={"mrn": MRN, "name": NAME}, identified_on="2026-01-05")
            opened = client.post("/v1/episodes", json=body)
            assert opened.status_code == 201, opened.text
            assert client.get(f"/v1/episodes?mrn={MRN}").json()["items"][0]["mrn"] == MRN
            bad = client.post("/v1/episodes", json=intake(patient={"mrn": MRN, "name": NAME},
                                                          pain_score=99))
            assert bad.status_code == 422
    finally:
        server.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert server.wait(timeout=30) in {0, -signal.SIGTERM}
    text = (tmp_path / "serve.log").read_text()
    assert "embedded scheduler started" in text and "embedded scheduler stopped" in text
    assert "Application shutdown complete" in text
    assert "POST /v1/episodes 201" in text and "GET /v1/episodes 200" in text
    assert MRN not in text and NAME not in text and "Secret" not in text

"""The SDK against a REAL Gantry server (the embedded default, started from this repository's sources)
and real worker processes: key-based workers (the admin key as TOGETHER_API_KEY) on deployments created
through the API, over HTTPS with Gantry's CA (and the input server's CA) trusted through SSL_CERT_FILE."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from conftest import PKG_ROOT, Worker, free_port, wait_for
from real_gantry import ADMIN_KEY, GantryServer, HttpsFiles, make_ca_and_cert, node_missing

pytestmark = pytest.mark.skipif(node_missing() is not None, reason=str(node_missing()))

WORKER = """
import asyncio
import os
import pathlib
import sprocket

class Kitchen(sprocket.AsyncSprocket):
    async def setup(self):
        await asyncio.sleep(float(os.environ.get("SETUP_SLEEP", "0")))

    async def predict(self, args):
        if args.get("boom"):
            raise ValueError("boom: " + args["boom"])
        out = {"echo": args.get("x")}
        if "url" in args:
            out["path"] = args["url"]
            out["downloaded"] = pathlib.Path(args["url"]).read_text()
        if args.get("progress"):
            sprocket.emit_info({"progress": 0.5, "stage": "halfway"})
        if args.get("wait_for"):
            while not pathlib.Path(args["wait_for"]).exists():
                await asyncio.sleep(0.05)
        if args.get("sleep"):
            await asyncio.sleep(args["sleep"])
        if args.get("file"):
            result = sprocket.FileOutput("result.txt")
            result.write_text(args["file"])
            out["file"] = result
        return out

sprocket.run(Kitchen())
"""

INPUT = b"contents of the input file\n"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One server, one HTTPS file server, and the trust bundle every worker uses."""
    root = tmp_path_factory.mktemp("real-gantry")
    server = GantryServer(root / "data")
    ca, cert, key = make_ca_and_cert(root)
    files = HttpsFiles({"/data/input.txt": INPUT}, cert, key)
    bundle = root / "bundle.pem"
    bundle.write_text(Path(server.ca_file).read_text() + Path(ca).read_text())
    started: list[Worker] = []
    context = {"server": server, "files": files, "bundle": str(bundle), "root": root, "workers": started}
    yield context
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait(10)
    for name in context.get("deployments", []):
        server.call("DELETE", f"/v1/deployments/{name}")
    files.stop()
    server.stop()


def launch(env, name: str, args: list[str] | None = None, extra: dict | None = None) -> Worker:
    """A worker process for deployment `name` (created through the API, its own replica idle)."""
    server: GantryServer = env["server"]
    cwd = env["root"] / f"worker-{name}"
    server.create_idle_deployment(name, env["root"] / f"idle-{name}")
    env.setdefault("deployments", []).append(name)
    cwd.mkdir()
    (cwd / "worker.py").write_text(textwrap.dedent(WORKER))
    port = free_port()
    full = dict(os.environ, TOGETHER_API_BASE_URL=server.url, TOGETHER_API_KEY=ADMIN_KEY,
                TOGETHER_DEPLOYMENT_NAME=name, SSL_CERT_FILE=env["bundle"], PYTHONPATH=str(PKG_ROOT),
                PYTHONUNBUFFERED="1", GANTRY_SPROCKET_HEARTBEAT_SECONDS="1", **(extra or {}))
    argv = [sys.executable, "worker.py", *(args if args is not None else ["--queue", "--port", str(port)])]
    proc = subprocess.Popen(argv, cwd=cwd, env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    worker = Worker(proc, port, cwd)
    env["workers"].append(worker)
    return worker


@pytest.fixture(scope="module")
def main_worker(env):
    w = launch(env, "py-main")
    w.wait_healthy(timeout=60)
    return w


def finished(server: GantryServer, model: str, request_id: str, timeout: float = 60) -> dict:
    return wait_for(lambda: (lambda j: j if j["status"] in ("done", "failed") else None)(server.job(model, request_id)),
                    timeout=timeout, interval=0.2)


def test_job_done_with_the_right_outputs(env, main_worker):
    server = env["server"]
    job = finished(server, "py-main", server.submit("py-main", {"x": 42}))
    assert job["status"] == "done", job
    assert job["outputs"] == {"echo": 42}


def test_https_input_downloaded_from_a_server_with_its_own_ca(env, main_worker):
    server = env["server"]
    url = f"{env['files'].base}/data/input.txt?token=abc"
    job = finished(server, "py-main", server.submit("py-main", {"url": url}))
    assert job["status"] == "done", job
    assert job["outputs"]["path"] == "inputs/input.txt"
    assert job["outputs"]["downloaded"] == INPUT.decode()
    assert not (main_worker.cwd / "inputs" / "input.txt").exists()


def test_file_output_uploaded_and_downloadable_with_an_api_key(env, main_worker):
    server = env["server"]
    request_id = server.submit("py-main", {"file": "the result"})
    job = finished(server, "py-main", request_id)
    assert job["status"] == "done", job
    url = job["outputs"]["file"]
    assert url == f"{server.url}/v1/storage/{request_id}-result.txt"
    assert httpx.get(url, verify=server.trust).status_code == 401  # not without a key
    resp = httpx.get(url, verify=server.trust, headers={"authorization": f"Bearer {ADMIN_KEY}"})
    assert resp.status_code == 200 and resp.content == b"the result"


def test_emit_info_visible_while_running_and_generate_503_while_busy(env, main_worker):
    server = env["server"]
    gate = main_worker.cwd / "go"
    request_id = server.submit("py-main", {"progress": True, "wait_for": str(gate)})
    running = wait_for(lambda: (lambda j: j if j["info"].get("progress") == 0.5 else None)(server.job("py-main", request_id)),
                       timeout=30, interval=0.2)
    assert running["status"] == "running" and running["info"]["stage"] == "halfway"
    busy = httpx.post(f"{main_worker.url}/generate", json={"x": 1}, timeout=10)
    assert busy.status_code == 503 and busy.json() == {"error": "Worker is busy"}
    assert main_worker.get("/metrics").text == "requests_inflight 1.0"
    gate.touch()
    job = finished(server, "py-main", request_id)
    assert job["status"] == "done" and job["info"]["progress"] == 0.5
    assert httpx.post(f"{main_worker.url}/generate", json={"x": 2}, timeout=10).json() == {"echo": 2}


def test_predict_raising_fails_the_job_with_the_error(env, main_worker):
    server = env["server"]
    job = finished(server, "py-main", server.submit("py-main", {"boom": "no GPU today"}))
    assert job["status"] == "failed"
    assert job["info"]["error"] == "ValueError('boom: no GPU today')"
    assert job["retries"] == 0  # a reported failure is final, not retried


def test_a_running_job_canceled_through_the_api_reaches_predict(env, main_worker):
    server = env["server"]
    gate = main_worker.cwd / "never"
    request_id = server.submit("py-main", {"progress": True, "wait_for": str(gate)})
    wait_for(lambda: server.job("py-main", request_id)["info"].get("progress") == 0.5, timeout=30, interval=0.2)
    resp = server.call("POST", "/v1/queue/cancel", {"model": "py-main", "request_id": request_id, "x_gantry_running": True})
    assert resp.json() == {"status": "canceled"}
    # the worker hears of it at its next heartbeat (1 s here), drops the job, and takes the next one
    job = finished(server, "py-main", server.submit("py-main", {"x": "after"}), timeout=30)
    assert job["outputs"] == {"echo": "after"}
    assert server.job("py-main", request_id)["status"] == "canceled"


def test_sigterm_during_a_job_finishes_it_then_exits_0(env):
    server = env["server"]
    w = launch(env, "py-term")
    w.wait_healthy(timeout=60)
    request_id = server.submit("py-term", {"sleep": 3, "x": "slow"})
    wait_for(lambda: server.job("py-term", request_id)["status"] == "running", timeout=30, interval=0.1)
    w.proc.send_signal(signal.SIGTERM)
    assert w.proc.wait(60) == 0
    job = server.job("py-term", request_id)
    assert job["status"] == "done" and job["outputs"] == {"echo": "slow"}


def test_health_503_until_setup_returns(env):
    w = launch(env, "py-health", extra={"SETUP_SLEEP": "4"})

    def answered():
        try:
            return w.get("/health")
        except httpx.ConnectError:
            return None

    first = wait_for(answered, timeout=30)
    assert first.status_code == 503
    w.wait_healthy(timeout=60)
    assert w.get("/health").json() == {"status": "healthy"}

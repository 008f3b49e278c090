"""A small fake Gantry (starlette on uvicorn in a thread) and helpers to run worker processes."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PKG_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


class FakeGantry:
    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.jobs: list[dict] = []
        self.updates: list[dict] = []
        self.retrieves: list[dict] = []
        self.upload_requests: list[dict] = []
        self.puts: dict[str, bytes] = {}
        self.canceled: set[str] = set()
        self.lock = threading.Lock()

        async def retrieve(request: Request) -> Response:
            with self.lock:
                self.retrieves.append({"params": dict(request.query_params), "headers": dict(request.headers)})
                job = self.jobs.pop(0) if self.jobs else None
            if job is None:
                await asyncio.sleep(0.1)
            return JSONResponse({"data": job})

        async def status(request: Request) -> Response:
            body = await request.json()
            with self.lock:
                self.updates.append({"body": body, "headers": dict(request.headers)})
                canceled = body.get("request_id") in self.canceled
            if canceled:  # what Gantry answers for a job canceled while it ran
                error = {"message": "canceled", "type": "conflict_error", "param": "request_id",
                         "code": "GANTRY_ERR_JOB_CANCELED"}
                return JSONResponse({"error": error}, status_code=409)
            return Response(status_code=200)

        async def upload_request(request: Request) -> Response:
            body = await request.json()
            with self.lock:
                self.upload_requests.append({"body": body, "headers": dict(request.headers)})
            return JSONResponse({"upload_url": {"url": f"{self.base}/put/{body['filename']}", "method": "PUT"}})

        async def file(request: Request) -> Response:
            return Response(b"input-bytes:" + request.path_params["name"].encode())

        async def redirect(request: Request) -> Response:
            return Response(status_code=302, headers={"location": f"/files/{request.path_params['name']}"})

        async def put(request: Request) -> Response:
            data = await request.body()
            with self.lock:
                self.puts[request.path_params["name"]] = data
            return Response(status_code=200)

        app = Starlette(
            routes=[
                Route("/internal/v1/queue/retrieve", retrieve, methods=["GET"]),
                Route("/internal/v1/videos/status", status, methods=["POST"]),
                Route("/v1/storage/upload-request", upload_request, methods=["POST"]),
                Route("/put/{name}", put, methods=["PUT"]),
                Route("/files/{name}", file, methods=["GET"]),
                Route("/redir/{name}", redirect, methods=["GET"]),
            ]
        )
        ssl = {"ssl_certfile": tls[0], "ssl_keyfile": tls[1]} if tls else {}
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", **ssl)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        wait_for(lambda: self.server.started)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    def submit(self, request_id: str, payload: dict) -> None:
        with self.lock:
            self.jobs.append({"request_id": request_id, "payload": payload, "status": "running"})

    def cancel(self, request_id: str) -> None:
        with self.lock:
            self.canceled.add(request_id)

    def updates_for(self, request_id: str) -> list[dict]:
        with self.lock:
            return [u["body"] for u in self.updates if u["body"].get("request_id") == request_id]

    def terminal(self, request_id: str):
        for body in self.updates_for(request_id):
            if body["status"] in ("done", "failed"):
                return body
        return None


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory) -> tuple[str, str]:
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_gantry(tls_cert):
    g = FakeGantry(tls=tls_cert)
    g.start()
    yield g
    g.stop()


@pytest.fixture
def gantry():
    g = FakeGantry()
    g.start()
    yield g
    g.stop()


class Worker:
    def __init__(self, proc: subprocess.Popen, port: int, cwd: Path) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.cwd = cwd

    def get(self, path: str, **kw) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kw)

    def wait_healthy(self, timeout: float = 20.0) -> None:
        def ok():
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}: {self.output()}")
            try:
                return self.get("/health").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ok, timeout)

    def output(self) -> str:
        if self.proc.poll() is None:
            return "(running)"
        return (self.proc.stdout.read() or b"").decode(errors="replace")


@pytest.fixture
def start_worker(tmp_path, gantry):
    started: list[Worker] = []

    def start(source: str, args: list[str] | None = None, env: dict | None = None, port: int | None = None) -> Worker:
        script = tmp_path / "worker.py"
        script.write_text(textwrap.dedent(source))
        port = port or free_port()
        full_env = dict(os.environ)
        full_env.update(
            {
                "TOGETHER_API_BASE_URL": gantry.base,
                "TOGETHER_API_KEY": "test-key",
                "TOGETHER_DEPLOYMENT_NAME": "test-model",
                "PYTHONPATH": str(PKG_ROOT),
                "PYTHONUNBUFFERED": "1",
            }
        )
        full_env.pop("RUN_AND_EXIT", None)
        full_env.pop("LOCAL_RANK", None)
        full_env.update(env or {})
        argv = [sys.executable, str(script)] + (args if args is not None else ["--queue", "--port", str(port)])
        proc = subprocess.Popen(argv, cwd=tmp_path, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        worker = Worker(proc, port, tmp_path)
        started.append(worker)
        return worker

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait(5)

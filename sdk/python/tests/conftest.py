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
        # request_id -> (HTTP status, error code): how every status update of that job is answered
        self.refusals: dict[str, tuple[int, str]] = {}
        # ("retrieve" | "status", time.monotonic()) for every request, in order of arrival
        self.events: list[tuple[str, float]] = []
        self.lock = threading.Lock()

        async def retrieve(request: Request) -> Response:
            with self.lock:
                self.retrieves.append({"params": dict(request.query_params), "headers": dict(request.headers)})
                self.events.append(("retrieve", time.monotonic()))
                job = self.jobs.pop(0) if self.jobs else None
            if job is None:
                await asyncio.sleep(0.1)
            if isinstance(job, bytes):  # a body written by the test, as the worker receives it
                return Response(job, media_type="application/json")
            return JSONResponse({"data": job})

        async def status(request: Request) -> Response:
            body = await request.json()
            with self.lock:
                self.updates.append({"body": body, "headers": dict(request.headers), "at": time.monotonic()})
                self.events.append(("status", time.monotonic()))
                canceled = body.get("request_id") in self.canceled
                refusal = self.refusals.get(body.get("request_id"))
            if canceled:  # what Gantry answers for a job canceled while it ran
                refusal = (409, "GANTRY_ERR_JOB_CANCELED")
            if refusal:
                error = {"message": f"refused: {refusal[1]}", "type": "conflict_error", "param": "request_id",
                         "code": refusal[1]}
                return JSONResponse({"error": error}, status_code=refusal[0])
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

        self.app = Starlette(
            routes=[
                Route("/internal/v1/queue/retrieve", retrieve, methods=["GET"]),
                Route("/internal/v1/videos/status", status, methods=["POST"]),
                Route("/v1/storage/upload-request", upload_request, methods=["POST"]),
                Route("/put/{name}", put, methods=["PUT"]),
                Route("/files/{name}", file, methods=["GET"]),
                Route("/redir/{name}", redirect, methods=["GET"]),
            ]
        )
        self.ssl = {"ssl_certfile": tls[0], "ssl_keyfile": tls[1]} if tls else {}

    def start(self) -> None:
        """Listens on the port (again, after stop(): the same port, the same recorded state)."""
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                           timeout_graceful_shutdown=1, **self.ssl)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started)

    def stop(self) -> None:
        """Closes the listener and every connection: from now on a worker's requests are refused."""
        self.server.should_exit = True
        self.thread.join(5)

    def submit(self, request_id: str, payload: dict) -> None:
        with self.lock:
            self.jobs.append({"request_id": request_id, "payload": payload, "status": "running"})

    def submit_raw(self, body: bytes) -> None:
        """The next retrieve answers exactly `body` (a job the worker may be unable to decode)."""
        with self.lock:
            self.jobs.append(body)

    def pending(self) -> int:
        with self.lock:
            return len(self.jobs)

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
        self._output = bytearray()
        # Read the output as it comes, so a worker that logs a lot never blocks on a full pipe.
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in iter(self.proc.stdout.readline, b""):
            self._output.extend(line)

    def output_so_far(self) -> str:
        return bytes(self._output).decode(errors="replace")

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
        self._reader.join(5)
        return self.output_so_far()


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

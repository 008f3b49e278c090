"""`sprocket.run` and the Runner (compat.md §3.2, §3.6, §3.8; compat-source A.9–A.12)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import logging
import os
import pathlib
import signal
import sys
import time
from typing import Any

import uvicorn

from . import _config
from ._pipeline import INPUTS_DIR
from ._queue import run_queue_worker
from ._server import MetricsAccessFilter, build_app
from ._starting import StartingResponder
from ._torchrun import TorchRunSprocket
from ._torchrun_child import run_child
from ._types import InputOutputProcessor, is_async

logger = logging.getLogger("sprocket")

NO_NAME = (
    "No deployment name found. The deployment name is automatically injected when running on the Together "
    "platform. If running locally, pass `name` to sprocket.run() or set the TOGETHER_DEPLOYMENT_NAME "
    "environment variable."
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queue", action="store_true", help="claim jobs from the queue")
    # Gantry extra: without --port, $PORT (each local replica of Gantry's embedded default gets its own).
    default_port = int(os.environ.get("PORT") or 8000)
    parser.add_argument("--port", type=int, default=default_port, help="HTTP port (default $PORT, else 8000)")
    return parser.parse_args(argv)


class _Server(uvicorn.Server):
    """uvicorn.Server whose signal handling is ours: uvicorn >= 0.29 re-raises the captured
    SIGTERM after serving, which would end the process with status 143 instead of 0."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        pass


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class Runner:
    def __init__(self, sprocket: Any, name: str, predict_path: str = "/generate") -> None:
        self.sprocket = sprocket
        self.name = name
        self.predict_path = predict_path
        self.config = _config.Config(name=name)
        self.processor = getattr(sprocket, "processor", InputOutputProcessor)()
        self.send_claim_timeout = is_async(sprocket)
        self.healthy = False
        # Gantry: set when the queue loop stopped on an unexpected error: /health answers 503 for good.
        self.queue_stopped = False
        self.busy = False
        self.stopping = False
        self.server: _Server | None = None
        self.queue_task: asyncio.Task | None = None

    # -- flags ---------------------------------------------------------------------------
    def shutdown_requested(self) -> bool:
        return self.stopping or _config.exists(_config.SHUTDOWN_REQUESTED)

    def _on_signal(self, sig: int, frame: Any) -> None:
        self.stopping = True
        if self.server is not None:
            self.server.should_exit = True

    # -- lifecycle -----------------------------------------------------------------------
    def run(self, argv: list[str] | None = None) -> None:
        args = parse_args(argv)
        logging.basicConfig(level=logging.INFO, format="{levelname} {module}:{lineno}: {message}", style="{")
        logging.getLogger("uvicorn.access").addFilter(MetricsAccessFilter())
        pathlib.Path(INPUTS_DIR).mkdir(exist_ok=True)
        code = asyncio.run(self.main(args))
        sys.exit(code)

    async def _setup_and_warmup(self, run_and_exit: int) -> None:
        await _maybe_await(self.sprocket.setup())
        print(f"===cold start time===: {time.time() - _config.PROCESS_START_TIME:.2f}s", flush=True)
        warmup = list(getattr(self.sprocket, "warmup_inputs", None) or [])
        if run_and_exit:
            warmup = (warmup or [{}]) * run_and_exit
        times = []
        for inputs in warmup:
            start = time.time()
            await _maybe_await(self.sprocket.predict(inputs))
            times.append(round(time.time() - start, 3))
        if times:
            print(f"===predict times===: {times}", flush=True)

    async def main(self, args: argparse.Namespace) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        self.internal_client = self.config.internal_client()
        self.external_client = self.config.external_client()
        self.download_client = self.config.download_client()
        run_and_exit = int(os.environ.get("RUN_AND_EXIT", "0") or "0")
        # A warmup-only run (jig build --warmup) serves nothing, so it binds no port.
        starting = None if run_and_exit else StartingResponder(args.port).start()
        sock = None
        try:
            try:
                await self._setup_and_warmup(run_and_exit)
            finally:
                sock = starting.stop() if starting is not None else None
            if run_and_exit:
                _config.touch(_config.SHUTDOWN_REQUESTED)
                return 0
            if self.stopping:  # SIGTERM arrived during setup
                await self.handle_shutdown()
                return 0
            await self._serve(args, sock)
            return 0
        finally:
            if sock is not None:
                sock.close()
            for client in (self.internal_client, self.external_client, self.download_client):
                await client.aclose()

    async def _serve(self, args: argparse.Namespace, sock: Any) -> None:
        """The queue loop (with --queue) and uvicorn on the socket bound before setup, until shutdown."""
        if args.queue:
            logger.info("Starting in queue mode with HTTP server")
            self.queue_task = asyncio.create_task(run_queue_worker(self))
        else:
            logger.info("Starting HTTP server only")
        self.healthy = True

        @contextlib.asynccontextmanager
        async def lifespan(app):
            try:
                yield
            finally:
                await self.handle_shutdown()

        app = build_app(self, self.predict_path, lifespan)
        config = uvicorn.Config(app, host="0.0.0.0", port=args.port, lifespan="on")
        self.server = _Server(config)
        await self.server.serve(sockets=[sock])
        if not self.stopping:
            # uvicorn stopped on its own: stop the queue too.
            await self.handle_shutdown()

    async def handle_shutdown(self) -> None:
        if getattr(self, "_shutdown_done", False):
            return
        self._shutdown_done = True
        self.healthy = False
        self.stopping = True
        _config.touch(_config.SHUTDOWN_REQUESTED)
        # Let the queue loop finish its in-flight poll and any claimed job, then wait for /generate.
        if self.queue_task is not None:
            await asyncio.gather(self.queue_task, return_exceptions=True)
        while self.busy:
            await asyncio.sleep(0.2)
        await _maybe_await(self.sprocket.shutdown())
        _config.touch(_config.SHUTDOWN_NOW)


def run(sprocket: Any, name: str | None = None, use_torchrun: bool = False, predict_path: str = "/generate") -> None:
    """Run a worker: HTTP server on --port (default 8000), plus the queue loop with --queue."""
    name = name or os.environ.get("TOGETHER_DEPLOYMENT_NAME")
    if not name:
        raise ValueError(NO_NAME)
    if not predict_path.startswith("/"):
        predict_path = "/" + predict_path
    if predict_path in ("/health", "/metrics"):
        raise ValueError(f"predict_path must not be {predict_path}")
    for m in _config.MARKERS:
        try:
            _config.marker(m).unlink()
        except FileNotFoundError:
            pass
    if inspect.isclass(sprocket):
        sprocket = sprocket()
    if os.environ.get("LOCAL_RANK") is not None:
        run_child(sprocket)  # a rank started by torchrun
        return
    if use_torchrun:
        sprocket = TorchRunSprocket(sprocket)
    Runner(sprocket, name, predict_path).run()


__all__ = ["run", "Runner"]

"""The worker's HTTP server: /health, /metrics and the predict route (compat.md §3.3, A.8)."""

from __future__ import annotations

import logging
import os
import signal
import uuid
from typing import TYPE_CHECKING

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import _config
from ._pipeline import handle_job
from ._torchrun import TorchRunSprocket

if TYPE_CHECKING:
    from ._run import Runner

logger = logging.getLogger("sprocket")


class MetricsAccessFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "/metrics" not in record.getMessage()


def build_app(runner: "Runner", predict_path: str, lifespan) -> Starlette:
    async def health(request: Request) -> Response:
        if runner.healthy and isinstance(runner.sprocket, TorchRunSprocket) and runner.sprocket.exited():
            logger.error("the torchrun process exited; the worker is unhealthy")
            runner.healthy = False
            _config.touch(_config.FATAL_ERROR)
        if runner.healthy and not runner.queue_stopped:
            return JSONResponse({"status": "healthy"})
        return JSONResponse({"status": "unhealthy"}, status_code=503)

    async def metrics(request: Request) -> Response:
        value = "1.0" if runner.busy else "0.0"
        return Response(f"requests_inflight {value}", media_type="text/plain; charset=utf-8")

    async def generate(request: Request) -> Response:
        if runner.busy:
            return JSONResponse({"error": "Worker is busy"}, status_code=503)
        try:
            payload = orjson.loads(await request.body())
            outputs = await handle_job(runner, payload, str(uuid.uuid4()))
            return Response(orjson.dumps(outputs), media_type="application/json")
        except Exception as e:
            logger.exception("request failed")
            return JSONResponse({"error": str(e)}, status_code=500)
        finally:
            if _config.exists(_config.FATAL_ERROR):
                os.kill(os.getpid(), signal.SIGTERM)
            elif runner.shutdown_requested():
                _config.touch(_config.SHUTDOWN_NOW)

    routes = [
        Route("/health", health, methods=["GET", "HEAD"]),
        Route("/metrics", metrics, methods=["GET", "HEAD"]),
        Route(predict_path, generate, methods=["POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)

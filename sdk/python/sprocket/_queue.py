"""Queue mode: claim (long poll), run, report (compat.md §3.5, compat-source A.3, A.7)."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import time
import traceback
from typing import TYPE_CHECKING, Any

import httpx

from . import _config
from ._pipeline import handle_job
from ._progress import JobReporter
from ._status import Outcome, post_running_sync, post_status

if TYPE_CHECKING:
    from ._run import Runner

logger = logging.getLogger("sprocket")


class ExitRequested(Exception):
    pass


async def get_job(runner: "Runner") -> dict:
    start = time.monotonic()
    params: dict[str, Any] = {"timeout": "5s", "model": runner.name, "hostname": runner.config.hostname}
    if runner.send_claim_timeout:
        params["claim_timeout"] = 90
    while True:
        if runner.shutdown_requested():
            raise ExitRequested("exit requested")
        job = None
        try:
            resp = await runner.internal_client.get(
                runner.config.retrieve_url,
                params=params,
                headers={"x-idle-time": str(time.monotonic() - start)},
            )
            resp.raise_for_status()
            body = resp.json()
            if not isinstance(body, dict):
                raise ValueError(f"retrieve answered a non-object: {body!r}")
            job = body.get("data")
        except (httpx.HTTPError, ValueError) as e:
            # Gantry: a malformed body is logged and retried instead of killing the loop.
            logger.warning("error retrieving job: %r", e)
        if job:
            return job
        await asyncio.sleep(random.random() / 5)


async def run_one_job(runner: "Runner") -> None:
    job = await get_job(runner)
    request_id = str(job["request_id"])
    sync_client = runner.config.internal_sync_client()
    reporter = JobReporter(
        send=lambda info: post_running_sync(runner, sync_client, request_id, info),
        heartbeat=True,  # Gantry extra: sync workers heartbeat too (from this thread)
        healthy=lambda: runner.healthy,
        heartbeat_interval=runner.config.heartbeat_interval,
        info_interval=runner.config.info_interval,
    )
    reporter.start()
    error: BaseException | None = None
    outputs: dict = {}
    try:
        outputs = await handle_job(runner, job.get("payload"), request_id)
    except Exception as e:
        error = e
    finally:
        await asyncio.to_thread(reporter.stop)
        sync_client.close()
    if reporter.cancelled.is_set():  # whatever predict did, the job is not ours to report
        logger.info("Job %s was canceled by the server; not reporting it", request_id)
        return
    await report(runner, request_id, outputs, error)


async def report(runner: "Runner", request_id: str, outputs: dict, error: BaseException | None) -> None:
    """The terminal update: `done` with the outputs, else `failed` with `info.error`."""
    if error is None:
        try:
            if await post_status(runner, request_id, "done", outputs) is Outcome.CANCELED:
                logger.info("Job %s was canceled by the server; its outputs were dropped", request_id)
            else:
                logger.info("Job %s finished", request_id)
            return
        except (TypeError, ValueError) as e:
            # Gantry: non-JSON outputs fail the job instead of killing the queue loop.
            error = e
    traceback.print_exception(type(error), error, error.__traceback__)
    logger.error("Job %s failed", request_id)
    await post_status(runner, request_id, "failed", {}, {"error": repr(error)})
    if isinstance(error, ConnectionResetError) or _config.exists(_config.FATAL_ERROR):
        os.kill(os.getpid(), signal.SIGTERM)


async def run_queue_worker(runner: "Runner") -> None:
    try:
        while not runner.shutdown_requested():
            await run_one_job(runner)
    except ExitRequested:
        pass
    except Exception:
        logger.exception("queue worker stopped")
    finally:
        if runner.shutdown_requested():
            _config.touch(_config.SHUTDOWN_NOW)

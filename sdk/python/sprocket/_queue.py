"""Queue mode: claim (long poll), run, report (compat.md §3.5, compat-source A.3, A.7).

Gantry: a bad job never stops the loop. Whatever goes wrong while one job is decoded, run or reported
(a payload too deep to decode, a RecursionError in predict, outputs that are not JSON) fails that job
with `info.error` saying why, and the loop goes on. Only an error that is not an `Exception` (a
`BaseException` from user code) stops it; the job is failed on the way out and `/health` turns 503.

A job's `done`/`failed` update is retried for GANTRY_SPROCKET_STATUS_RETRY_SECONDS (180 s) and the next
job is claimed only after it settled: one job at a time, as the vendor's worker does, so the server never
sees this worker claim while it still holds an unreported job. When the update cannot be delivered in
that window, the worker restarts itself (as after a predict timeout: `.fatal_error`, SIGTERM, exit 0):
its claim ends with it and the server requeues the job."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import time
import traceback
from typing import TYPE_CHECKING, Any

import httpx

from . import _config
from ._decode import Claimed, decode_job
from ._pipeline import handle_job
from ._progress import JobReporter
from ._status import Outcome, backoff, post_running_sync, post_status, retry_after, status_body

if TYPE_CHECKING:
    from ._run import Runner

logger = logging.getLogger("sprocket")

# A retrieve asks the server to hold it up to 5 s; an answer that takes this long will not come.
RETRIEVE_TIMEOUT = 60.0
# Longest pause between two failed retrieves (they back off like status updates, up to this).
RETRIEVE_PAUSE_CAP = 5.0
# `info.error` is cut to this many bytes of JSON, well inside the server's 4096-byte limit on `info`.
MAX_ERROR_BYTES = 2000


class ExitRequested(Exception):
    pass


class OutputsNotJson(TypeError):
    """predict's outputs could not be serialized as JSON; the job fails with this."""


async def get_job(runner: "Runner") -> Claimed:
    start = time.monotonic()
    params: dict[str, Any] = {"timeout": "5s", "model": runner.name, "hostname": runner.config.hostname}
    if runner.send_claim_timeout:
        params["claim_timeout"] = 90
    failures = 0
    while True:
        if runner.shutdown_requested():
            raise ExitRequested("exit requested")
        pause = random.random() / 5
        try:
            job = await _retrieve(runner, params, start)
            failures = 0
        except Exception as e:
            # Gantry: any failure (transport, HTTP status, a body that names no job) is logged and
            # retried with backoff, through a control-plane restart or failover, never fatal.
            failures += 1
            pause = _retrieve_pause(failures, e)
            logger.warning("error retrieving job: %r; retrying in %.1f s", e, pause)
            job = None
        if job:
            return job
        await asyncio.sleep(pause)


async def _retrieve(runner: "Runner", params: dict[str, Any], start: float) -> Claimed | None:
    resp = await runner.internal_client.get(
        runner.config.retrieve_url,
        params=params,
        headers={"x-idle-time": str(time.monotonic() - start)},
        timeout=RETRIEVE_TIMEOUT,
    )
    resp.raise_for_status()
    return decode_job(resp.content)


def _retrieve_pause(failures: int, error: Exception) -> float:
    pause = min(RETRIEVE_PAUSE_CAP, backoff(failures))
    if isinstance(error, httpx.HTTPStatusError):
        pause = max(pause, min(retry_after(error.response) or 0.0, 60.0))
    return pause


async def run_one_job(runner: "Runner") -> None:
    claimed = await get_job(runner)
    try:
        result = await run_claimed(runner, claimed)
    except asyncio.CancelledError:
        raise
    except Exception as e:  # a fault around predict (reporter, threads): still this job's alone
        result = e
    except BaseException as e:  # not meant to be caught: fail the job on the way out, then stop
        await finish(runner, claimed.request_id, {}, e)
        raise
    if result is not None:
        outputs, error = (result, None) if isinstance(result, dict) else ({}, result)
        await finish(runner, claimed.request_id, outputs, error)


async def run_claimed(runner: "Runner", claimed: Claimed) -> dict | BaseException | None:
    """The job's outputs, or its error; None when the server canceled it (nothing to report)."""
    if claimed.error is not None:
        return claimed.error
    request_id = claimed.request_id
    sync_client = runner.config.internal_sync_client()
    reporter = JobReporter(
        send=lambda info, wait: post_running_sync(runner, sync_client, request_id, info, wait),
        heartbeat=True,  # Gantry extra: sync workers heartbeat too (from this thread)
        healthy=lambda: runner.healthy,
        heartbeat_interval=runner.config.heartbeat_interval,
        info_interval=runner.config.info_interval,
    )
    reporter.start()
    result: dict | BaseException
    try:
        result = await handle_job(runner, claimed.payload, request_id)
    except Exception as e:
        result = e
    finally:
        await asyncio.to_thread(reporter.stop)
        sync_client.close()
    if reporter.cancelled.is_set():  # whatever predict did, the job is not ours to report
        logger.info("Job %s was canceled by the server; not reporting it", request_id)
        return None
    return result


async def finish(runner: "Runner", request_id: str, outputs: dict, error: BaseException | None) -> None:
    """The terminal update: `done` with the outputs, else `failed` with `info.error`. Never raises."""
    try:
        await report(runner, request_id, outputs, error)
    except Exception:  # a fault in reporting itself (logging, a marker file): the loop goes on
        logger.exception("reporting job %s failed", request_id)


async def report(runner: "Runner", request_id: str, outputs: dict, error: BaseException | None) -> None:
    if error is None:
        try:
            content = status_body(runner.name, request_id, "done", outputs, None)
        except Exception as e:  # Gantry: outputs that are not JSON fail the job, not the loop
            error = OutputsNotJson(f"the outputs could not be serialized as JSON: {error_text(e)}")
        else:
            outcome, last = await post_status(runner, request_id, "done", content)
            if outcome is not Outcome.REJECTED:
                return after_done(runner, request_id, outcome)
            # Gantry: a done the server refuses (say, outputs over its size limit) fails the job instead.
            error = RuntimeError(f"the server refused the done update: {last}")
    _print_failure(request_id, error)
    info = {"error": error_text(error)}
    outcome, _ = await post_status(runner, request_id, "failed", status_body(runner.name, request_id, "failed", {}, info))
    if outcome is Outcome.FAILED:
        return give_up(runner, request_id, "failed")
    if isinstance(error, ConnectionResetError) or _config.exists(_config.FATAL_ERROR):
        os.kill(os.getpid(), signal.SIGTERM)


def after_done(runner: "Runner", request_id: str, outcome: Outcome) -> None:
    if outcome is Outcome.OK:
        logger.info("Job %s finished", request_id)
    elif outcome is Outcome.CANCELED:
        logger.info("Job %s was canceled by the server; its outputs were dropped", request_id)
    else:
        give_up(runner, request_id, "done")


def give_up(runner: "Runner", request_id: str, status: str) -> None:
    """The terminal update could not be delivered in its window: the worker restarts, so its claim on
    the job ends with this process and the server requeues the job (it is retried, `retries` + 1)."""
    logger.error(
        'gave up on the "%s" update for job %s after %.0f s (GANTRY_SPROCKET_STATUS_RETRY_SECONDS): the job '
        "will be retried by the server; restarting this worker so that its claim on the job ends",
        status, request_id, runner.config.status_retry_seconds,
    )
    _config.touch(_config.FATAL_ERROR)
    os.kill(os.getpid(), signal.SIGTERM)


def error_text(error: BaseException) -> str:
    """`repr(error)` as the vendor reports it, cut to MAX_ERROR_BYTES of JSON; never raises."""
    try:
        text = repr(error)
    except Exception:
        text = f"{type(error).__name__}(<its repr failed>)"
    if _json_size(text) <= MAX_ERROR_BYTES:
        return text
    text = text[:MAX_ERROR_BYTES]
    while _json_size(text + "…") > MAX_ERROR_BYTES:
        text = text[: len(text) * 3 // 4]
    return text + "…"


def _json_size(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode())


def _print_failure(request_id: str, error: BaseException) -> None:
    try:
        traceback.print_exception(type(error), error, error.__traceback__)
    except Exception:
        pass
    logger.error("Job %s failed", request_id)


async def run_queue_worker(runner: "Runner") -> None:
    try:
        while not runner.shutdown_requested():
            await run_one_job(runner)
    except ExitRequested:
        pass
    except BaseException as e:
        if isinstance(e, asyncio.CancelledError):
            raise
        runner.queue_stopped = True
        logger.exception("queue worker stopped: /health answers 503 from now on, so the worker is replaced")
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
    finally:
        if runner.shutdown_requested():
            _config.touch(_config.SHUTDOWN_NOW)

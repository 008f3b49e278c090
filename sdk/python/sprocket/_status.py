"""Status updates (compat-source A.4): one body, up to 3 attempts, success = exactly HTTP 200.

The attempt logic is a generator shared by the async sender (the terminal update, on the event loop)
and the sync sender (heartbeats and progress, from the reporter thread): it yields the body to send,
is sent each response or transport error back, and returns the outcome. Gantry extra: a 409 whose
error code says the job is no longer this worker's (canceled, or its claim lost) ends the attempts
with `Outcome.CANCELED` instead of retrying."""

from __future__ import annotations

import enum
import json
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Generator

import httpx

if TYPE_CHECKING:
    from ._run import Runner

logger = logging.getLogger("sprocket")

ATTEMPTS = 3
# Error codes of a 409 that mean "stop working on this job" (see sdk/README.md, worker protocol).
CANCEL_CODES = frozenset({"GANTRY_ERR_JOB_CANCELED", "GANTRY_ERR_JOB_NOT_HELD"})


class Outcome(enum.Enum):
    OK = "ok"
    CANCELED = "canceled"
    FAILED = "failed"


def status_body(name: str, request_id: str, status: str, payload: dict | None, info: dict | None) -> bytes:
    body: dict[str, Any] = {
        "model": name,
        "request_id": request_id,
        "status": status,
        "payload": payload if payload is not None else {},
    }
    if info:
        body["info"] = info
    return json.dumps(body).encode()


def _error_code(resp: httpx.Response) -> str | None:
    try:
        error = resp.json().get("error")
        return error.get("code") if isinstance(error, dict) else None
    except (ValueError, AttributeError):
        return None


def _attempts(request_id: str, content: bytes) -> Generator[bytes, "httpx.Response | httpx.HTTPError", Outcome]:
    for _ in range(ATTEMPTS):
        result = yield content
        if isinstance(result, httpx.HTTPError):
            logger.warning("status update for %s failed: %r", request_id, result)
            continue
        if result.status_code == 200:
            return Outcome.OK
        if result.status_code == 409 and _error_code(result) in CANCEL_CODES:
            logger.info("job %s is no longer this worker's: %s", request_id, _error_code(result))
            return Outcome.CANCELED
    logger.error("failed to update job status after 3 retries")
    return Outcome.FAILED


async def send_status(post: Callable[[bytes], Awaitable[httpx.Response]], request_id: str, content: bytes) -> Outcome:
    attempts = _attempts(request_id, content)
    body = next(attempts)
    while True:
        try:
            result: httpx.Response | httpx.HTTPError = await post(body)
        except httpx.HTTPError as e:
            result = e
        try:
            body = attempts.send(result)
        except StopIteration as done:
            return done.value


def send_status_sync(post: Callable[[bytes], httpx.Response], request_id: str, content: bytes) -> Outcome:
    attempts = _attempts(request_id, content)
    body = next(attempts)
    while True:
        try:
            result: httpx.Response | httpx.HTTPError = post(body)
        except httpx.HTTPError as e:
            result = e
        try:
            body = attempts.send(result)
        except StopIteration as done:
            return done.value


def post_status(
    runner: "Runner", request_id: str, status: str, payload: dict | None = None, info: dict | None = None
) -> Awaitable[Outcome]:
    """The terminal update (`done`/`failed`) through the runner's async client. A payload that is not
    JSON-serialisable raises TypeError/ValueError here, before anything is sent."""
    content = status_body(runner.name, request_id, status, payload, info)
    url = runner.config.update_url
    return send_status(lambda body: runner.internal_client.post(url, content=body), request_id, content)


def post_running_sync(runner: "Runner", client: httpx.Client, request_id: str, info: dict | None = None) -> Outcome:
    """A `running` update (heartbeat, or progress with `info`) from the reporter thread."""
    content = status_body(runner.name, request_id, "running", {}, info)
    url = runner.config.update_url
    return send_status_sync(lambda body: client.post(url, content=body), request_id, content)

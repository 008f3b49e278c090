"""Status updates (compat-source A.4): one body, success = exactly HTTP 200, retried with backoff.

Gantry: an update is retried with exponential backoff and jitter for as long as its window lasts, so a
finished job's result outlives a control-plane restart or a leader failover (issue 14): connection
errors, timeouts, 408, 429, 5xx (including 503 `GANTRY_ERR_NOT_LEADER` and 502
`GANTRY_ERR_LEADER_UNREACHABLE`) and a 2xx other than 200 are retried, waiting at least what a
`Retry-After` header asks. A 409/404 whose error code says the job is no longer this worker's (canceled,
or its claim lost) ends with `Outcome.CANCELED`; any other 4xx is final (`Outcome.REJECTED`). The async
sender (terminal updates, on the event loop) and the sync sender (heartbeats and progress, from the
reporter thread) share `Retry`, which judges each answer and says how long to wait."""

from __future__ import annotations

import asyncio
import email.utils
import enum
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import httpx

if TYPE_CHECKING:
    from ._run import Runner

logger = logging.getLogger("sprocket")

# Error codes of a 409/404 that mean "stop working on this job" (see sdk/README.md, worker protocol).
CANCEL_CODES = frozenset({"GANTRY_ERR_JOB_CANCELED", "GANTRY_ERR_JOB_NOT_HELD"})
# The first pause after a failed attempt, and the longest (they double in between, with jitter).
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 5.0
# A terminal update's attempt gives up on an answer after this long; a `running` update sooner.
TERMINAL_ATTEMPT_TIMEOUT = 30.0
RUNNING_ATTEMPT_TIMEOUT = 10.0
RETRY_STATUSES = frozenset({408, 429})


class Outcome(enum.Enum):
    OK = "ok"  # answered exactly 200
    CANCELED = "canceled"  # the job is no longer this worker's (409/404 with a CANCEL_CODES code)
    REJECTED = "rejected"  # another 4xx: the update itself was refused; repeating it cannot help
    FAILED = "failed"  # not delivered: its window passed (or the sender was stopped) while it failed


@dataclass(frozen=True)
class Window:
    """How long an update is retried, and how long one attempt may take."""

    seconds: float
    attempt_timeout: float


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


def error_code(resp: httpx.Response) -> str | None:
    try:
        error = resp.json().get("error")
        return error.get("code") if isinstance(error, dict) else None
    except (ValueError, AttributeError, RecursionError):
        return None


def retry_after(resp: httpx.Response) -> float | None:
    """Seconds a `Retry-After` header asks for (delay-seconds or an HTTP date), if any."""
    value = resp.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def backoff(failures: int) -> float:
    """Exponential backoff with jitter: 0.5 s, 1 s, 2 s … up to 5 s, each between half and all of it."""
    ceiling = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(0, failures - 1))
    return random.uniform(ceiling / 2, ceiling)


class Retry:
    """The attempts of one update: judges each answer and says how long to wait before the next one."""

    def __init__(self, what: str, window: Window) -> None:
        self.what = what  # e.g. 'the "done" update for job r1'
        self.window = window
        self.deadline = time.monotonic() + window.seconds
        self.failures = 0
        self.last = ""  # the last failure, for the give-up line

    def timeout(self) -> float:
        return max(1.0, min(self.window.attempt_timeout, self.deadline - time.monotonic()))

    def step(self, result: "httpx.Response | Exception") -> tuple[Outcome | None, float]:
        """(the outcome, 0) when the update is settled, else (None, seconds to wait)."""
        final = self._judge(result)
        if final is not None:
            return final, 0.0
        self.failures += 1
        left = self.deadline - time.monotonic()
        if left <= 0:
            return Outcome.FAILED, 0.0
        asked = retry_after(result) if isinstance(result, httpx.Response) else None
        pause = min(left, max(backoff(self.failures), asked or 0.0))
        logger.warning("%s failed (%s); retrying in %.1f s, for %.0f s more", self.what, self.last, pause, left)
        return None, pause

    def _judge(self, result: "httpx.Response | Exception") -> Outcome | None:
        if isinstance(result, Exception):
            self.last = repr(result)
            return None
        status = result.status_code
        if status == 200:
            return Outcome.OK
        code = error_code(result)
        if status in (404, 409) and code in CANCEL_CODES:
            logger.info("%s was refused: the job is no longer this worker's (%s)", self.what, code)
            return Outcome.CANCELED
        self.last = f"HTTP {status}" + (f" {code}" if code else "")
        if 200 <= status < 300 or status >= 500 or status in RETRY_STATUSES:
            return None
        self.last = f"HTTP {status}: {result.text[:300]}"
        logger.error("%s was refused with %s; not retrying", self.what, self.last)
        return Outcome.REJECTED


async def send_status(post: Callable[[bytes, float], Awaitable[httpx.Response]], retry: Retry, content: bytes) -> Outcome:
    """Sends `content` until `retry` says it is settled, sleeping on the event loop in between."""
    while True:
        try:
            result: httpx.Response | Exception = await post(content, retry.timeout())
        except Exception as e:  # transport errors, timeouts, and anything else one attempt throws
            result = e
        outcome, pause = retry.step(result)
        if outcome is not None:
            return outcome
        await asyncio.sleep(pause)


def send_status_sync(
    post: Callable[[bytes, float], httpx.Response], retry: Retry, content: bytes, wait: Callable[[float], bool]
) -> Outcome:
    """The same from a thread; `wait(seconds)` returns True when the sender must stop early."""
    while True:
        try:
            result: httpx.Response | Exception = post(content, retry.timeout())
        except Exception as e:
            result = e
        outcome, pause = retry.step(result)
        if outcome is not None:
            return outcome
        if wait(pause):
            return Outcome.FAILED


async def post_status(runner: "Runner", request_id: str, status: str, content: bytes) -> tuple[Outcome, str]:
    """The terminal update (`done`/`failed`), retried for GANTRY_SPROCKET_STATUS_RETRY_SECONDS; returns
    the outcome and the last failure (e.g. `HTTP 413`)."""
    url = runner.config.update_url
    window = Window(runner.config.status_retry_seconds, TERMINAL_ATTEMPT_TIMEOUT)
    retry = Retry(f'the "{status}" update for job {request_id}', window)
    post = lambda body, t: runner.internal_client.post(url, content=body, timeout=t)  # noqa: E731
    return await send_status(post, retry, content), retry.last


def post_running_sync(
    runner: "Runner", client: httpx.Client, request_id: str, info: dict | None, wait: Callable[[float], bool]
) -> Outcome:
    """A `running` update (heartbeat, or progress with `info`) from the reporter thread, retried until
    the next heartbeat is due (or the reporter stops)."""
    content = status_body(runner.name, request_id, "running", {}, info)
    url = runner.config.update_url
    window = Window(min(runner.config.heartbeat_interval, runner.config.status_retry_seconds), RUNNING_ATTEMPT_TIMEOUT)
    retry = Retry(f'the "running" update for job {request_id}', window)
    return send_status_sync(lambda body, t: client.post(url, content=body, timeout=t), retry, content, wait)

"""Progress (`emit_info` / `emit`), heartbeats and cancellation for the running queue job.

A JobReporter runs in a background thread for the duration of one queue job, so it keeps
working while a synchronous predict blocks the event loop (Gantry extra: sync workers heartbeat
too). It coalesces emitted info into at most one `running` update every 0.5 s (shallow merge,
later keys win) and sends a plain `running` heartbeat every 45 s (compat.md §3.5, §8.3).

Gantry extra: when a `running` update is answered "this job is no longer yours" (the job was
canceled, or its claim was lost), the reporter stops sending, sets `cancelled` (what
`sprocket.cancelled()` reads) and runs the `on_cancel` callbacks (which cancel an async predict)."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Callable

from ._status import Outcome

logger = logging.getLogger("sprocket")

MAX_INFO_BYTES = 4096

_lock = threading.Lock()
_current: "JobReporter | None" = None
_forward: "Callable[[dict], None] | None" = None


def _set_current(reporter: "JobReporter | None") -> None:
    global _current
    with _lock:
        _current = reporter


class JobCancelled(Exception):
    """The server canceled the running job (or it is no longer this worker's). Raised by the SDK
    after predict when the job was canceled; predict may raise it itself to stop early."""

    def __init__(self, message: str = "the job was canceled by the server") -> None:
        super().__init__(message)


def current_reporter() -> "JobReporter | None":
    with _lock:
        return _current


def cancelled() -> bool:
    """Whether the server has canceled the running queue job. A synchronous predict polls this to
    stop early; an async predict is cancelled (asyncio.CancelledError) instead. False outside a
    queue job (/generate, warmup)."""
    reporter = current_reporter()
    return reporter is not None and reporter.cancelled.is_set()


def emit_info(info: dict) -> None:
    """Merge `info` into the running job's info. Refused (ValueError) when its JSON exceeds
    4096 bytes. Outside a queue job (e.g. /generate, warmup) the call is accepted and ignored."""
    if not isinstance(info, dict):
        raise TypeError("emit_info expects a dict")
    encoded = json.dumps(info).encode()
    if len(encoded) > MAX_INFO_BYTES:
        raise ValueError(f"info is {len(encoded)} bytes of JSON; the limit is {MAX_INFO_BYTES}")
    with _lock:
        reporter, forward = _current, _forward
    if reporter is not None:
        reporter.add_info(info)
    elif forward is not None:
        forward(info)


def set_info_forwarder(forward: "Callable[[dict], None] | None") -> None:
    """In a torchrun rank: send emitted info to the parent, which reports it for the job."""
    global _forward
    with _lock:
        _forward = forward


def emit(info: dict) -> None:
    """Alias of emit_info (the name used in the vendor's queue guide)."""
    emit_info(info)


class JobReporter:
    def __init__(
        self,
        send: Callable[[dict[str, Any] | None, Callable[[float], bool]], Outcome],
        heartbeat: bool,
        healthy: Callable[[], bool],
        heartbeat_interval: float = 45.0,
        info_interval: float = 0.5,
    ) -> None:
        self._send = send  # send(info or None, wait) -> posts a `running` update, retrying through `wait`
        self._heartbeat = heartbeat
        self._healthy = healthy
        self._heartbeat_interval = heartbeat_interval
        self._info_interval = info_interval
        self._pending: dict[str, Any] = {}
        self._cond = threading.Condition()
        self._stopped = False
        self._last_info_sent = 0.0
        self.cancelled = threading.Event()
        self._cancel_callbacks: list[Callable[[], None]] = []
        self._thread = threading.Thread(target=self._loop, name="sprocket-reporter", daemon=True)

    def start(self) -> None:
        self._thread.start()
        _set_current(self)

    def add_info(self, info: dict) -> None:
        with self._cond:
            self._pending.update(info)
            self._cond.notify()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Run `callback` (from the reporter thread) when the job is canceled; at once if it already was."""
        with self._cond:
            if not self.cancelled.is_set():
                self._cancel_callbacks.append(callback)
                return
        callback()

    def stop(self) -> None:
        """Stop the thread and flush pending info (so it lands before the terminal update)."""
        _set_current(None)
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join()
        self._flush()

    def _flush(self) -> None:
        with self._cond:
            pending, self._pending = self._pending, {}
        if pending and not self.cancelled.is_set():
            self._last_info_sent = time.monotonic()
            self._send_running(pending)

    def _send_running(self, info: dict[str, Any] | None) -> None:
        try:
            outcome = self._send(info, self._wait)
        except Exception:  # never let progress or a heartbeat kill a job
            logger.exception("failed to send a running update")
            return
        if outcome is Outcome.CANCELED:
            self._cancel()
        elif outcome is not Outcome.OK:  # an outage (or a refusal): the job goes on regardless
            logger.warning("a running update was not delivered (%s); the job goes on", outcome.value)

    def _wait(self, seconds: float) -> bool:
        """Pause between two attempts of a `running` update; True when the reporter was stopped (the job
        ended), so a heartbeat retried through an outage never holds up the job's terminal update."""
        deadline = time.monotonic() + seconds
        with self._cond:
            while not self._stopped and deadline > time.monotonic():
                self._cond.wait(deadline - time.monotonic())
            return self._stopped

    def _cancel(self) -> None:
        with self._cond:
            self.cancelled.set()
            callbacks, self._cancel_callbacks = self._cancel_callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("a cancellation callback failed")

    def _loop(self) -> None:
        next_heartbeat = time.monotonic() + self._heartbeat_interval
        while True:
            with self._cond:
                if self._stopped:
                    return
                now = time.monotonic()
                if self._pending:
                    wait = max(0.0, self._last_info_sent + self._info_interval - now)
                else:
                    wait = next_heartbeat - now
                if self._heartbeat:
                    wait = min(wait, max(0.0, next_heartbeat - now))
                if wait > 0:
                    self._cond.wait(wait)
                if self._stopped:
                    return
            now = time.monotonic()
            if self._pending and now >= self._last_info_sent + self._info_interval:
                self._flush()
                next_heartbeat = time.monotonic() + self._heartbeat_interval  # a running update renews too
            elif self._heartbeat and now >= next_heartbeat:
                next_heartbeat = now + self._heartbeat_interval
                if self._healthy():
                    self._send_running(None)
            if self.cancelled.is_set():
                return  # nothing more to say about a job that is not ours

"""The status sender shared by the async and sync paths: success = exactly 200, what is retried (with
backoff, for the update's window) and what is final, and the 409 codes that mean the job is no longer
this worker's."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from sprocket._status import Outcome, Retry, Window, backoff, send_status, send_status_sync, status_body


def canned(*answers):
    """A transport answering each request with the next of `answers` (a status code, a (status, json)
    pair, a (status, json, headers) triple, or an exception to raise; the last one repeats), and
    recording when each request came."""
    seen: list[float] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(time.monotonic())
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, tuple):
            return httpx.Response(answer[0], json=answer[1], headers=answer[2] if len(answer) > 2 else None)
        return httpx.Response(answer)

    return handler, seen


def refused(status: int, code: str):
    return (status, {"error": {"message": "x", "type": "t", "param": "request_id", "code": code}})


CASES = [
    ((200,), Outcome.OK, 1),
    ((500, 201, 200), Outcome.OK, 3),
    ((refused(503, "GANTRY_ERR_NOT_LEADER"), refused(502, "GANTRY_ERR_LEADER_UNREACHABLE"), 200), Outcome.OK, 3),
    ((httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), 200), Outcome.OK, 3),
    ((429, 408, 200), Outcome.OK, 3),
    ((refused(409, "GANTRY_ERR_JOB_CANCELED"),), Outcome.CANCELED, 1),
    ((refused(409, "GANTRY_ERR_JOB_NOT_HELD"),), Outcome.CANCELED, 1),
    ((refused(409, "GANTRY_ERR_STATE_CONFLICT"), 200), Outcome.REJECTED, 1),
    (((409, ["not an error object"]), 200), Outcome.REJECTED, 1),
    ((refused(400, "GANTRY_ERR_JOB_INFO_TOO_LARGE"), 200), Outcome.REJECTED, 1),
    ((413, 200), Outcome.REJECTED, 1),
]

WINDOW = Window(seconds=30, attempt_timeout=5)


@pytest.mark.parametrize("answers,outcome,attempts", CASES)
def test_sync_sender(answers, outcome, attempts):
    handler, seen = canned(*answers)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        body = status_body("m", "r1", "running", {}, None)
        post = lambda b, t: client.post("http://g/status", content=b, timeout=t)  # noqa: E731
        assert send_status_sync(post, Retry("update", WINDOW), body, lambda s: time.sleep(s) or False) is outcome
    assert len(seen) == attempts


@pytest.mark.parametrize("answers,outcome,attempts", CASES)
def test_async_sender(answers, outcome, attempts):
    handler, seen = canned(*answers)

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            body = status_body("m", "r1", "done", {"x": 1}, {"k": "v"})
            post = lambda b, t: client.post("http://g/status", content=b, timeout=t)  # noqa: E731
            return await send_status(post, Retry("update", WINDOW), body)

    assert asyncio.run(go()) is outcome
    assert len(seen) == attempts


def test_retries_back_off_until_the_window_passes_then_fail():
    handler, seen = canned(httpx.ConnectError("refused"))

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            post = lambda b, t: client.post("http://g/status", content=b, timeout=t)  # noqa: E731
            return await send_status(post, Retry("update", Window(seconds=2.5, attempt_timeout=1)), b"{}")

    start = time.monotonic()
    assert asyncio.run(go()) is Outcome.FAILED
    took = time.monotonic() - start
    assert 2.5 <= took < 10
    gaps = [b - a for a, b in zip(seen, seen[1:])]
    assert 3 <= len(seen) <= 8, gaps  # 0.25-0.5 s, 0.5-1 s, 1-2 s, ... capped by what is left of the window
    assert gaps[1] >= 0.5 and gaps[0] <= gaps[1] * 2 + 0.2


def test_retry_after_is_honoured():
    handler, seen = canned((503, {}, {"retry-after": "2"}), 200)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        post = lambda b, t: client.post("http://g/status", content=b, timeout=t)  # noqa: E731
        assert send_status_sync(post, Retry("update", WINDOW), b"{}", lambda s: time.sleep(s) or False) is Outcome.OK
    assert seen[1] - seen[0] >= 1.9


def test_a_stopped_sync_sender_gives_up_at_once():
    handler, seen = canned(500)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        post = lambda b, t: client.post("http://g/status", content=b, timeout=t)  # noqa: E731
        assert send_status_sync(post, Retry("update", WINDOW), b"{}", lambda s: True) is Outcome.FAILED
    assert len(seen) == 1


def test_backoff_doubles_with_jitter_up_to_5_seconds():
    for failures, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 5.0), (30, 5.0)]:
        values = [backoff(failures) for _ in range(200)]
        assert all(ceiling / 2 <= v <= ceiling for v in values)
        assert max(values) - min(values) > ceiling / 10  # jittered, not one fixed value


def test_status_body_shape():
    assert status_body("m", "r", "running", None, None) == b'{"model": "m", "request_id": "r", "status": "running", "payload": {}}'
    assert b'"info": {"error": "e"}' in status_body("m", "r", "failed", {}, {"error": "e"})
    with pytest.raises(TypeError):
        status_body("m", "r", "done", {"b": b"bytes"}, None)

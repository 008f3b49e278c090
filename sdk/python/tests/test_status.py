"""The status sender shared by the async and sync paths: attempts, success = exactly 200, and the
409 codes that mean the job is no longer this worker's."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from sprocket._status import Outcome, send_status, send_status_sync, status_body


def canned(*answers):
    """A transport answering each request with the next of `answers` (a status code, a
    (status, json) pair, or an exception to raise), and recording the bodies."""
    seen: list[bytes] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, tuple):
            return httpx.Response(answer[0], json=answer[1])
        return httpx.Response(answer)

    return handler, seen


def conflict(code: str):
    return (409, {"error": {"message": "x", "type": "conflict_error", "param": "request_id", "code": code}})


CASES = [
    ((200,), Outcome.OK, 1),
    ((500, 201, 200), Outcome.OK, 3),
    ((500, 500, 500), Outcome.FAILED, 3),
    ((httpx.ConnectError("refused"), 200), Outcome.OK, 2),
    ((conflict("GANTRY_ERR_JOB_CANCELED"),), Outcome.CANCELED, 1),
    ((conflict("GANTRY_ERR_JOB_NOT_HELD"),), Outcome.CANCELED, 1),
    ((conflict("GANTRY_ERR_SOMETHING_ELSE"), 200), Outcome.OK, 2),
    (((409, ["not an error object"]), 200), Outcome.OK, 2),
]


@pytest.mark.parametrize("answers,outcome,attempts", CASES)
def test_sync_sender(answers, outcome, attempts):
    handler, seen = canned(*answers)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        body = status_body("m", "r1", "running", {}, None)
        assert send_status_sync(lambda b: client.post("http://g/status", content=b), "r1", body) is outcome
    assert len(seen) == attempts
    assert all(s == body for s in seen)


@pytest.mark.parametrize("answers,outcome,attempts", CASES)
def test_async_sender(answers, outcome, attempts):
    handler, seen = canned(*answers)

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            body = status_body("m", "r1", "done", {"x": 1}, {"k": "v"})
            return await send_status(lambda b: client.post("http://g/status", content=b), "r1", body)

    assert asyncio.run(go()) is outcome
    assert len(seen) == attempts


def test_status_body_shape():
    assert status_body("m", "r", "running", None, None) == b'{"model": "m", "request_id": "r", "status": "running", "payload": {}}'
    assert b'"info": {"error": "e"}' in status_body("m", "r", "failed", {}, {"error": "e"})
    with pytest.raises(TypeError):
        status_body("m", "r", "done", {"b": b"bytes"}, None)


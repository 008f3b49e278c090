"""A bad job never stops the queue loop (issue 15 item 4): whatever goes wrong while one job is decoded,
run or reported fails that job with `info.error` saying why, and the worker goes on to the next job. A
loop that stops anyway (an unexpected fatal error) turns /health 503, so the worker is replaced."""

from __future__ import annotations

import json
import time

from conftest import wait_for

WORKER = """
import sprocket

class Fatal(BaseException):
    \"\"\"Not an Exception: nothing in a job's handling is meant to catch it.\"\"\"

class Unprintable(Exception):
    def __repr__(self):
        raise RuntimeError("no repr for you")

def recurse(n):
    return recurse(n + 1) + 1

def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value

class Worker(sprocket.Sprocket):
    def predict(self, args):
        kind = args.get("do")
        if kind == "recurse":
            return {"n": recurse(0)}
        if kind == "deep-result":
            return {"deep": nested(100_000)}
        if kind == "bytes":
            return {"raw": b"not json"}
        if kind == "unprintable":
            raise Unprintable()
        if kind == "fatal":
            raise Fatal("the loop cannot go on")
        return {"ok": args.get("n")}

sprocket.run(Worker())
"""


def nested_payload(depth: int) -> str:
    return "[" * depth + "]" * depth


def error_of(gantry, request_id: str) -> str:
    final = wait_for(lambda: gantry.terminal(request_id), timeout=20)
    assert final["status"] == "failed", final
    assert final["payload"] == {}
    return final["info"]["error"]


def test_a_payload_nested_1000_levels_fails_that_job_and_the_next_job_runs(gantry, start_worker):
    w = start_worker(WORKER)
    w.wait_healthy()
    body = '{"data": {"request_id": "deep", "model": "test-model", "payload": {"x": %s}, "info": {}}}'
    gantry.submit_raw((body % nested_payload(1000)).encode())
    gantry.submit("next", {"n": 1})
    error = error_of(gantry, "deep")
    assert "could not be decoded" in error and "RecursionError" in error
    assert wait_for(lambda: gantry.terminal("next"))["payload"] == {"ok": 1}
    assert w.get("/health").status_code == 200


def test_a_retrieve_body_that_is_not_json_fails_the_job_it_names(gantry, start_worker):
    w = start_worker(WORKER)
    w.wait_healthy()
    gantry.submit_raw(b'{"data": {"request_id": "broken\\u0021", "payload": {"a": [1, 2,, 3]}}}')
    gantry.submit("next", {"n": 2})
    error = error_of(gantry, "broken!")
    assert "could not be decoded" in error and "JSONDecodeError" in error
    assert wait_for(lambda: gantry.terminal("next"))["payload"] == {"ok": 2}


def test_a_predict_that_raises_recursionerror_fails_its_job_only(gantry, start_worker):
    w = start_worker(WORKER)
    w.wait_healthy()
    gantry.submit("rec", {"do": "recurse"})
    gantry.submit("next", {"n": 3})
    assert error_of(gantry, "rec").startswith("RecursionError(")
    assert wait_for(lambda: gantry.terminal("next"))["payload"] == {"ok": 3}


def test_results_that_cannot_be_serialized_fail_their_jobs_with_the_reason(gantry, start_worker):
    w = start_worker(WORKER)
    w.wait_healthy()
    gantry.submit("deep-result", {"do": "deep-result"})
    gantry.submit("bytes", {"do": "bytes"})
    gantry.submit("unprintable", {"do": "unprintable"})
    gantry.submit("next", {"n": 4})
    assert "could not be serialized as JSON" in error_of(gantry, "deep-result")
    assert "RecursionError" in error_of(gantry, "deep-result")
    assert "could not be serialized as JSON" in error_of(gantry, "bytes")
    assert "TypeError" in error_of(gantry, "bytes")
    assert error_of(gantry, "unprintable").startswith("Unprintable")
    assert wait_for(lambda: gantry.terminal("next"))["payload"] == {"ok": 4}
    for request_id in ("deep-result", "bytes", "unprintable", "next"):
        assert len([u for u in gantry.updates_for(request_id) if u["status"] != "running"]) == 1


def test_health_turns_503_when_the_queue_loop_stops_on_a_fatal_error(gantry, start_worker):
    w = start_worker(WORKER)
    w.wait_healthy()
    gantry.submit("fatal", {"do": "fatal"})
    assert "Fatal" in error_of(gantry, "fatal")  # the job it was running is failed on the way out
    wait_for(lambda: w.get("/health").status_code == 503, timeout=15)
    assert w.get("/health").json() == {"status": "unhealthy"}
    retrieves = len(gantry.retrieves)
    gantry.submit("after", {"n": 5})
    time.sleep(1.5)
    assert len(gantry.retrieves) == retrieves and gantry.pending() == 1  # it claims nothing more
    assert w.proc.poll() is None


def test_the_failed_update_of_a_huge_error_stays_within_the_info_limit(gantry, start_worker):
    source = WORKER.replace('if kind == "recurse":', 'if kind == "huge":\n            raise ValueError("é" * 50_000)\n        if kind == "recurse":')
    w = start_worker(source)
    w.wait_healthy()
    gantry.submit("huge", {"do": "huge"})
    error = error_of(gantry, "huge")
    assert error.startswith("ValueError('éé") and error.endswith("…")
    assert len(json.dumps({"error": error}, ensure_ascii=False).encode()) <= 4096

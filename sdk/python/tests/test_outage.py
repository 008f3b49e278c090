"""Workers ride out a control-plane restart (issue 14 item 3): the stand-in Gantry closes its listener
(real connection refusals) and comes back on the same port; a finished job's `done` update is retried
with backoff until it lands, once, with the result intact, and nothing is claimed before it has. A 409
is final; an update that cannot be delivered within GANTRY_SPROCKET_STATUS_RETRY_SECONDS is given up
with a log line, and the worker restarts so that the server retries the job.

Every wait is bounded; the 20-second outage test takes about 25 s."""

from __future__ import annotations

import signal
import time

from conftest import wait_for

WORKER = """
import time
import sprocket

class Slow(sprocket.Sprocket):
    def predict(self, args):
        time.sleep(args.get("sleep", 0))
        return {"result": args.get("value"), "nested": {"list": [1, 2, 3], "text": "é ✓"}}

sprocket.run(Slow())
"""

OUTAGE_SECONDS = 20
FAST_BEATS = {"GANTRY_SPROCKET_HEARTBEAT_SECONDS": "0.5"}


def terminal_updates(gantry, request_id: str) -> list[dict]:
    return [u for u in gantry.updates_for(request_id) if u["status"] != "running"]


def claimed(gantry) -> bool:
    return gantry.pending() == 0 and bool(gantry.retrieves)


def test_the_done_update_lands_once_after_a_20_second_outage(gantry, start_worker):
    w = start_worker(WORKER, env=FAST_BEATS)
    w.wait_healthy()
    gantry.submit("r1", {"sleep": 2, "value": "kept through the outage"})
    wait_for(lambda: claimed(gantry))
    gantry.stop()  # predict is still running: its heartbeats and then its done meet refusals
    time.sleep(OUTAGE_SECONDS)
    assert gantry.terminal("r1") is None
    back_at = time.monotonic()
    gantry.start()
    final = wait_for(lambda: gantry.terminal("r1"), timeout=20)
    assert final == {
        "model": "test-model",
        "request_id": "r1",
        "status": "done",
        "payload": {"result": "kept through the outage", "nested": {"list": [1, 2, 3], "text": "é ✓"}},
    }
    assert len(terminal_updates(gantry, "r1")) == 1
    # Nothing was claimed before the done landed: the first request after the outage is that update.
    after = [kind for kind, at in gantry.events if at >= back_at]
    assert after[0] == "status", after
    assert w.proc.poll() is None and w.get("/health").status_code == 200
    gantry.submit("r2", {"value": "next"})
    assert wait_for(lambda: gantry.terminal("r2"))["payload"]["result"] == "next"
    assert len(terminal_updates(gantry, "r1")) == 1


def test_a_409_is_final_for_a_job_not_held_and_for_any_other_conflict(gantry, start_worker):
    w = start_worker(WORKER)
    w.wait_healthy()
    gantry.refusals["lost"] = (409, "GANTRY_ERR_JOB_NOT_HELD")
    gantry.refusals["conflict"] = (409, "GANTRY_ERR_STATE_CONFLICT")
    gantry.submit("lost", {"value": 1})
    gantry.submit("conflict", {"value": 2})
    gantry.submit("next", {"value": 3})
    assert wait_for(lambda: gantry.terminal("next"))["status"] == "done"
    time.sleep(1.5)  # room for a retry that must not come
    assert [u["status"] for u in terminal_updates(gantry, "lost")] == ["done"]
    # A done refused for another reason is not repeated; the job is failed with the reason instead.
    conflict = terminal_updates(gantry, "conflict")
    assert [u["status"] for u in conflict] == ["done", "failed"]
    assert "the server refused the done update: HTTP 409" in conflict[1]["info"]["error"]
    w.proc.send_signal(signal.SIGTERM)
    assert w.proc.wait(20) == 0
    out = w.output()
    assert "the job is no longer this worker's (GANTRY_ERR_JOB_NOT_HELD)" in out
    assert 'the "done" update for job conflict was refused with HTTP 409' in out and "not retrying" in out


def test_giving_up_after_the_window_logs_that_the_server_retries_the_job_and_restarts(gantry, start_worker):
    w = start_worker(WORKER, env={"GANTRY_SPROCKET_STATUS_RETRY_SECONDS": "3"})
    w.wait_healthy()
    gantry.submit("g1", {"sleep": 0.5, "value": 1})
    wait_for(lambda: claimed(gantry))
    gantry.stop()
    started = time.monotonic()
    assert w.proc.wait(30) == 0  # it restarts itself, as after a predict timeout
    assert time.monotonic() - started >= 3
    out = w.output()
    assert 'gave up on the "done" update for job g1 after 3 s' in out
    assert "the job will be retried by the server" in out
    assert (w.cwd / ".fatal_error").exists()
    attempts = out.count('the "done" update for job g1 failed')
    assert 2 <= attempts <= 10, out


def test_retrieve_keeps_trying_with_backoff_through_an_outage(gantry, start_worker):
    w = start_worker(WORKER)
    w.wait_healthy()
    wait_for(lambda: len(gantry.retrieves) >= 2)
    gantry.stop()
    time.sleep(6)
    gantry.start()
    gantry.submit("after", {"value": "claimed after the outage"})
    assert wait_for(lambda: gantry.terminal("after"), timeout=20)["status"] == "done"
    w.proc.send_signal(signal.SIGTERM)
    assert w.proc.wait(20) == 0
    failures = w.output().count("error retrieving job")
    assert 2 <= failures <= 12, w.output()  # backing off: a few attempts in 6 s, not one every 0.1 s

"""Cancellation of the running queue job (Gantry extra): the reporter learns it from a 409
GANTRY_ERR_JOB_CANCELED on a `running` update; predict observes it; the job is not reported."""

from __future__ import annotations

import time

from conftest import wait_for

ASYNC_CANCELLABLE = """
import asyncio
import pathlib
import sprocket

class Slow(sprocket.AsyncSprocket):
    async def predict(self, args):
        try:
            await asyncio.sleep(args.get("sleep", 0))
        except asyncio.CancelledError:
            pathlib.Path("cancelled-" + args["tag"]).write_text("yes")
            raise
        return {"ok": args["tag"]}

sprocket.run(Slow())
"""

SYNC_POLLING = """
import pathlib
import time
import sprocket

class Poller(sprocket.Sprocket):
    def predict(self, args):
        deadline = time.monotonic() + args.get("sleep", 0)
        while time.monotonic() < deadline:
            if sprocket.cancelled():
                pathlib.Path("cancelled-" + args["tag"]).write_text("yes")
                return {"partial": True}
            time.sleep(0.05)
        return {"ok": args["tag"], "cancelled": sprocket.cancelled()}

sprocket.run(Poller())
"""

FAST_BEATS = {"GANTRY_SPROCKET_HEARTBEAT_SECONDS": "0.3"}


def running_updates(gantry, request_id: str) -> list[dict]:
    return [u for u in gantry.updates_for(request_id) if u["status"] == "running"]


def test_async_predict_is_cancelled_and_job_not_reported(gantry, start_worker):
    w = start_worker(ASYNC_CANCELLABLE, env=FAST_BEATS)
    w.wait_healthy()
    gantry.submit("c1", {"sleep": 60, "tag": "c1"})
    wait_for(lambda: running_updates(gantry, "c1"))
    gantry.cancel("c1")
    wait_for(lambda: (w.cwd / "cancelled-c1").exists(), timeout=15)
    # The worker goes on to the next job, and never reports the canceled one.
    gantry.submit("c2", {"sleep": 0, "tag": "c2"})
    assert wait_for(lambda: gantry.terminal("c2"))["payload"] == {"ok": "c2"}
    assert gantry.terminal("c1") is None
    beats = len(running_updates(gantry, "c1"))
    time.sleep(1.0)
    assert len(running_updates(gantry, "c1")) == beats  # no heartbeats for a job that is not ours


def test_sync_predict_sees_cancelled_and_its_result_is_dropped(gantry, start_worker):
    w = start_worker(SYNC_POLLING, env=FAST_BEATS)
    w.wait_healthy()
    gantry.submit("s1", {"sleep": 60, "tag": "s1"})
    wait_for(lambda: running_updates(gantry, "s1"))
    gantry.cancel("s1")
    wait_for(lambda: (w.cwd / "cancelled-s1").exists(), timeout=15)
    gantry.submit("s2", {"sleep": 0, "tag": "s2"})
    assert wait_for(lambda: gantry.terminal("s2"))["payload"] == {"ok": "s2", "cancelled": False}
    assert gantry.terminal("s1") is None


def test_cancellation_found_at_the_terminal_update_drops_the_outputs(gantry, start_worker):
    w = start_worker(SYNC_POLLING)  # default 45 s heartbeat: no running update before the end
    w.wait_healthy()
    gantry.cancel("t1")
    gantry.submit("t1", {"sleep": 0, "tag": "t1"})
    wait_for(lambda: gantry.updates_for("t1"))
    done = [u for u in gantry.updates_for("t1") if u["status"] == "done"]
    assert len(done) == 1  # a 409 GANTRY_ERR_JOB_CANCELED is final: no retries
    gantry.submit("t2", {"sleep": 0, "tag": "t2"})
    assert wait_for(lambda: gantry.terminal("t2"))["status"] == "done"
    assert not any(u["status"] == "failed" for u in gantry.updates_for("t1"))

"""Torchrun mode (`use_torchrun=True`, compat.md §3.7) with 2 ranks, started by a stand-in `torchrun`
on PATH (tests/torchrun_standin.py)."""

from __future__ import annotations

import json
import signal
import sys

import pytest

from conftest import PKG_ROOT, wait_for

TORCHRUN_WORKER = """
import json
import os
import pathlib
import sprocket

class Ranked(sprocket.Sprocket):
    def setup(self):
        self.rank = int(os.environ["RANK"])
        env = {k: os.environ.get(k) for k in ("LOCAL_RANK", "RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
        pathlib.Path(f"setup-{self.rank}.json").write_text(json.dumps(env))

    def predict(self, args):
        pathlib.Path(f"job-{args['tag']}-{self.rank}.json").write_text(json.dumps(args))
        if args.get("fail_rank") == self.rank:
            raise ValueError(f"rank {self.rank} failed")
        if args.get("exit_rank") == self.rank:
            os._exit(3)
        if args.get("sleep"):
            import time
            time.sleep(args["sleep"])
        if args.get("progress") and self.rank == 0:
            sprocket.emit_info({"rank0_progress": 0.5})
            import time
            time.sleep(1.0)
        if self.rank != 0:
            return None
        return {"rank": self.rank, "world": int(os.environ["WORLD_SIZE"]), "echo": args.get("x")}

if __name__ == "__main__":
    sprocket.run(Ranked(), use_torchrun=True)
"""


@pytest.fixture
def torchrun_path(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    launcher = bindir / "torchrun"
    launcher.write_text(f"#!{sys.executable}\n" + (PKG_ROOT / "tests" / "torchrun_standin.py").read_text())
    launcher.chmod(0o755)
    import os

    return f"{bindir}:{os.environ['PATH']}"


def start(start_worker, torchrun_path):
    w = start_worker(TORCHRUN_WORKER, env={"PATH": torchrun_path, "WORLD_SIZE": "2"})
    w.wait_healthy(timeout=30)
    return w


def test_two_ranks_set_up_with_torchrun_env_and_rank0_answers(gantry, start_worker, torchrun_path):
    w = start(start_worker, torchrun_path)
    for rank in (0, 1):
        env = json.loads((w.cwd / f"setup-{rank}.json").read_text())
        assert env["LOCAL_RANK"] == env["RANK"] == str(rank)
        assert env["WORLD_SIZE"] == "2" and env["MASTER_ADDR"] == "127.0.0.1" and env["MASTER_PORT"].isdigit()
    gantry.submit("t1", {"tag": "t1", "x": 42})
    final = wait_for(lambda: gantry.terminal("t1"), timeout=20)
    assert final["status"] == "done"
    assert final["payload"] == {"rank": 0, "world": 2, "echo": 42}
    for rank in (0, 1):  # the inputs went to every rank
        assert json.loads((w.cwd / f"job-t1-{rank}.json").read_text()) == {"tag": "t1", "x": 42}
    assert gantry.retrieves[0]["params"]["claim_timeout"] == "90"  # the parent is an async worker


def test_emit_info_in_rank_0_is_reported_by_the_parent(gantry, start_worker, torchrun_path):
    start(start_worker, torchrun_path)
    gantry.submit("p1", {"tag": "p1", "progress": True, "x": 7})
    final = wait_for(lambda: gantry.terminal("p1"), timeout=20)
    assert final["payload"]["echo"] == 7
    running = [u for u in gantry.updates_for("p1") if u["status"] == "running"]
    assert any(u.get("info") == {"rank0_progress": 0.5} for u in running)


def test_a_rank_raising_fails_the_job_and_the_worker_goes_on(gantry, start_worker, torchrun_path):
    start(start_worker, torchrun_path)
    gantry.submit("f1", {"tag": "f1", "fail_rank": 1})
    final = wait_for(lambda: gantry.terminal("f1"), timeout=20)
    assert final["status"] == "failed"
    assert final["info"]["error"] == "ValueError('rank 1 failed')"
    gantry.submit("f2", {"tag": "f2", "x": 1})
    assert wait_for(lambda: gantry.terminal("f2"), timeout=20)["status"] == "done"


def test_generate_goes_through_the_ranks_too(gantry, start_worker, torchrun_path):
    w = start(start_worker, torchrun_path)
    import httpx

    resp = httpx.post(f"{w.url}/generate", json={"tag": "g1", "x": "hi"}, timeout=20)
    assert resp.status_code == 200
    assert resp.json() == {"rank": 0, "world": 2, "echo": "hi"}


def test_a_rank_dying_fails_the_job_and_the_worker_exits(gantry, start_worker, torchrun_path):
    w = start(start_worker, torchrun_path)
    gantry.submit("d1", {"tag": "d1", "exit_rank": 1})
    final = wait_for(lambda: gantry.terminal("d1"), timeout=20)
    assert final["status"] == "failed"
    assert "Worker crashed for this input!" in final["info"]["error"] or "torchrun exited" in final["info"]["error"]
    assert w.proc.wait(30) == 0  # fatal: the worker SIGTERMs itself and exits 0, for the platform to restart


def test_a_canceled_job_leaves_the_ranks_in_step_for_the_next_one(gantry, start_worker, torchrun_path):
    w = start_worker(TORCHRUN_WORKER, env={"PATH": torchrun_path, "WORLD_SIZE": "2", "GANTRY_SPROCKET_HEARTBEAT_SECONDS": "0.3"})
    w.wait_healthy(timeout=30)
    gantry.submit("c1", {"tag": "c1", "sleep": 2, "x": "old"})
    wait_for(lambda: [u for u in gantry.updates_for("c1") if u["status"] == "running"], timeout=20)
    gantry.cancel("c1")
    gantry.submit("c2", {"tag": "c2", "x": "new"})
    final = wait_for(lambda: gantry.terminal("c2"), timeout=30)
    assert final["payload"] == {"rank": 0, "world": 2, "echo": "new"}  # not the canceled job's late output
    assert gantry.terminal("c1") is None


def test_sigterm_stops_torchrun_and_exits_0(gantry, start_worker, torchrun_path):
    w = start(start_worker, torchrun_path)
    w.proc.send_signal(signal.SIGTERM)
    assert w.proc.wait(30) == 0

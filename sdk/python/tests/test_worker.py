from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest

from conftest import PKG_ROOT, wait_for

HELLO = """
import sprocket

class Hello(sprocket.Sprocket):
    def setup(self):
        import time
        time.sleep(float(__import__("os").environ.get("SETUP_SLEEP", "0")))

    def predict(self, args):
        if args.get("boom"):
            raise ValueError("boom!")
        if args.get("sleep"):
            import time
            time.sleep(args["sleep"])
        if args.get("progress"):
            sprocket.emit_info({"step": 1, "of": 2})
            sprocket.emit({"step": 2})
            import time
            time.sleep(1.0)
        if args.get("file"):
            out = sprocket.FileOutput("result.txt")
            out.write_text("hello file")
            return {"file": out, "n": 1}
        return {"message": "Hello, " + args.get("name", "world") + "!"}

sprocket.run(Hello())
"""

ASYNC_SLOW = """
import asyncio
import sprocket

class Slow(sprocket.AsyncSprocket):
    async def predict(self, args):
        await asyncio.sleep(args.get("sleep", 0))
        return {"ok": True}

sprocket.run(Slow())
"""


def test_job_done_with_exact_status_body(gantry, start_worker):
    w = start_worker(HELLO)
    w.wait_healthy()
    gantry.submit("r1", {"name": "Ada"})
    final = wait_for(lambda: gantry.terminal("r1"))
    assert final == {"model": "test-model", "request_id": "r1", "status": "done", "payload": {"message": "Hello, Ada!"}}
    # sync worker: no claim_timeout; retrieve query and headers as in 0.1.4
    r = gantry.retrieves[0]
    assert r["params"]["timeout"] == "5s"
    assert r["params"]["model"] == "test-model"
    assert "hostname" in r["params"]
    assert "claim_timeout" not in r["params"]
    assert float(r["headers"]["x-idle-time"]) >= 0
    assert r["headers"]["authorization"] == "Bearer test-key"
    assert "sprocket/" in r["headers"]["user-agent"] and "test-model/unknown" in r["headers"]["user-agent"]


def test_predict_raising_fails_job_with_repr(gantry, start_worker):
    w = start_worker(HELLO)
    w.wait_healthy()
    gantry.submit("bad", {"boom": True})
    final = wait_for(lambda: gantry.terminal("bad"))
    assert final == {
        "model": "test-model",
        "request_id": "bad",
        "status": "failed",
        "payload": {},
        "info": {"error": "ValueError('boom!')"},
    }
    # the worker carries on
    gantry.submit("good", {})
    assert wait_for(lambda: gantry.terminal("good"))["status"] == "done"


def test_health_503_until_setup_returns_then_200(gantry, start_worker):
    w = start_worker(HELLO, env={"SETUP_SLEEP": "3"})

    def answered():
        try:
            return w.get("/health")
        except httpx.ConnectError:
            return None  # the interpreter is still importing; the port is bound before setup() runs

    first = wait_for(answered, timeout=15)
    assert first.status_code == 503 and first.json() == {"status": "unhealthy"}  # Gantry: 503, not refused
    assert w.get("/metrics").text == "requests_inflight 0.0"
    starting = httpx.post(w.url + "/generate", json={}, timeout=10)
    assert starting.status_code == 503 and starting.json() == {"error": "Worker is starting"}
    w.wait_healthy()
    resp = w.get("/health")
    assert resp.status_code == 200 and resp.json() == {"status": "healthy"}
    assert w.get("/health").status_code == 200


def test_metrics_body_exact(gantry, start_worker):
    w = start_worker(HELLO)
    w.wait_healthy()
    resp = w.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"
    assert resp.content == b"requests_inflight 0.0"


def test_generate_and_busy_503(gantry, start_worker):
    w = start_worker(ASYNC_SLOW)
    w.wait_healthy()
    assert httpx.post(w.url + "/generate", json={}, timeout=10).json() == {"ok": True}
    # a slow job through the queue makes the worker busy
    gantry.submit("slow", {"sleep": 2})
    wait_for(lambda: w.get("/metrics").content == b"requests_inflight 1.0")
    resp = httpx.post(w.url + "/generate", json={}, timeout=10)
    assert resp.status_code == 503 and resp.json() == {"error": "Worker is busy"}
    assert wait_for(lambda: gantry.terminal("slow"))["status"] == "done"
    # async worker sends claim_timeout=90
    assert gantry.retrieves[0]["params"]["claim_timeout"] == "90"


def test_emit_info_visible_as_running_update(gantry, start_worker):
    w = start_worker(HELLO)
    w.wait_healthy()
    gantry.submit("p", {"progress": True})
    wait_for(lambda: gantry.terminal("p"))
    updates = gantry.updates_for("p")
    running = [u for u in updates if u["status"] == "running"]
    assert running, updates
    merged: dict = {}
    for u in running:
        assert u["payload"] == {}
        merged.update(u.get("info", {}))
    assert merged == {"step": 2, "of": 2}
    assert updates[-1]["status"] == "done"


def test_file_output_uploaded(gantry, start_worker):
    w = start_worker(HELLO)
    w.wait_healthy()
    gantry.submit("f1", {"file": True})
    final = wait_for(lambda: gantry.terminal("f1"))
    assert final["status"] == "done", final
    assert final["payload"] == {"file": f"{gantry.base}/v1/storage/f1-result.txt", "n": 1}
    assert gantry.upload_requests[0]["body"] == {"filename": "f1-result.txt"}
    assert gantry.upload_requests[0]["headers"]["authorization"] == "Bearer test-key"
    assert gantry.puts["f1-result.txt"] == b"hello file"


def test_generate_file_output_and_error(gantry, start_worker):
    w = start_worker(HELLO)
    w.wait_healthy()
    resp = httpx.post(w.url + "/generate", json={"boom": True}, timeout=10)
    assert resp.status_code == 500 and resp.json() == {"error": "boom!"}
    resp = httpx.post(w.url + "/generate", json={"file": True}, timeout=10)
    assert resp.status_code == 200
    url = resp.json()["file"]
    assert url.startswith(f"{gantry.base}/v1/storage/") and url.endswith("-result.txt")


@pytest.mark.parametrize("args", [["--bogus"], ["--port", "notanint"]])
def test_argv_errors_exit_2(gantry, start_worker, args):
    w = start_worker(HELLO, args=args)
    assert w.proc.wait(20) == 2


def test_sigterm_finishes_current_job_then_exits_0(gantry, start_worker):
    w = start_worker(ASYNC_SLOW)
    w.wait_healthy()
    gantry.submit("s", {"sleep": 1.5})
    wait_for(lambda: w.get("/metrics").content == b"requests_inflight 1.0")
    w.proc.send_signal(signal.SIGTERM)
    assert w.proc.wait(20) == 0
    assert gantry.terminal("s")["status"] == "done"
    assert (w.cwd / ".shutdown_now").exists()


def test_run_and_exit(gantry, start_worker):
    w = start_worker(HELLO, env={"RUN_AND_EXIT": "2"})
    assert w.proc.wait(20) == 0
    out = w.output()
    assert "===cold start time===" in out and "===predict times===" in out


def test_missing_name_raises(tmp_path):
    code = "import sprocket\nclass S(sprocket.Sprocket):\n    pass\nsprocket.run(S())\n"
    env = {"PYTHONPATH": str(PKG_ROOT), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "No deployment name found" in proc.stderr


def test_emit_info_size_limit():
    import sprocket

    sprocket.emit_info({"x": "a" * 100})  # outside a job: accepted, ignored
    with pytest.raises(ValueError):
        sprocket.emit_info({"x": "a" * 5000})


def test_api_base_normalization():
    from sprocket._config import normalize_api_base

    assert normalize_api_base(None) == "https://api.together.ai"
    assert normalize_api_base("api.example.com") == "https://api.example.com"
    assert normalize_api_base("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert normalize_api_base("https://g.example/") == "https://g.example"


def test_sync_worker_heartbeats_while_predict_blocks(gantry, start_worker):
    w = start_worker(HELLO, env={"GANTRY_SPROCKET_HEARTBEAT_SECONDS": "0.3"})
    w.wait_healthy()
    gantry.submit("hb", {"sleep": 1.5})
    final = wait_for(lambda: gantry.terminal("hb"))
    assert final["status"] == "done"
    beats = [u for u in gantry.updates_for("hb") if u["status"] == "running"]
    assert len(beats) >= 2
    assert all(u == {"model": "test-model", "request_id": "hb", "status": "running", "payload": {}} for u in beats)

"""https:// API base (the unmodified path, trusted via SSL_CERT_FILE) and https:// input download."""

from __future__ import annotations

from conftest import wait_for

READER = """
import os
import sprocket

class Reader(sprocket.Sprocket):
    def predict(self, args):
        path = args["image"]
        with open(path, "rb") as f:
            data = f.read().decode()
        return {"path": path, "data": data, "other": args["other"], "exists_during": os.path.exists(path)}

sprocket.run(Reader())
"""


def test_https_api_base_and_input_download(tls_gantry, tls_cert, start_worker):
    g = tls_gantry
    w = start_worker(READER, env={"TOGETHER_API_BASE_URL": g.base, "SSL_CERT_FILE": tls_cert[0]})
    w.wait_healthy()
    g.submit("dl", {"image": f"{g.base}/redir/cat.png?sig=abc", "other": "http://example.invalid/x.png"})
    final = wait_for(lambda: g.terminal("dl"))
    assert final["status"] == "done", final
    assert final["payload"] == {
        "path": "inputs/cat.png",
        "data": "input-bytes:cat.png",
        "other": "http://example.invalid/x.png",
        "exists_during": True,
    }
    # downloaded inputs are deleted after the job
    assert not (w.cwd / "inputs" / "cat.png").exists()
    assert (w.cwd / "inputs").is_dir()

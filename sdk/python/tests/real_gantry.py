"""A real Gantry server process (the embedded default, from this repository's sources) and a local
HTTPS file server with its own CA, for the tests that run the SDK against the real thing."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import ssl
import subprocess
import threading
import time
from pathlib import Path

import httpx

from conftest import PKG_ROOT, free_port

REPO_ROOT = PKG_ROOT.parent.parent
ADMIN_KEY = "gantry_pytest_admin_key_0123456789"


def node_missing() -> str | None:
    """Why a real server cannot be started here, or None."""
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not (REPO_ROOT / "node_modules" / "tsx").is_dir():
        return "node_modules (tsx) is not installed; run npm ci"
    return None


class GantryServer:
    """`gantry server` on a free port over a temporary data dir, with a fixed admin key."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.output = ""
        env = dict(os.environ, GANTRY_DATA_DIR=str(data_dir), GANTRY_ADMIN_KEY=ADMIN_KEY, GANTRY_LOG_LEVEL="warn")
        argv = ["node", "--import", "tsx", str(REPO_ROOT / "src/bin/gantry.ts"), "server", "--port", str(self.port)]
        self.proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._collect, daemon=True).start()
        self.url = self._wait_for_banner()
        self.ca_file = str(data_dir / "tls" / "ca.pem")
        self.trust = ssl.create_default_context(cafile=self.ca_file)
        self.client = httpx.Client(base_url=self.url, verify=self.trust, timeout=30,
                                   headers={"authorization": f"Bearer {ADMIN_KEY}"})

    def _collect(self) -> None:
        for line in iter(self.proc.stdout.readline, b""):
            self.output += line.decode(errors="replace")

    def _wait_for_banner(self) -> str:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            found = re.search(r"Gantry is running at (\S+)", self.output)
            if found:
                return found.group(1)
            if self.proc.poll() is not None:
                raise RuntimeError(f"gantry server exited with {self.proc.returncode}:\n{self.output}")
            time.sleep(0.1)
        self.proc.kill()
        raise RuntimeError(f"gantry server did not start in time:\n{self.output}")

    def call(self, method: str, path: str, json: dict | None = None) -> httpx.Response:
        return self.client.request(method, path, json=json)

    def job(self, model: str, request_id: str) -> dict:
        return self.call("GET", f"/v1/queue/status?model={model}&request_id={request_id}").json()

    def submit(self, model: str, payload: dict) -> str:
        resp = self.call("POST", "/v1/queue/submit", {"model": model, "payload": payload})
        assert resp.status_code == 200, resp.text
        return resp.json()["request_id"]

    def create_idle_deployment(self, name: str, workdir: Path) -> None:
        """A deployment whose own replica only sleeps, so the test's worker gets every job."""
        workdir.mkdir(parents=True, exist_ok=True)
        body = {"name": name, "image": f"local/{name}", "gpu_type": "none", "min_replicas": 1, "max_replicas": 1,
                "x_gantry_source": {"path": str(workdir), "cmd": "sleep 900"}}
        resp = self.call("POST", "/v1/deployments", body)
        assert resp.status_code == 200, resp.text

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def make_ca_and_cert(d: Path) -> tuple[str, str, str]:
    """A CA and a certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    ca, ca_key, cert, key, csr = (str(d / n) for n in ("ca.pem", "ca.key", "cert.pem", "key.pem", "cert.csr"))
    ext = d / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
                   "authorityKeyIdentifier=keyid,issuer\nsubjectKeyIdentifier=hash\n")
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=pytest files CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout", ca_key, "-out", ca)
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", csr)
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
        "-extfile", str(ext), "-out", cert)
    return ca, cert, key


class HttpsFiles:
    """Serves `files` (path → bytes) over HTTPS on 127.0.0.1 with a certificate from its own CA."""

    def __init__(self, files: dict[str, bytes], cert: str, key: str) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = files.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("content-length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

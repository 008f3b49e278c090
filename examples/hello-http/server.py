"""A plain HTTP worker: no SDK, standard library only.

Routes:
  GET /health          -> {"status": "healthy"}
  GET /hello?name=X    -> {"message": "<GREETING>, X!", "replica": <hostname:port>}
  GET /files/<name>    -> the bytes of <FILES_DIR>/<name> (a mounted volume; default /data)

Listens on $PORT (Gantry's embedded default gives every replica its own), else 8000.
"""

import json
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

PORT = int(os.environ.get("PORT", "8000"))
FILES_DIR = Path(os.environ.get("FILES_DIR", "/data"))
GREETING = os.environ.get("GREETING", "Hello")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/health":
            return self.reply(200, {"status": "healthy"})
        if url.path == "/hello":
            name = parse_qs(url.query).get("name", ["world"])[0]
            return self.reply(200, {"message": f"{GREETING}, {name}!", "replica": f"{socket.gethostname()}:{PORT}"})
        if url.path.startswith("/files/"):
            return self.send_file(url.path[len("/files/"):])
        return self.reply(404, {"error": f"no route {url.path}"})

    def send_file(self, name: str) -> None:
        target = (FILES_DIR / name).resolve()
        if FILES_DIR.resolve() not in target.parents or not target.is_file():
            return self.reply(404, {"error": f"no file {name} in {FILES_DIR}"})
        data = target.read_bytes()
        self.send_response(200)
        self.send_header("content-type", "application/octet-stream")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:
        print(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", flush=True)


if __name__ == "__main__":
    print(f"hello-http listening on port {PORT}", flush=True)
    sys.stdout.flush()
    ThreadingHTTPServer((os.environ.get("HOST", "0.0.0.0"), PORT), Handler).serve_forever()

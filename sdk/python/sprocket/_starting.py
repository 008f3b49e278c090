"""The worker's port while `setup()` and warmup run (Gantry extra).

The vendor's worker binds its port only after setup, so probes meet a refused connection until then
(compat-source A.8). Gantry's binds it first and answers from this small thread until setup returns:
`/health` → 503 `{"status":"unhealthy"}`, `/metrics` → `requests_inflight 0.0`, anything else → 503
`{"error":"Worker is starting"}`. It keeps answering while a synchronous `setup()` holds the event loop.
Then the same listening socket is handed to uvicorn, so no connection is refused in between."""

from __future__ import annotations

import json
import selectors
import socket
import threading

MAX_HEAD = 65536


def _response(status: str, body: bytes, content_type: str, head_only: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + (b"" if head_only else body)


def answer_for(request_line: str) -> bytes:
    parts = request_line.split(" ")
    head_only = parts[0] == "HEAD"
    path = parts[1].split("?")[0] if len(parts) > 1 else ""
    if path == "/health":
        body = json.dumps({"status": "unhealthy"}).encode()
        return _response("503 Service Unavailable", body, "application/json", head_only)
    if path == "/metrics":
        return _response("200 OK", b"requests_inflight 0.0", "text/plain; charset=utf-8", head_only)
    body = json.dumps({"error": "Worker is starting"}).encode()
    return _response("503 Service Unavailable", body, "application/json", head_only)


class StartingResponder:
    def __init__(self, port: int, host: str = "0.0.0.0") -> None:
        self.sock = socket.create_server((host, port), backlog=2048)
        self.sock.setblocking(False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="sprocket-starting", daemon=True)

    def start(self) -> "StartingResponder":
        self._thread.start()
        return self

    def stop(self) -> socket.socket:
        """Stops answering and returns the listening socket (connections waiting in it are uvicorn's)."""
        self._stop.set()
        self._thread.join()
        return self.sock

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                if not selector.select(timeout=0.05) or self._stop.is_set():
                    continue
                try:
                    conn, _ = self.sock.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _answer(conn: socket.socket) -> None:
        with conn:
            conn.setblocking(True)
            conn.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < MAX_HEAD:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                conn.sendall(answer_for(head.split(b"\r\n", 1)[0].decode("latin-1")))
            except OSError:
                pass

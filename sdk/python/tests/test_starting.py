"""What the worker's port answers while setup runs (Gantry extra; sprocket/_starting.py)."""

from __future__ import annotations

from sprocket._starting import answer_for


def test_starting_answers():
    health = answer_for("GET /health HTTP/1.1")
    assert health.startswith(b"HTTP/1.1 503 ") and health.endswith(b'{"status": "unhealthy"}')
    assert b"content-length: 23\r\n" in health
    head = answer_for("HEAD /health HTTP/1.1")
    assert head.endswith(b"\r\n\r\n") and b"content-length: 23\r\n" in head
    assert answer_for("GET /metrics?x=1 HTTP/1.1").endswith(b"\r\n\r\nrequests_inflight 0.0")
    assert answer_for("POST /generate HTTP/1.1").endswith(b'{"error": "Worker is starting"}')
    assert answer_for("garbage").startswith(b"HTTP/1.1 503 ")

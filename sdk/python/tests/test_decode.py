"""Decoding a retrieve answer: a body that cannot be decoded still names its job, found without
recursion; and the reporter thread's retries of a `running` update end as soon as the job ends."""

from __future__ import annotations

import threading
import time

import pytest

from sprocket._decode import Claimed, UndecodableJob, decode_job, request_id_of
from sprocket._progress import JobReporter
from sprocket._status import Outcome


def test_request_id_is_found_at_any_depth_of_the_rest_and_in_any_key_order():
    deep = "[" * 100_000
    assert request_id_of('{"data": {"payload": {"x": %s' % deep) is None
    body = '{"data": {"payload": [%s%s], "request_id": "r\\u00e9\\"1", "x": %s' % ("[" * 1000, "]" * 1000, deep)
    assert request_id_of(body) == 'ré"1'
    tricky = '{"other": {"request_id": "no"}, "data": {"payload": {"request_id": "nested"}, "request_id": "yes",,}}'
    assert request_id_of(tricky) == "yes"
    assert request_id_of('{"data": {"request_id": 7}}') is None
    assert request_id_of("not json at all") is None


def test_decode_job():
    assert decode_job(b'{"data": null}') is None
    assert decode_job(b'{"data": {}}') is None
    assert decode_job(b'{"data": {"request_id": "r1", "payload": {"a": 1}}}') == Claimed("r1", {"a": 1})
    deep = decode_job(b'{"data": {"request_id": "r2", "payload": %s}}' % (b"[" * 5000 + b"]" * 5000))
    assert deep.request_id == "r2" and deep.payload is None
    assert isinstance(deep.error, UndecodableJob) and "RecursionError" in str(deep.error)
    with pytest.raises(ValueError, match="not JSON"):
        decode_job(b"<html>502 Bad Gateway</html>")
    with pytest.raises(ValueError, match="non-object"):
        decode_job(b"[1, 2]")
    with pytest.raises(ValueError, match="without a request_id"):
        decode_job(b'{"data": {"payload": {}}}')


def test_stopping_the_reporter_ends_a_running_update_being_retried_through_an_outage():
    waits: list[float] = []
    retrying = threading.Event()

    def send(info, wait):
        retrying.set()
        while not wait(5.0):  # an outage: every attempt fails, the sender pauses between them
            waits.append(5.0)
        return Outcome.FAILED

    reporter = JobReporter(send=send, heartbeat=True, healthy=lambda: True, heartbeat_interval=0.05)
    reporter.start()
    assert retrying.wait(5)
    started = time.monotonic()
    reporter.stop()
    assert time.monotonic() - started < 2
    assert not reporter.cancelled.is_set()

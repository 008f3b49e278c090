"""Decoding a retrieve answer (compat-source A.3) without letting a bad job stop the queue loop.

Gantry: the vendor's loop dies on a body it cannot decode, although the server has already handed the
job out (it stays `running` for good). Here a body that does not decode (nested deeper than Python's
JSON decoder recurses, or malformed) still names its job: `request_id_of` finds `data.request_id` by
walking the text without recursion, and the job is failed with the reason instead."""

from __future__ import annotations

import json
from dataclasses import dataclass
from json.decoder import scanstring
from typing import Any


class UndecodableJob(ValueError):
    """The job handed out could not be decoded; it is failed with this as `info.error`."""


@dataclass
class Claimed:
    request_id: str
    payload: Any
    error: Exception | None = None  # set when the job could not be decoded: it is failed, not run


def decode_job(raw: bytes) -> Claimed | None:
    """The job in a retrieve body, or None for "no job". Raises ValueError for a body that names no job."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as e:
        request_id = request_id_of(raw.decode("utf-8", errors="replace"))
        if request_id is None:
            raise ValueError(f"retrieve answered a body that is not JSON: {e!r}") from None
        return Claimed(request_id, None, UndecodableJob(f"the job could not be decoded: {type(e).__name__}: {e}"))
    if not isinstance(body, dict):
        raise ValueError(f"retrieve answered a non-object: {type(body).__name__}")
    data = body.get("data")
    if not data:
        return None
    if not isinstance(data, dict) or data.get("request_id") in (None, ""):
        raise ValueError("retrieve handed out a job without a request_id")
    return Claimed(str(data["request_id"]), data.get("payload"))


def request_id_of(text: str) -> str | None:
    """`data.request_id` of a JSON text, if it is a string, found without decoding anything else: one
    pass that keeps, for each open object, the key whose value is being read."""
    frames: list[list[Any]] = []  # per open container: [is_object, key being read]
    expecting_key = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            try:
                value, i = scanstring(text, i + 1)
            except ValueError:
                return None
            if expecting_key:
                frames[-1][1], expecting_key = value, False
            elif _at_request_id(frames):
                return value
            continue
        if c in "{[":
            frames.append([c == "{", None])
            expecting_key = c == "{"
        elif c in "}]" and frames:
            frames.pop()
        elif c == ",":
            expecting_key = bool(frames) and frames[-1][0]
        i += 1
    return None


def _at_request_id(frames: list[list[Any]]) -> bool:
    return len(frames) == 2 and frames[0] == [True, "data"] and frames[1] == [True, "request_id"]

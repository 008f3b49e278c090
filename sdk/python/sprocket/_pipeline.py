"""The job pipeline shared by queue mode and /generate (compat.md §3.4, compat-source A.6)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import pathlib
import urllib.parse
from typing import TYPE_CHECKING, Any

from . import _config
from ._progress import JobCancelled, current_reporter
from ._types import FileOutput, is_async

if TYPE_CHECKING:
    from ._run import Runner

logger = logging.getLogger("sprocket")

INPUTS_DIR = "inputs"


async def download_inputs(runner: "Runner", payload: dict, downloaded: list[pathlib.Path]) -> dict:
    inputs = dict(payload)
    for key, value in payload.items():
        if isinstance(value, str) and value.startswith("https://"):
            name = os.path.basename(urllib.parse.urlparse(value).path)
            dest = pathlib.Path(INPUTS_DIR) / name
            resp = await runner.download_client.get(value)
            resp.raise_for_status()
            downloaded.append(dest)
            runner.processor.process_input_file(resp, dest)
            inputs[key] = f"{INPUTS_DIR}/{name}"
    return inputs


async def call_predict(runner: "Runner", inputs: dict) -> Any:
    sprocket = runner.sprocket
    if is_async(sprocket) or inspect.iscoroutinefunction(sprocket.predict):
        return await _call_async_predict(runner, inputs)
    # Like the original, a synchronous predict runs on the event loop thread; it learns of a
    # cancellation by polling sprocket.cancelled(), and its result is dropped if the job was canceled.
    return sprocket.predict(inputs)


async def _call_async_predict(runner: "Runner", inputs: dict) -> Any:
    """An async predict as its own task, bounded by the async predict timeout, and cancelled
    (asyncio.CancelledError inside predict) when the server cancels the job."""
    limit = runner.config.max_async_predict_time
    task = asyncio.ensure_future(runner.sprocket.predict(inputs))
    reporter = current_reporter()
    if reporter is not None:
        loop = asyncio.get_running_loop()
        reporter.on_cancel(lambda: loop.call_soon_threadsafe(task.cancel))
    try:
        return await asyncio.wait_for(task, limit)
    except asyncio.TimeoutError:
        _config.touch(_config.FATAL_ERROR)
        raise TimeoutError(f"Prediction took longer than {limit}s") from None
    except asyncio.CancelledError:
        if reporter is not None and reporter.cancelled.is_set():
            raise JobCancelled() from None
        raise


async def upload_file(runner: "Runner", request_id: str, path: FileOutput) -> str:
    filename = f"{request_id}-{path.name}"
    try:
        resp = await runner.internal_client.post(runner.config.upload_url, json={"filename": filename})
        resp.raise_for_status()
        url = resp.json()["upload_url"]["url"]
        put = await runner.external_client.put(url, content=pathlib.Path(path).read_bytes())
        put.raise_for_status()
    except Exception as e:
        raise RuntimeError(f"upload-request failed: {e!r}") from e
    return f"{runner.config.api_base}/v1/storage/{filename}"


async def handle_job(runner: "Runner", payload: Any, request_id: str) -> dict:
    runner.busy = True
    downloaded: list[pathlib.Path] = []
    try:
        if not isinstance(payload, dict):
            raise TypeError(f"payload must be a JSON object, got {type(payload).__name__}")
        inputs = await download_inputs(runner, payload, downloaded)
        outputs = await call_predict(runner, inputs)
        reporter = current_reporter()
        if reporter is not None and reporter.cancelled.is_set():
            raise JobCancelled()
        if not isinstance(outputs, dict):
            raise TypeError(f"predict must return a dict, got {type(outputs).__name__}")
        outputs = await runner.processor.finalize(request_id, inputs, outputs)
        for key, value in list(outputs.items()):
            if isinstance(value, FileOutput):
                outputs[key] = await upload_file(runner, request_id, value)
        return outputs
    finally:
        runner.busy = False
        for path in downloaded:
            try:
                path.unlink()
            except OSError:
                pass

"""Public user-facing types: Sprocket, AsyncSprocket, FileOutput, InputOutputProcessor."""

from __future__ import annotations

import pathlib
from typing import Any, ClassVar, Type

import httpx


class FileOutput(pathlib.PosixPath):
    """Marker type: a top-level output value of this type is uploaded after predict
    and replaced by its storage URL."""


class InputOutputProcessor:
    """Hooks around a job: how downloaded inputs are stored, and a last pass over outputs."""

    def process_input_file(self, resp: httpx.Response, dst: pathlib.Path) -> None:
        dst.write_bytes(resp.content)

    async def finalize(self, request_id: str, inputs: dict, outputs: dict) -> dict:
        return outputs


class Sprocket:
    """Synchronous worker: setup() once, predict(args) per job, shutdown() optionally."""

    processor: ClassVar[Type[InputOutputProcessor]] = InputOutputProcessor
    warmup_inputs: ClassVar[list[dict]] = []

    def setup(self) -> None:
        pass

    def predict(self, args: dict) -> dict:
        raise NotImplementedError

    def shutdown(self) -> None:
        pass


class AsyncSprocket:
    """Asynchronous worker: same hooks as Sprocket, as coroutines; predict is bounded by
    TERMINATION_GRACE_PERIOD_SECONDS - 1 seconds."""

    processor: ClassVar[Type[InputOutputProcessor]] = InputOutputProcessor
    warmup_inputs: ClassVar[list[dict]] = []

    async def setup(self) -> None:
        pass

    async def predict(self, args: dict) -> dict:
        raise NotImplementedError

    async def shutdown(self) -> None:
        pass


def is_async(sprocket: Any) -> bool:
    return isinstance(sprocket, AsyncSprocket)

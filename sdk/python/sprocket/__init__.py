"""Gantry's `sprocket`: a drop-in replacement for the Sprocket 0.1.4 worker SDK."""

from ._progress import JobCancelled, cancelled, emit, emit_info
from ._run import Runner, run
from ._types import AsyncSprocket, FileOutput, InputOutputProcessor, Sprocket

__gantry__ = True

__all__ = [
    "Sprocket",
    "AsyncSprocket",
    "FileOutput",
    "InputOutputProcessor",
    "Runner",
    "run",
    "emit_info",
    "emit",
    "cancelled",
    "JobCancelled",
]

"""A torchrun child (env `LOCAL_RANK` set): runs the user's Sprocket for one rank, taking jobs from the
parent over `SPROCKET_SOCKET` (compat-source A.13; wire format in `_torchrun`)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import sys
from multiprocessing.connection import Client, Connection
from typing import Any

from . import _config
from ._progress import set_info_forwarder
from ._torchrun import ERROR, INFO, OUTPUT, PREDICT_DONE, SETUP_DONE, SETUP_ERROR, SETUP_START, ChildMsg

logger = logging.getLogger("sprocket")


def _picklable(error: BaseException) -> BaseException:
    """The error itself when it survives pickling, else a RuntimeError carrying its repr."""
    import pickle

    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(repr(error))


class _Child:
    def __init__(self, sprocket: Any, conn: Connection, rank: int) -> None:
        self.sprocket = sprocket
        self.conn = conn
        self.rank = rank
        self.loop = asyncio.new_event_loop()

    def call(self, value: Any) -> Any:
        return self.loop.run_until_complete(value) if inspect.isawaitable(value) else value

    def send(self, type_: str, arg: Any = None) -> None:
        self.conn.send(ChildMsg(self.rank, type_, arg))

    def setup(self) -> bool:
        self.send(SETUP_START)
        try:
            self.call(self.sprocket.setup())
        except Exception as e:
            logger.exception("rank %d: setup failed", self.rank)
            self.send(SETUP_ERROR, _picklable(e))
            return False
        self.send(SETUP_DONE)
        return True

    def serve(self) -> None:
        while not _config.exists(_config.SHUTDOWN_REQUESTED):
            try:
                args = self.conn.recv()
            except (EOFError, OSError):
                return  # the parent is gone or shutting down
            try:
                self.send(OUTPUT, self.call(self.sprocket.predict(args)))
            except Exception as e:
                logger.exception("rank %d: predict failed", self.rank)
                self.send(ERROR, _picklable(e))
            self.send(PREDICT_DONE)


def run_child(sprocket: Any) -> None:
    path = os.environ.get("SPROCKET_SOCKET")
    if not path:
        print("Please don't start sprocket processes in torchrun directly", flush=True)
        sys.exit(1)
    logging.basicConfig(level=logging.INFO, format="{levelname} {module}:{lineno}: {message}", style="{")
    rank = int(os.environ.get("RANK") or os.environ.get("LOCAL_RANK") or "0")
    child = _Child(sprocket, Client(path), rank)
    set_info_forwarder(lambda info: child.send(INFO, info))
    try:
        if not child.setup():
            sys.exit(1)
        child.serve()
    finally:
        child.conn.close()
    child.call(_maybe_shutdown(sprocket))


async def _maybe_shutdown(sprocket: Any) -> None:
    shutdown = getattr(sprocket, "shutdown", None)
    if shutdown is not None:
        result = shutdown()
        if inspect.isawaitable(result):
            await result

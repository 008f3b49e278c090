"""Torchrun multi-process mode (`use_torchrun=True`; compat.md §3.7, compat-source A.13).

The parent (`TorchRunSprocket`, an AsyncSprocket run by the usual Runner) owns the HTTP server, the
queue loop, downloads, finalize and uploads. It listens on the unix socket `/tmp/sprocket-<pid>`
(exported as `SPROCKET_SOCKET`) and starts `torchrun --standalone --nnodes=1
--nproc-per-node=<WORLD_SIZE> <argv…>`; torchrun starts one child per rank with `LOCAL_RANK`, `RANK`,
`WORLD_SIZE`, `MASTER_ADDR` and `MASTER_PORT` set, and each child runs the user's Sprocket (`run_child`).

Wire format, both ways, as `multiprocessing.connection` frames it (children use its `Client`): a 4-byte
big-endian signed length (or -1 then an 8-byte unsigned length for 2^31 bytes and more), then a pickle.
Children send `ChildMsg(rank, type, arg)`; the parent sends the job's inputs dict to every rank.
Gantry adds the type `info`: `emit_info()` in a rank (rank 0, as the docs advise) reaches the parent,
which reports it for the running job.

The SDK itself needs no torch: it only relays jobs between the parent and the ranks. Ranks talk to each
other through whatever the user's code sets up from the torchrun variables (usually
`torch.distributed.init_process_group`, which reads MASTER_ADDR/MASTER_PORT/RANK/WORLD_SIZE)."""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import struct
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from . import _config
from ._progress import emit_info
from ._types import AsyncSprocket, InputOutputProcessor

logger = logging.getLogger("sprocket")

SETUP_START, SETUP_ERROR, SETUP_DONE = "setup_start", "setup_error", "setup_done"
ERROR, OUTPUT, PREDICT_DONE = "error", "output", "predict_done"
INFO = "info"  # Gantry: emit_info() called in a rank, reported by the parent for the running job
DISCONNECTED = "disconnected"  # parent-side only: a rank's connection ended
CRASHED = "Worker crashed for this input!"


@dataclass
class ChildMsg:
    rank: int
    type: str
    arg: Any = None


def encode(obj: Any) -> bytes:
    data = pickle.dumps(obj)
    if len(data) > 0x7FFFFFFF:
        return struct.pack("!i", -1) + struct.pack("!Q", len(data)) + data
    return struct.pack("!i", len(data)) + data


async def read_frame(reader: asyncio.StreamReader) -> Any:
    (size,) = struct.unpack("!i", await reader.readexactly(4))
    if size == -1:
        (size,) = struct.unpack("!Q", await reader.readexactly(8))
    return pickle.loads(await reader.readexactly(size))


class TorchRunSprocket(AsyncSprocket):
    """The parent: relays each job to every rank and answers with rank 0's output (the last truthy one)."""

    def __init__(self, user_sprocket: Any) -> None:
        cls = type(user_sprocket)
        self.processor = getattr(cls, "processor", InputOutputProcessor)
        self.warmup_inputs = list(getattr(cls, "warmup_inputs", None) or [])
        self.world_size = int(os.environ.get("WORLD_SIZE") or "1")
        self.socket_path = f"/tmp/sprocket-{os.getpid()}"
        self.messages: asyncio.Queue[ChildMsg] = asyncio.Queue()
        self.writers: list[asyncio.StreamWriter] = []
        self.proc: subprocess.Popen | None = None
        self.server: asyncio.AbstractServer | None = None
        self.stopping = False
        self.owing: set[int] = set()  # ranks that have not finished the job last sent to them

    # -- lifecycle ---------------------------------------------------------------------------
    async def setup(self) -> None:
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass
        self.server = await asyncio.start_unix_server(self._on_connect, path=self.socket_path)
        os.environ["SPROCKET_SOCKET"] = self.socket_path
        self.proc = self._spawn()
        started: set[int] = set()
        done: set[int] = set()
        while len(done) < self.world_size or len(started) < self.world_size:
            msg = await self._next()
            if msg.type == SETUP_START:
                started.add(msg.rank)
            elif msg.type == SETUP_DONE:
                done.add(msg.rank)
            elif msg.type == SETUP_ERROR:
                raise msg.arg
            else:
                raise ValueError(f"invalid msg {msg!r}")

    def _spawn(self) -> subprocess.Popen:
        argv = ["torchrun", "--standalone", "--nnodes=1", f"--nproc-per-node={self.world_size}", *sys.argv]
        logger.info("starting %s", " ".join(argv))
        try:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise RuntimeError("use_torchrun=True needs `torchrun` on PATH (it comes with torch)") from None

    async def shutdown(self) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            await asyncio.to_thread(self.proc.wait)
        if self.server is not None:
            self.server.close()
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass

    def exited(self) -> bool:
        """Whether torchrun has ended (the /health check turns unhealthy and fatal then)."""
        return self.proc is not None and self.proc.poll() is not None

    # -- jobs --------------------------------------------------------------------------------
    async def predict(self, args: dict) -> dict:
        await self._drain_abandoned()
        frame = encode(args)
        for writer in self.writers:
            writer.write(frame)
        await asyncio.gather(*(w.drain() for w in self.writers))
        self.owing = set(range(self.world_size))
        result, error = None, None
        while self.owing:
            msg = await self._next()
            if msg.type == OUTPUT and msg.arg:
                result = msg.arg
            elif msg.type == ERROR:
                error = msg.arg
            elif msg.type == INFO:
                emit_info(msg.arg)
            elif msg.type == PREDICT_DONE:
                self.owing.discard(msg.rank)
        if error is not None:
            raise error
        if result is None:
            raise Exception("all ranks returned None")
        return result

    async def _drain_abandoned(self) -> None:
        """A job whose predict was cancelled (canceled by the server) left ranks still working on it:
        their late messages belong to that job, not the next one, so they are read and dropped first."""
        while self.owing:
            msg = await self._next()
            if msg.type == PREDICT_DONE:
                self.owing.discard(msg.rank)

    # -- messages ----------------------------------------------------------------------------
    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        rank = -1
        try:
            while True:
                msg = await read_frame(reader)
                rank = msg.rank
                await self.messages.put(msg)
        except (asyncio.IncompleteReadError, ConnectionError):
            await self.messages.put(ChildMsg(rank, DISCONNECTED))
        finally:
            if writer in self.writers:
                self.writers.remove(writer)

    async def _next(self) -> ChildMsg:
        """The next message from any rank; a disconnect or torchrun's exit (outside shutdown) is fatal."""
        while True:
            try:
                msg = await asyncio.wait_for(self.messages.get(), 0.5)
            except asyncio.TimeoutError:
                if self.exited() and not self.stopping:
                    _config.touch(_config.FATAL_ERROR)
                    raise ConnectionResetError(f"torchrun exited with status {self.proc.returncode}") from None
                continue
            if msg.type != DISCONNECTED:
                return msg
            if not self.stopping:
                _config.touch(_config.FATAL_ERROR)
                raise ConnectionResetError(CRASHED)

"""A stand-in for `torchrun` (torch is too large for CI): parses the flags Sprocket passes
(`--standalone --nnodes=1 --nproc-per-node=N script args…`) and starts N ranks of
`<python> script args…` the way torchrun does, with LOCAL_RANK, RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,
MASTER_ADDR and MASTER_PORT in their environment. SIGTERM is forwarded to the ranks; the exit status is
the first non-zero status of a rank, else 0."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys


def main() -> int:
    parser = argparse.ArgumentParser(prog="torchrun")
    parser.add_argument("--standalone", action="store_true")
    parser.add_argument("--nnodes", default="1")
    parser.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1)
    parser.add_argument("script")
    parser.add_argument("script_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        master_port = s.getsockname()[1]
    procs = []
    for rank in range(args.nproc_per_node):
        env = dict(os.environ)
        env.update(
            LOCAL_RANK=str(rank), RANK=str(rank), WORLD_SIZE=str(args.nproc_per_node),
            LOCAL_WORLD_SIZE=str(args.nproc_per_node), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(master_port),
        )
        procs.append(subprocess.Popen([sys.executable, "-u", args.script, *args.script_args], env=env))

    def forward(sig, frame):
        for p in procs:
            if p.poll() is None:
                p.send_signal(sig)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [p.wait() for p in procs]
    return next((c for c in codes if c != 0), 0)


if __name__ == "__main__":
    sys.exit(main())

"""A queue worker that uses most of what a deployment offers:

- a file from a volume mounted read-only at $DATA_DIR (default /data),
- a secret as an environment variable (KITCHEN_TOKEN; only a digest of it ever leaves the process),
- a plain environment variable (KITCHEN_MODE),
- progress with emit_info, one step at a time,
- a FileOutput (a report uploaded to Gantry's storage, returned as its URL),
- a slow mode (`"slow": seconds` spread over the steps), to watch progress and try SIGTERM or cancel.

Payload: {"file": "recipe.txt", "steps": 3, "slow": 0}. A synchronous predict polls
sprocket.cancelled() between steps, so a job canceled while it runs stops early."""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import tempfile
import time

import sprocket


class KitchenSink(sprocket.Sprocket):
    def setup(self) -> None:
        self.data_dir = pathlib.Path(os.environ.get("DATA_DIR", "/data"))
        self.mode = os.environ.get("KITCHEN_MODE", "plain")
        token = os.environ.get("KITCHEN_TOKEN", "")
        self.token_digest = hashlib.sha256(token.encode()).hexdigest()[:16] if token else None
        # Reports are written outside the project directory (which may be read-only, or a checkout).
        self.out_dir = pathlib.Path(tempfile.mkdtemp(prefix="kitchen-sink-"))

    def predict(self, args: dict) -> dict:
        name = pathlib.PurePosixPath(str(args.get("file", "recipe.txt"))).name  # no escaping the volume
        text = (self.data_dir / name).read_text()
        steps = max(1, int(args.get("steps", 3)))
        pause = float(args.get("slow", 0)) / steps
        lines = []
        for step, line in enumerate(self._spread(text.splitlines(), steps), start=1):
            if sprocket.cancelled():
                return {"cancelled_at_step": step}
            lines.extend(line)
            sprocket.emit_info({"progress": round(step / steps, 3), "step": step, "of": steps})
            time.sleep(pause)
        report = sprocket.FileOutput(self.out_dir / f"report-{name}")
        report.write_text(f"mode={self.mode}\n" + "\n".join(f"{i + 1}. {line.upper()}" for i, line in enumerate(lines)) + "\n")
        return {"file": name, "lines": len(lines), "mode": self.mode, "token_sha256": self.token_digest, "report": report}

    def shutdown(self) -> None:
        shutil.rmtree(self.out_dir, ignore_errors=True)

    @staticmethod
    def _spread(lines: list[str], steps: int) -> list[list[str]]:
        """`lines` cut into `steps` consecutive parts (some maybe empty)."""
        size = -(-len(lines) // steps) if lines else 0
        return [lines[i * size:(i + 1) * size] for i in range(steps)]


if __name__ == "__main__":
    sprocket.run(KitchenSink())

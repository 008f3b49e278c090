"""Where the shutdown marker files go: the working directory, or SPROCKET_MARKER_DIR when Gantry's local
scheduler sets it (its replicas share one working directory)."""

from sprocket import _config


def test_markers_default_to_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("SPROCKET_MARKER_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert _config.marker(_config.SHUTDOWN_REQUESTED) == tmp_path / ".shutdown_requested"


def test_markers_go_to_the_replica_directory_when_set(monkeypatch, tmp_path):
    monkeypatch.setenv("SPROCKET_MARKER_DIR", str(tmp_path / "replica-1"))
    (tmp_path / "replica-1").mkdir()
    _config.touch(_config.SHUTDOWN_REQUESTED)
    assert _config.exists(_config.SHUTDOWN_REQUESTED)
    monkeypatch.setenv("SPROCKET_MARKER_DIR", str(tmp_path / "replica-2"))
    assert not _config.exists(_config.SHUTDOWN_REQUESTED)

"""The server process's own settings (os1.server.app)."""

from __future__ import annotations

import gc
import logging

import pytest

from os1.server import app


def test_a_slow_garbage_collection_is_logged(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full collection stalls every reply in flight: the log says when one did."""
    monkeypatch.setattr(app, "SLOW_COLLECTION_S", 0.0)  # every collection counts as slow
    gc.callbacks.append(app._log_slow_collections)
    try:
        with caplog.at_level(logging.WARNING, logger=app.logger.name):
            gc.collect()
    finally:
        gc.callbacks.remove(app._log_slow_collections)
    assert any("garbage collection of generation 2 took" in r.message for r in caplog.records)

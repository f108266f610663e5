"""Errors with a short code: the code becomes a metric label (ari_agent_errors_total) and a DB column."""

from __future__ import annotations


class StageError(RuntimeError):
    """A stage of a call failed or stalled past its deadline (e.g. `asr-timeout`, `tts-timeout`)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code

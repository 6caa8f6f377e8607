"""Captures what the updater writes to stdout while the soak runs: its JSON logs and EMF metrics.

In Lambda both go to CloudWatch through stdout. Powertools' Logger keeps the stream it was built
with (stdout at import time), EMF metrics are printed; so the capture swaps `sys.stdout` and points
every logging StreamHandler that wrote to the old stdout at the capture, then puts both back.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Self, TextIO


class _LockedBuffer(io.TextIOBase):
    def __init__(self) -> None:
        self._parts: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._parts.append(text)
        return len(text)

    def text(self) -> str:
        with self._lock:
            return "".join(self._parts)


class HandlerOutputCapture:
    def __init__(self) -> None:
        self._buffer = _LockedBuffer()
        self._previous_stdout: TextIO | None = None
        self._redirected: list[tuple[logging.StreamHandler[TextIO], TextIO]] = []

    def start(self) -> Self:
        self._previous_stdout = sys.stdout
        for handler in _stream_handlers():
            if handler.stream is sys.stdout or handler.stream is sys.__stdout__:
                self._redirected.append((handler, handler.stream))
                handler.setStream(self._buffer)  # type: ignore[arg-type]
        sys.stdout = self._buffer
        return self

    def stop(self) -> None:
        for handler, stream in self._redirected:
            handler.setStream(stream)
        self._redirected = []
        if self._previous_stdout is not None:
            sys.stdout = self._previous_stdout
            self._previous_stdout = None

    def text(self) -> str:
        return self._buffer.text()

    def write_to(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text(), encoding="utf-8")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _stream_handlers() -> list[logging.StreamHandler[TextIO]]:
    loggers = [logging.getLogger()] + [
        item for item in logging.Logger.manager.loggerDict.values() if isinstance(item, logging.Logger)
    ]
    seen: dict[int, logging.StreamHandler[TextIO]] = {}
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                seen[id(handler)] = handler
    return list(seen.values())

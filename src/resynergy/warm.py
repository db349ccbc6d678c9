"""Work made ahead in a thread while HiGHS solves on another core (HiGHS releases the
interpreter while it runs), so that it is ready when it is asked for."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Warm(Generic[T]):
    """Work whose result the caller would otherwise make itself, made in a thread meanwhile.

    Only an optimisation: :meth:`result` gives None when the work was not started (one core:
    the thread would only compete with the caller), or failed — the caller then makes it
    itself, where any error is raised as usual. The value is the same either way."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._thread: threading.Thread | None = None
        self._value: T | None = None

    def start(self) -> None:
        """Start the work (once; later calls do nothing); not on a single core."""
        if self._thread is None and cores() > 1:
            self._thread = threading.Thread(target=self._run, name="resynergy-warm", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._make()
        except Exception:  # noqa: BLE001 - made again by the caller, which sees the error
            self._value = None

    def result(self) -> T | None:
        """The value (waiting for the thread), or None when not started or failed."""
        if self._thread is not None:
            self._thread.join()
        return self._value

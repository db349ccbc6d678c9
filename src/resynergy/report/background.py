"""One output written in a forked child process while the parent writes the others.

``resynergy plan`` writes plan.xlsx (XlsxWriter, ≈ 3 s on the built-in plan, pure Python) and
report.html (figures and tables, ≈ 3 s) one after the other; on a machine with two or more
cores, :func:`start` writes one of them in a child made with ``fork`` (it inherits the plan in
memory: nothing is pickled but the outcome) while the parent goes on. Where ``fork`` is not
available (Windows, or a daemonic process such as a pool worker), or one core only, the work
runs in the parent when :meth:`Job.wait` is called: the same function, the same file.

Guarantees (tests/test_outputs_parallel.py):

- the child writes to a temporary name beside ``path`` and renames it to ``path`` only when the
  writer returned, so no half-written file is ever at ``path``;
- an exception in the child is raised again in the parent by :meth:`Job.wait`, as the same type
  with the same message when it can be pickled (else :class:`BackgroundError` naming it), with
  the child's traceback attached as its cause; a child that dies without a word (killed, out of
  memory) raises :class:`BackgroundError` with its exit code;
- :meth:`Job.cancel` (the parent failed first) stops the child and waits for it, so nothing
  writes into a folder the parent is removing.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from resynergy.warm import cores


class BackgroundError(RuntimeError):
    """A background write failed in a way that cannot be raised again as it was."""


class RemoteTraceback(Exception):
    """The child's traceback, attached as the cause of the exception raised in the parent."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


def can_fork() -> bool:
    """Whether :func:`start` runs work in a forked child: ``fork`` exists (not on Windows), more
    than one core is usable, and this process may have children (not daemonic)."""
    if "fork" not in mp.get_all_start_methods() or sys.platform == "darwin":
        return False  # macOS: fork after system frameworks loaded is unsafe
    return cores() > 1 and not mp.current_process().daemon


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.part")


def _write(write: Callable[[Path], Any], path: Path) -> None:
    """``write(temporary)``, then the temporary file renamed to ``path``; the temporary file is
    removed when the writer fails."""
    tmp = _partial(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _child(write: Callable[[Path], Any], path: Path, conn: Any) -> None:
    try:
        _write(write, path)
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        tb = traceback.format_exc()
        try:
            blob: bytes | None = pickle.dumps(exc)
            pickle.loads(blob)  # an exception that pickles but cannot be rebuilt is sent as text
        except Exception:  # noqa: BLE001
            blob = None
        conn.send(("error", blob, type(exc).__name__, str(exc), tb))
        conn.close()
        os._exit(1)
    conn.send(("ok",))
    conn.close()


class Job:
    """A write started by :func:`start`; :meth:`wait` for it (raises its exception)."""

    def __init__(self, write: Callable[[Path], Any], path: Path, parallel: bool):
        self.write, self.path = write, path
        self.proc: Any = None
        self.conn: Any = None
        if parallel:
            ctx = mp.get_context("fork")
            recv, send = ctx.Pipe(duplex=False)
            self.proc = ctx.Process(target=_child, args=(write, path, send), daemon=True,
                                    name=f"resynergy-write-{path.name}")
            self.proc.start()
            send.close()  # the child holds the only writing end: recv sees EOF if it dies
            self.conn = recv

    @property
    def forked(self) -> bool:
        return self.proc is not None

    def wait(self) -> Path:
        """The written path; the writer's exception (or :class:`BackgroundError`) otherwise."""
        if self.proc is None:
            _write(self.write, self.path)
            return self.path
        try:
            msg = self.conn.recv()
        except EOFError:
            msg = None
        finally:
            self.conn.close()
        self.proc.join()
        code, self.proc = self.proc.exitcode, None
        if msg is not None and msg[0] == "ok" and code == 0:
            return self.path
        if msg is None:
            _partial(self.path).unlink(missing_ok=True)
            raise BackgroundError(f"writing {self.path.name}: the worker process ended "
                                  f"without finishing (exit code {code})")
        _, blob, name, text, tb = msg
        exc: BaseException
        try:
            exc = pickle.loads(blob) if blob is not None else BackgroundError(f"{name}: {text}")
        except Exception:  # noqa: BLE001
            exc = BackgroundError(f"{name}: {text}")
        raise exc from RemoteTraceback(tb)

    def cancel(self) -> None:
        """Stop the child (if any) and wait for it; its partial file is removed."""
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.terminate()
            self.proc.join()
            self.proc = None
            self.conn.close()
            _partial(self.path).unlink(missing_ok=True)


def start(write: Callable[[Path], Any], path: Path, parallel: bool | None = None) -> Job:
    """Write ``path`` with ``write(temporary path)``: in a forked child when ``parallel`` (by
    default: when :func:`can_fork`), else in this process at :meth:`Job.wait`."""
    return Job(write, path, can_fork() if parallel is None else parallel)

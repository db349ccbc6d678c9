"""Run and import states are spelled once, in :mod:`resynergy.states` (#16 item 3): the run
queue, the workers and the pages compare and set them through RunState / ImportState, never
through bare strings; the store keeps the very same strings (StrEnum), so nothing stored moves."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from resynergy.states import ACTIVE_IMPORT, ACTIVE_RUN, ImportState, RunState

SRC = Path(__file__).resolve().parents[1] / "src" / "resynergy"
STATES = {s.value for s in RunState} | {s.value for s in ImportState}
MODULES = ["services/runs.py", "services/worker.py", "services/loads.py", "web/pages/runs.py",
           "web/pages/dashboard.py", "web/api/runs.py", "web/api/imports.py", "web/api/public.py"]
TEMPLATES = ["run.html", "runs.html", "load.html", "import.html", "dashboard.html"]


def state_literals(source: str) -> list[str]:
    """Bare state strings compared with, or written to, something called ``state``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            about_state = any(isinstance(s, ast.Attribute) and s.attr == "state" or
                              isinstance(s, ast.Name) and s.id in ("state", "target") for s in sides)
            consts = [c for s in sides for c in ([s] if not isinstance(s, ast.Tuple | ast.List) else s.elts)
                      if isinstance(c, ast.Constant) and c.value in STATES]
            if about_state and consts:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.keyword) and node.arg == "state":
            if isinstance(node.value, ast.Constant) and node.value.value in STATES:
                found.append(f"line {node.value.lineno}: state={node.value.value!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "in_":
            for arg in node.args:
                if isinstance(arg, ast.Tuple) and any(isinstance(e, ast.Constant) and e.value in STATES
                                                      for e in arg.elts):
                    found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_check_finds_a_bare_state():
    bad = 'run.state == "succeeded"\nx = dict(state="failed")\nq.where(R.state.in_(("queued", "running")))\n'
    assert len(state_literals(bad)) == 3
    assert state_literals("run.state == RunState.SUCCEEDED\nx = dict(state=ImportState.FAILED)\n") == []


def test_no_bare_run_or_import_state_in_the_queue_workers_and_pages():
    offences = {m: hits for m in MODULES if (hits := state_literals((SRC / m).read_text(encoding="utf-8")))}
    assert offences == {}
    pattern = re.compile(r"\.state\s*(?:==|!=|in)\s*\(?\s*'(?:" + "|".join(sorted(STATES)) + ")'")
    for name in TEMPLATES:
        text = (SRC / "web" / "templates" / name).read_text(encoding="utf-8")
        assert not pattern.findall(text), name


def test_the_enums_keep_the_stored_strings():
    assert [s.value for s in ImportState] == ["queued", "running", "succeeded", "failed"]
    assert ACTIVE_IMPORT == ("queued", "running") and ACTIVE_RUN == ("queued", "running", "cancelling")
    from resynergy.store.models import ImportRecord

    column = ImportRecord.__table__.c.state
    assert column.default.arg == ImportState.SUCCEEDED and column.server_default.arg == "succeeded"

"""Each command imports only what it uses (issue 11, goal 1).

Deterministic, not timed: a fresh interpreter runs the command and reports the modules it
loaded. ``--help`` must load no numerical, solver, database or web package (it is compared
with ``python -c "import typer, rich"``); ``plan`` must load no database or web package; and
plotly only once the report is written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resynergy import synth

PLATFORM = {"sqlalchemy", "alembic", "fastapi", "uvicorn", "starlette", "psycopg"}
NUMERICAL = {"numpy", "pandas", "pyarrow", "xarray", "linopy", "highspy", "scipy", "plotly",
             "openpyxl", "xlsxwriter", "dask"}

RUN = """
import json, sys
from resynergy.cli.main import app
code = 0
try:
    app(sys.argv[2:], prog_name="resynergy")
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as fh:
    json.dump({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules}),
               "submodules": sorted(sys.modules)}, fh)
"""


def loaded(tmp_path: Path, *args: str) -> dict:
    """Exit code and the top-level packages a fresh ``resynergy ARGS…`` process imported."""
    script, report = tmp_path / "run.py", tmp_path / "modules.json"
    script.write_text(RUN, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1] / "src"), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([sys.executable, str(script), str(report), *args], capture_output=True,
                         text=True, env=env, timeout=600)
    assert report.exists(), res.stderr[-3000:]
    return json.loads(report.read_text(encoding="utf-8"))


@pytest.mark.parametrize("args", [["--help"], ["plan", "--help"], ["data", "--help"],
                                  ["data", "info", "--help"], ["serve", "--help"],
                                  ["user", "add", "--help"], ["monitor", "--help"]])
def test_help_imports_neither_numerics_nor_the_platform(tmp_path, args):
    run = loaded(tmp_path, *args)
    assert run["code"] == 0
    assert set(run["modules"]) & (PLATFORM | NUMERICAL) == set()
    # the help is click's plain text: rich's console (and markdown) are not needed for it
    assert "rich.console" not in run["submodules"]


def test_plan_imports_no_database_or_web_package(tmp_path):
    scenario = synth.write(12, 0, tmp_path / "scenario")
    run = loaded(tmp_path, "plan", str(scenario), "--quiet", "--out", str(tmp_path / "out"))
    assert run["code"] == 0
    assert (tmp_path / "out" / "report.html").exists()
    assert set(run["modules"]) & PLATFORM == set()
    assert "openpyxl" not in run["modules"]  # plan.xlsx is written with XlsxWriter
    assert {"linopy", "highspy", "xlsxwriter", "plotly"} <= set(run["modules"])
    assert "dask.array" not in run["submodules"]  # xarray's dask probe is spared (planner.model)


def test_xarray_still_knows_dask_arrays_when_dask_is_loaded_first():
    """The planner tells xarray that dask is absent only while it is: a process that imported
    dask.array first (a Dask worker) keeps xarray's dask support."""
    code = ("import dask.array as da, xarray as xr, resynergy.planner.model; "
            "print(xr.DataArray(da.ones(4, chunks=2)).chunks)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")})
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "((2, 2),)"


def test_plan_loads_the_solver_and_plotly_only_when_it_gets_that_far(tmp_path):
    run = loaded(tmp_path, "plan", str(tmp_path / "no-such-scenario"), "--quiet")
    assert run["code"] != 0
    assert set(run["modules"]) & (PLATFORM | {"linopy", "highspy", "plotly", "xlsxwriter"}) == set()


def test_the_roles_named_in_help_are_the_stores():
    from resynergy.store.models import ROLES
    from resynergy.store.roles import ROLES as PLAIN

    assert ROLES is PLAIN

"""The example notebooks (docs/notebooks, issue 17 item 3) run green against the built-in data.

Each notebook is executed in a fresh kernel of this very interpreter (a ``python3`` kernel spec
written for the test and found first through ``JUPYTER_PATH``, so a machine's own Jupyter set-up
cannot swap the interpreter), in a temporary folder. A cell that raises fails the test; each
notebook ends with a cell of checks computed independently of what it shows (files against
frames, a bound from the optimality conditions, statuses against ``TargetStatus``) that prints
``checks passed`` last. Timeouts are generous: nothing here depends on the machine's speed.
"""

from __future__ import annotations

import ast
import os
import platform
import re
from pathlib import Path

import nbformat
import pytest

import resynergy

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))
SRC = Path(resynergy.__file__).resolve().parents[1]  # the package the tests import


def code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_the_three_examples_are_there():
    stems = [p.stem for p in NOTEBOOKS]
    assert stems == ["01-plan-the-region", "02-carbon-price-sweep", "03-monitor-actual-flows"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs_and_valid(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_only_the_public_api_is_used(path):
    """The notebooks import the package only as ``import resynergy as rs`` and use only names
    of ``resynergy.__all__`` — what the documentation promises is enough."""
    used: set[str] = set()
    for cell in code_cells(path):
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("resynergy"), ast.unparse(node)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("resynergy"):
                        assert (alias.name, alias.asname) == ("resynergy", "rs"), ast.unparse(node)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == "rs":
                used.add(node.attr)
    assert used and used <= set(resynergy.__all__), used - set(resynergy.__all__)


@pytest.fixture(scope="module")
def jupyter_home(tmp_path_factory) -> Path:
    """A ``python3`` kernel spec that runs this interpreter (ipykernel writes ``sys.executable``
    into it), and a private IPython profile folder."""
    from ipykernel.kernelspec import write_kernel_spec

    home = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(home / "kernels" / "python3")
    return home


@pytest.mark.slow  # a plan of the built-in region per notebook; the sweep starts a Dask cluster
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_its_checks_pass(path, jupyter_home, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_home))
    monkeypatch.setenv("IPYTHONDIR", str(jupyter_home / "ipython"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=3600, startup_timeout=600,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, when a cell raises
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    printed = "".join(o.get("text", "") for o in last.outputs if o.output_type == "stream")
    assert re.search(r"checks passed\s*$", printed), printed
    # the kernel ran this interpreter's Python (the kernel reports its version on start-up)
    assert nb.metadata["language_info"]["version"] == platform.python_version()

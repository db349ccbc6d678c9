"""The layers hold by themselves (issue 16, item 1): the import contract in pyproject.toml
(import-linter) keeps the code's layers, catches an upward import — a function-level one too —
and the README's drawing names the same layers as the contract."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
CONFIG = ROOT / "pyproject.toml"
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def contracts() -> dict[str, dict]:
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {c["id"]: c for c in config["contracts"]}


def layers() -> list[tuple[set[str], bool]]:
    """The layers contract, top first: each layer's package names (without ``resynergy.`` and
    the parentheses of optional ones) and whether its packages must stay apart (``|``)."""
    out = []
    for layer in contracts()["layers"]["layers"]:
        names = {n.strip().strip("()").removeprefix("resynergy.") for n in re.split(r"[|:]", layer)}
        out.append((names, "|" in layer))
    return out


def lint(src: Path) -> subprocess.CompletedProcess[str]:
    """import-linter with the project's contracts on the package under ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache", str(CONFIG)], cwd=src.parent,
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_code_keeps_its_layers():
    res = lint(SRC)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    for c in contracts().values():
        assert f"{c['name']} KEPT" in out, out


def copy_of_the_package(tmp_path: Path) -> Path:
    """The package's Python files under ``tmp_path/src`` (data files are not needed)."""
    shutil.copytree(SRC / "resynergy", tmp_path / "src" / "resynergy",
                    ignore=lambda d, names: [n for n in names if n == "__pycache__"
                                             or (Path(d, n).is_file() and not n.endswith(".py"))])
    return tmp_path / "src"


UPWARD = {  # (module, code appended to it, contract broken, what the report names)
    "lazy core → store": ("scenario/io.py", "\n\ndef _upward():\n    from resynergy.store import models\n"
                          "    return models\n", "layers", "resynergy.scenario.io -> resynergy.store.models"),
    "core → web": ("planner/greedy.py", "\nimport resynergy.web.i18n  # noqa\n", "layers",
                   "resynergy.planner.greedy -> resynergy.web.i18n"),
    "web → store": ("web/api/public.py", "\nfrom resynergy.store import db  # noqa\n", "no-store-above-services",
                    "resynergy.web.api.public -> resynergy.store.db"),
}


@pytest.mark.parametrize("case", UPWARD)
def test_the_contract_breaks_on_an_upward_import(tmp_path, case):
    module, code, broken, chain = UPWARD[case]
    src = copy_of_the_package(tmp_path)
    assert lint(src).returncode == 0  # the copy itself keeps the contract
    with (src / "resynergy" / module).open("a", encoding="utf-8") as fh:
        fh.write(code)
    res = lint(src)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert f"{contracts()[broken]['name']} BROKEN" in out, out
    assert chain in out, out
    kept = [c["name"] for cid, c in contracts().items() if cid != broken]
    assert all(f"{name} KEPT" in out for name in kept), out


def test_every_module_has_a_layer_and_every_package_is_seen():
    """A module outside every layer is checked by no rule, and the linter skips a folder without
    ``__init__.py`` silently (web/api was one): both fail here. A new top-level package goes
    into the contract (pyproject.toml) and the README's drawing."""
    placed = set().union(*(names for names, _ in layers()))
    top = {p.stem if p.is_file() else p.name for p in (SRC / "resynergy").iterdir()
           if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.name not in ("__init__.py", "__main__.py")}
    assert top - placed == set(), "put these in a layer of [tool.importlinter] in pyproject.toml"
    skipped = [str(d.relative_to(SRC)) for d in (SRC / "resynergy").rglob("*")
               if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))
               and not (d / "__init__.py").exists() and "migrations" not in d.parts]
    assert skipped == [], "add an __init__.py (import-linter does not see these)"


def drawing() -> list[tuple[set[str], bool]]:
    """The README's layer drawing ("How it is built"), top first, in the shape of ``layers()``:
    layers separated by a line holding only an arrow, descriptions in parentheses left out."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## How it is built", 1)[1].split("```", 2)[1]
    out = []
    for part in re.split(r"\n\s*↓\s*\n", block.strip()):
        text = re.sub(r"\([^()]*\)", "", part)
        names = {n.strip() for n in re.split(r"[|:]", text) if n.strip()}
        out.append((names, "|" in text))
    return out


def test_the_readme_draws_the_contract():
    assert drawing() == layers()
    assert "[tool.importlinter]" in (ROOT / "README.md").read_text(encoding="utf-8")
    # the rules the issue names are the contract's
    names = [names for names, _ in layers()]
    core = {"schema", "catalog", "datasets", "scenario", "network", "planner", "indicators", "monitor",
            "exchange", "batteries"}
    assert core <= names[-1] and not {"web", "store", "services", "cli", "report"} & names[-1]
    assert names[:3] == [{"cli"}, {"web"}, {"services", "api"}] and names[3] == {"report", "store"}
    no_store = contracts()["no-store-above-services"]
    assert set(no_store["source_modules"]) == {"resynergy.web", "resynergy.cli"}
    assert no_store["forbidden_modules"] == ["resynergy.store"]

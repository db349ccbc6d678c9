"""The code stays ruff-clean everywhere and mypy-clean in the domain core (config in pyproject)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_ruff_clean():
    res = run("ruff", "check", "src", "tests", "benchmarks", "scripts")
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.slow
def test_mypy_clean_core():
    res = run("mypy")
    assert res.returncode == 0, res.stdout + res.stderr

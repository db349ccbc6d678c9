"""Issue 11 goal 1: plan.xlsx written in a forked child while the parent writes report.html.

The parallel path must lose no error, leave no half-written file, and write what the serial
path writes; the serial path (no fork) must behave the same.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from resynergy.report import background, findings, write_outputs
from support.toys import toy_plan, toy_scenario

needs_fork = pytest.mark.skipif(not background.can_fork(), reason="no fork or one core here")
PATHS = [pytest.param(True, id="forked", marks=needs_fork), pytest.param(False, id="serial")]


@pytest.fixture(scope="module")
def summary():
    return findings(toy_plan(), toy_scenario())


class LocatedError(ValueError):
    """An error with a message a user reads (as the writers raise)."""


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


@pytest.mark.parametrize("parallel", PATHS)
def test_job_writes_through_a_temporary_name(tmp_path, parallel):
    seen = []

    def write(path: Path) -> None:
        seen.append(path.name)  # in the child the list is a copy: checked in serial only
        path.write_text("done", encoding="utf-8")

    job = background.start(write, tmp_path / "out.txt", parallel)
    assert job.forked is parallel
    assert job.wait() == tmp_path / "out.txt"
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == "done"
    assert _leftovers(tmp_path) == ["out.txt"]
    if not parallel:
        assert seen == [".out.txt.part"]


@pytest.mark.parametrize("parallel", PATHS)
def test_an_error_reaches_the_parent_as_it_was_and_no_file_is_left(tmp_path, parallel):
    def write(path: Path) -> None:
        path.write_text("half a workbook", encoding="utf-8")
        raise LocatedError("sheet flows, row 7, column t: 'x' is not a number")

    job = background.start(write, tmp_path / "plan.xlsx", parallel)
    with pytest.raises(LocatedError, match="sheet flows, row 7, column t") as info:
        job.wait()
    if parallel:  # the child's traceback is kept as the cause (error.log shows it)
        assert isinstance(info.value.__cause__, background.RemoteTraceback)
        assert "LocatedError" in str(info.value.__cause__)
    assert _leftovers(tmp_path) == []


@needs_fork
def test_an_error_that_cannot_be_pickled_is_named(tmp_path):
    class Local(Exception):  # a local class cannot be pickled
        pass

    def write(path: Path) -> None:
        raise Local("no way back")

    with pytest.raises(background.BackgroundError, match="Local: no way back"):
        background.start(write, tmp_path / "plan.xlsx", True).wait()
    assert _leftovers(tmp_path) == []


@needs_fork
def test_a_child_that_dies_is_an_error_not_a_file(tmp_path):
    def write(path: Path) -> None:
        path.write_text("half", encoding="utf-8")
        os._exit(9)  # killed, out of memory: no word back

    with pytest.raises(background.BackgroundError, match=r"plan\.xlsx.*exit code 9"):
        background.start(write, tmp_path / "plan.xlsx", True).wait()
    assert _leftovers(tmp_path) == []


def _xlsx_parts(path: Path) -> dict[str, bytes]:
    """The workbook's parts but its creation time."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def test_forked_and_serial_outputs_are_the_same(summary, tmp_path):
    a = write_outputs(summary, tmp_path / "serial", parallel=False)
    b = write_outputs(summary, tmp_path / "forked", parallel=None)
    assert sorted(a) == sorted(b) == ["flows.csv", "flows.parquet", "plan.json", "plan.xlsx",
                                      "report.html"]
    assert _xlsx_parts(a["plan.xlsx"]) == _xlsx_parts(b["plan.xlsx"])
    assert a["flows.csv"].read_bytes() == b["flows.csv"].read_bytes()
    for folder in (tmp_path / "serial", tmp_path / "forked"):
        assert _leftovers(folder) == sorted(a)  # no temporary folder or .part file


@pytest.mark.parametrize("parallel", PATHS)
def test_a_failing_workbook_fails_the_outputs_and_keeps_the_old_ones(summary, tmp_path,
                                                                     monkeypatch, parallel):
    out = tmp_path / "out"
    first = write_outputs(summary, out, parallel=False)
    before = {n: p.read_bytes() for n, p in first.items()}

    def broken(s, path, tables=None):
        Path(path).write_bytes(b"PK half")
        raise LocatedError("工作表 flows 第 7 行：无法写出 / sheet flows, row 7: cannot write")

    monkeypatch.setattr("resynergy.report.write_xlsx", broken)  # the forked child inherits it
    with pytest.raises(LocatedError, match="sheet flows, row 7"):
        write_outputs(summary, out, parallel=parallel)
    assert {n: p.read_bytes() for n, p in first.items()} == before
    assert _leftovers(out) == sorted(before)


def test_a_failing_report_stops_the_child_and_leaves_nothing(summary, tmp_path, monkeypatch):
    import resynergy.report.html as html

    def broken(s, path):
        raise LocatedError("report failed")

    monkeypatch.setattr(html, "write_report", broken)
    out = tmp_path / "out"
    with pytest.raises(LocatedError, match="report failed"):
        write_outputs(summary, out, parallel=None)
    assert _leftovers(out) == []


def test_the_cli_reports_a_child_error_in_words_and_exits_1(tmp_path, monkeypatch):
    """Through ``resynergy plan``: the child's error is the one-line message, exit 1, the
    child's traceback in error.log, and no output file."""
    from typer.testing import CliRunner

    from resynergy.cli.main import app

    def broken(s, path, tables=None):
        raise LocatedError("sheet flows, row 7: cannot write")

    monkeypatch.setattr("resynergy.report.write_xlsx", broken)
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["plan", "jjj-2022", "--year", "2022", "--quiet", "--lang", "en",
                                 "--out", str(out)])
    assert r.exit_code == 1, r.output
    assert "internal error (LocatedError): sheet flows, row 7: cannot write" in r.output
    assert _leftovers(out) == ["error.log"]
    log = (out / "error.log").read_text(encoding="utf-8")
    assert "sheet flows, row 7" in log and "broken" in log  # the child's own frames

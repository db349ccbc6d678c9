"""The documentation site (issue #17 items 2 and 4): it builds offline with ``mkdocs build
--strict`` (a warning fails the build), its officials' guide lists every column of the template
an official fills and every indicator id — checked against the definitions the code uses, not the
generator's — its model page carries every constraint family of the planner, it references no
external asset, and a documented function that is renamed breaks the build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from resynergy import schema
from resynergy.indicators import INDICATORS
from resynergy.scenario.io import NOTE_HEADER

ROOT = Path(__file__).resolve().parents[1]

try:
    import mkdocs  # noqa: F401
    import mkdocstrings  # noqa: F401
except ImportError:  # the `docs` extra (also in `test`): CI must have it
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("mkdocs / mkdocstrings not installed (pip install -e '.[docs]')", allow_module_level=True)


def _env() -> dict[str, str]:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    return env


def mkdocs_build(root: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(root / "mkdocs.yml"),
                           "-d", str(out)], cwd=root, env=_env(), capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = mkdocs_build(ROOT, out)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "WARNING" not in done.stderr, done.stderr[-4000:]
    return out


def _section(html: str, anchor: str) -> str:
    """The HTML from the heading with id ``anchor`` to the next heading of its level or above."""
    m = re.search(rf'<h([23])[^>]*\bid="{re.escape(anchor)}"', html)
    assert m, f"no heading #{anchor}"
    level = int(m.group(1))
    end = re.compile("|".join(f"<h{k}[ >]" for k in range(2, level + 1)))
    nxt = end.search(html, m.end())
    return html[m.start(): nxt.start() if nxt else len(html)]


def test_the_template_sheets_and_columns_are_all_in_the_officials_guide(site, tmp_path):
    """Read the workbook ``resynergy data template`` writes: every sheet to fill (not the look-up
    sheets) and every column key of its row 2 has its section and row in the guide, with the
    schema's Chinese label, unit and choices."""
    from resynergy.cli.main import app

    book = tmp_path / "模板.xlsx"
    done = CliRunner().invoke(app, ["data", "template", str(book)])
    assert done.exit_code == 0, done.output
    wb = load_workbook(book, read_only=True)
    html = (site / "officials" / "template.html").read_text(encoding="utf-8")
    sheets = [ws.title for ws in wb.worksheets if ws.title in schema.TABLE_NAMES + schema.RECORD_TABLES]
    assert "targets" in sheets and "actual_flows" in sheets and len(sheets) >= 10
    for sheet in sheets:
        keys = [c.value for c in next(wb[sheet].iter_rows(min_row=2, max_row=2)) if c.value not in (None, NOTE_HEADER)]
        columns = {c.name: c for c in schema.columns(sheet)}
        assert keys and set(keys) <= set(columns), (sheet, keys)
        section = _section(html, sheet)
        for key in keys:
            col = columns[key]
            assert f"<code>{col.name}</code>" in section, (sheet, col.name)
            assert col.label_zh in section and col.label_en in section, (sheet, col.name)
            assert col.description_zh.split("（")[0] in section, (sheet, col.name)
            if col.unit:
                assert col.unit in section, (sheet, col.name, col.unit)
            for choice in col.choices:
                assert f"<code>{choice}</code>" in section, (sheet, col.name, choice)


def test_every_indicator_id_and_target_kind_is_in_the_guide(site):
    html = (site / "officials" / "indicators.html").read_text(encoding="utf-8")
    for iid, ind in INDICATORS.items():
        section = _section(html, iid)
        assert f"<code>{iid}</code>" in section and ind.name_zh in section and ind.name_en in section
        assert f"<code>{ind.unit}</code>" in section
    kinds = _section(html, "target-kinds")
    for kind in next(c for c in schema.columns("targets") if c.name == "kind").choices:
        assert f"<code>{kind}</code>" in kinds


def test_the_model_page_carries_every_constraint_family(site):
    from resynergy.planner import model

    html = (site / "model.html").read_text(encoding="utf-8")
    families = [n for n in dir(model) if n.startswith("define_")]
    assert len(families) >= 6
    for name in families:
        assert f'id="resynergy.planner.model.{name}"' in html, name
    assert "supply_balance" in html and "min  w_cost·cost" in html  # the docstrings' formulas


_EXTERNAL = re.compile(r"<(?:script|link|img|iframe|source|audio|video|embed|object)\b[^>]*?"
                       r"\b(?:src|href|data)\s*=\s*[\"']?(?:https?:)?//", re.I)


def test_no_page_loads_anything_from_another_host(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) > 15
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not _EXTERNAL.search(text), (page, _EXTERNAL.search(text).group(0))
    for asset in [*site.rglob("*.css"), *site.rglob("*.html")]:
        text = asset.read_text(encoding="utf-8", errors="replace")
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, asset
        assert not re.search(r"@import\s+(url\()?[\"']?https?://", text), asset


def test_the_check_finds_an_external_script():
    assert _EXTERNAL.search('<script src="https://cdn.example.org/x.js"></script>')
    assert _EXTERNAL.search("<link rel=stylesheet href=//fonts.example.org/a.css>")
    assert not _EXTERNAL.search('<script src="assets/javascripts/bundle.js"></script>')
    assert not _EXTERNAL.search('<a href="https://example.org/">a link to read</a>')


def test_a_renamed_function_breaks_the_build(tmp_path, caplog):
    """The API page names ``resynergy.planner.solve.solve``; a copy of the site whose page names a
    function that does not exist fails to build (the CLI's build says so), it is not skipped."""
    from resynergy.cli.docs import build_site

    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", copy / "docs", ignore=shutil.ignore_patterns("notebooks"))
    (copy / "src").symlink_to(ROOT / "src")
    page = copy / "docs" / "api" / "planner.md"
    text = page.read_text(encoding="utf-8")
    assert "::: resynergy.planner.solve.solve\n" in text
    page.write_text(text.replace("::: resynergy.planner.solve.solve\n", "::: resynergy.planner.solve.solve_renamed\n"),
                    encoding="utf-8")
    with pytest.raises(RuntimeError):
        build_site(copy / "mkdocs.yml", tmp_path / "out")
    assert "solve_renamed could not be found" in caplog.text


def test_the_docs_command_says_how_to_install_mkdocs(monkeypatch, tmp_path):
    from resynergy.cli.main import app

    for name in [n for n in sys.modules if n == "mkdocs" or n.startswith("mkdocs.")] + ["mkdocs"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the docs extra were not installed
    done = CliRunner().invoke(app, ["docs", "--out", str(tmp_path / "site")])
    assert done.exit_code == 1
    assert "pip install -e '.[docs]'" in done.output and "未安装文档工具（缺少 mkdocs）" in done.output
    assert not (tmp_path / "site").exists()


def test_every_name_the_package_root_exports_is_in_the_api_reference(site):
    """``resynergy.__all__`` (the public Python API) is documented where each name is defined."""
    import resynergy

    html = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert 'id="resynergy"' in html
    for name in getattr(resynergy, "__all__", []):
        obj = getattr(resynergy, name)
        assert f'id="{obj.__module__}.{obj.__qualname__}"' in html, name


def _hooks():
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_notebook_page_shows_its_outputs_but_never_a_script_from_another_host(tmp_path):
    """Notebooks are rendered from their stored outputs; an HTML output carrying a script (a
    plotly figure loads plotly.js from a CDN) is shown by its plain text instead."""
    import json

    book = tmp_path / "demo.ipynb"
    book.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# 演示 / Demo\n", "Plan *it*."]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": "plan.flows.head()", "outputs": [
            {"output_type": "execute_result", "execution_count": 1, "metadata": {},
             "data": {"text/html": "<table><tr><td>42</td></tr></table>", "text/plain": "42"}},
            {"output_type": "display_data", "metadata": {},
             "data": {"text/html": '<script src="https://cdn.plot.ly/plotly.min.js"></script>', "text/plain": "Figure()"}},
            {"output_type": "stream", "name": "stdout", "text": ["done\n"]}]}]}), encoding="utf-8")
    page = _hooks().notebook_page(book)
    assert page.startswith("# 演示 / Demo\n") and "Plan *it*." in page
    assert "plan.flows.head()" in page and "<td>42</td>" in page and "done" in page
    assert "Figure()" in page and "<script" not in page and "cdn.plot.ly" not in page


def _commands_in_guides() -> list[tuple[str, str]]:
    """(page, command line) of every ``resynergy …`` command in the pages' code (hand-written
    and generated)."""
    found = []
    hooks = _hooks()
    pages = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").rglob("*.md"))
             if "notebooks" not in p.parts}
    pages.update({path: hooks.page(path) for path in hooks.GENERATED})
    for page, text in pages.items():
        blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
        spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
        for snippet in [ln for b in blocks for ln in b.splitlines()] + spans:
            snippet = snippet.split("  #")[0]
            m = re.search(r"(?:^|&&\s*|/bin/)resynergy ([^&|]+)", snippet.strip())
            if m:
                found.append((page, m.group(1)))
    return found


def test_every_command_and_option_the_guides_show_exists():
    """A command or option renamed in the CLI fails here, not in an official's terminal."""
    import typer

    from resynergy.cli.main import app

    root = typer.main.get_command(app)
    shown = _commands_in_guides()
    assert len(shown) >= 15
    for page, line in shown:
        words = line.split()
        cmd = root
        while hasattr(cmd, "commands") and words and words[0] in cmd.commands:
            cmd = cmd.commands[words.pop(0)]
        assert cmd is not root and not hasattr(cmd, "commands"), (page, line)  # a command, not a group
        options = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
        for word in words:
            option = word.split("=")[0]
            if option.startswith("--"):
                assert option in options, (page, line, option)


@pytest.mark.browser
def test_the_site_is_read_and_searched_in_chinese_without_leaving_the_machine(site, browser):
    """Served over HTTP (as ``resynergy docs --serve`` does), the site loads nothing from another
    host, has no script error, and its search finds Chinese words (尾矿) and indicator ids."""
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from support.platform import local_page

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with local_page(browser, origin) as page:
            page.goto(f"{origin}/officials/template.html")
            assert page.locator("h2#targets").count() == 1
            for query in ("尾矿", "isw_utilized"):
                page.fill("input.md-search__input", query)
                page.wait_for_function("document.querySelectorAll('.md-search-result__item').length > 0")
    finally:
        server.shutdown()
        server.server_close()

"""``resynergy docs``: build the documentation site offline and open or serve it locally.

The site's sources (``mkdocs.yml``, ``docs/``) live in the source repository, so the command
works from a clone (``pip install -e '.[docs]'``). The build is strict: a warning (e.g. a
documented function that was renamed) fails it, exactly as CI's build does.

Exit codes: 0 built, 1 the build failed or MkDocs is not installed, 2 no site sources found.
"""

from __future__ import annotations

import contextlib
import os
import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from resynergy.cli import console

CONFIG = "mkdocs.yml"
INSTALL = "pip install -e '.[docs]'"  # the optional `docs` extra of pyproject.toml


def find_config(start: Path | None = None) -> Path | None:
    """The repository's ``mkdocs.yml``: in ``start`` (default: here) or a folder above it, else
    next to the package's own source tree (an editable install); None when there is none."""
    here = (start or Path.cwd()).resolve()
    package_root = Path(__file__).resolve().parents[3]  # src/resynergy/cli/docs.py → the repo
    for folder in (here, *here.parents, package_root):
        candidate = folder / CONFIG
        if candidate.is_file() and (folder / "docs").is_dir():
            return candidate
    return None


def build_site(config: Path, out: Path) -> Path:
    """Build the site of ``config`` into ``out`` (strict); returns ``out``. Raises
    ``ModuleNotFoundError`` without MkDocs and ``RuntimeError`` when the build fails."""
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # the theme's banner says nothing about this site
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    out = out.resolve()
    # mkdocstrings and its extensions resolve their paths from the working directory
    with contextlib.chdir(config.parent):
        try:
            build(load_config(config_file=str(config), site_dir=str(out), strict=True))
        except (MkDocsException, SystemExit) as exc:  # Abort (strict warnings), config errors
            raise RuntimeError(str(exc) or type(exc).__name__) from None
    return out


def _serve(site: Path, port: int, open_browser: bool) -> None:
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    handler = partial(SimpleHTTPRequestHandler, directory=str(site))
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        console.err.print(f"文档站点 / documentation: {url}  (Ctrl-C 停止 / to stop)")
        if open_browser:
            webbrowser.open(url)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


def docs(serve: Annotated[bool, typer.Option("--serve", help="Serve the built site on 127.0.0.1 / 本地浏览")] = False,
         out: Annotated[Path, typer.Option("--out", help="Directory to build into / 输出目录")] = Path("site"),
         open_: Annotated[bool, typer.Option("--open", help="Open the site in a browser / 用浏览器打开")] = False,
         port: Annotated[int, typer.Option(help="Port for --serve")] = 8001) -> None:
    """Build the documentation site offline (strict) and open or serve it / 构建文档站点。"""
    from rich.markup import escape

    config = find_config()
    if config is None:
        console.err.print("[red]找不到文档源文件 mkdocs.yml：请在 resynergy 源码仓库中运行。\n"
                          "No mkdocs.yml found: run this in a clone of the resynergy repository.[/]")
        raise typer.Exit(2)
    try:
        site = build_site(config, out)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "mkdocs").split(".")[0]
        console.err.print(f"[red]未安装文档工具（缺少 {missing}）：{escape(INSTALL)}\n"
                          f"The documentation tools are not installed (no {missing}): {escape(INSTALL)}[/]")
        raise typer.Exit(1) from None
    except RuntimeError as exc:
        console.err.print(f"[red]文档构建失败 / the documentation build failed: {escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    console.out.print(f"已构建文档 / built the documentation: {site / 'index.html'}")
    if serve:
        _serve(site, port, open_)
    elif open_:
        webbrowser.open((site / "index.html").as_uri())

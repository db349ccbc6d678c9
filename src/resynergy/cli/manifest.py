"""``resynergy manifest verify FILE|ID``: check an electronic manifest's signature chain.

FILE is a manifest exported as JSON (``/api/v1/manifests/{id}/export.json``), checked offline
without the database; otherwise the argument is a manifest's id or number in the platform's
database (``--database-url`` / RESYNERGY_DATABASE_URL).

Exit codes: 0 the chain holds, 1 problems found (each printed, located), 2 usage error
(unreadable file, unknown manifest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resynergy.cli import console

DbOpt = Annotated[str | None, typer.Option("--database-url", envvar="RESYNERGY_DATABASE_URL", show_envvar=True,
                                           help="SQLAlchemy URL (default: sqlite:///resynergy.db here)")]


def verify(target: Annotated[str, typer.Argument(help="导出的联单 JSON 文件，或联单编号 / exported JSON file, or a manifest id or number")],
           database_url: DbOpt = None) -> None:
    """校验联单签字链 / Verify a manifest's signature chain."""
    from resynergy.services import manifests
    from resynergy.services.registry import NotFound

    path = Path(target)
    looks_like_file = path.suffix.lower() == ".json" or path.exists() or "/" in target
    try:
        if looks_like_file:
            try:
                text = path.read_bytes()
            except OSError as err:
                console.err.print(f"无法读取 {target}：{err.strerror} / cannot read {target}: {err.strerror}",
                                  markup=False)
                raise typer.Exit(2) from None
            out = manifests.verify_document(text)
        else:
            from resynergy.services.settings import Settings

            url = Settings.from_env().database_url if database_url is None else database_url
            out = manifests.verify_stored(url, target)
    except ValueError as err:
        console.err.print(f"{target}: {err}", markup=False)
        raise typer.Exit(2) from None
    except NotFound:
        console.err.print(f"没有联单 {target} / no manifest {target}", markup=False)
        raise typer.Exit(2) from None
    head = f"联单 manifest {out['number']} · {out['state']} · {out['signatures']} 个签字 signatures"
    if out["ok"]:
        console.out.print(f"OK  {head}: 签字链完整 / the chain holds", markup=False)
        return
    console.out.print(f"FAILED  {head}", markup=False)
    for p in out["problems"]:
        console.out.print(f"  - {p['zh']}\n    {p['en']}", markup=False)
    raise typer.Exit(1)

"""Platform commands: ``resynergy serve``, ``resynergy db upgrade``, ``resynergy user add``,
``resynergy registry import``. Each calls service functions (never the store itself).

Exit codes: 0 done, 1 refused (bad data or credentials), 2 usage error.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from resynergy.cli import console
from resynergy.services.roles import ROLES

if TYPE_CHECKING:  # SQLAlchemy and Alembic load only for the platform's own commands
    from sqlalchemy.orm import Session, sessionmaker

    from resynergy.services.settings import Settings

DbOpt = Annotated[str | None, typer.Option("--database-url", envvar="RESYNERGY_DATABASE_URL", show_envvar=True,
                                           help="SQLAlchemy URL (default: sqlite:///resynergy.db here)")]


def _settings(url: str | None) -> Settings:
    from resynergy.services import database

    return database.settings(url)


def _shown(url: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _first_admin(sessions: sessionmaker[Session], accounts) -> None:
    """Create the first admin from RESYNERGY_ADMIN_PASSWORD, or ask on a terminal; never block."""
    from resynergy.services.accounts import has_admin

    with sessions() as db:
        if has_admin(db):
            return
        username = os.environ.get("RESYNERGY_ADMIN_USER", "admin")
        password = os.environ.get("RESYNERGY_ADMIN_PASSWORD", "")
        if not password and sys.stdin.isatty():
            password = typer.prompt(f"首个管理员 {username} 的密码 / password for the first admin {username}",
                                    hide_input=True, confirmation_prompt=True)
        if not password:
            console.err.print("[yellow]尚无管理员：设置 RESYNERGY_ADMIN_PASSWORD 或运行 `resynergy user add`。\n"
                      "No admin yet: set RESYNERGY_ADMIN_PASSWORD or run `resynergy user add`.[/]")
            return
        accounts.ensure_admin(db, password, username)
        db.commit()
        console.err.print(f"已创建管理员 / created admin: {username}")


def proxy_options(settings: Settings) -> dict[str, object]:
    """uvicorn's proxy settings: believe X-Forwarded-For only from RESYNERGY_TRUSTED_PROXIES.

    With no trusted proxy the client address is the TCP peer; with some, uvicorn takes the
    right-most address in X-Forwarded-For that is not itself a trusted proxy.
    """
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies)}


def serve(host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port")] = 8000, database_url: DbOpt = None) -> None:
    """Run the web platform (migrations applied first; SQLite by default) / 启动平台。"""
    import uvicorn

    from resynergy.services import database
    from resynergy.services.accounts import Accounts
    from resynergy.web.app import create_app

    settings = _settings(database_url)
    _, sessions = database.connect(settings.database_url)
    accounts = Accounts(settings)
    try:
        _first_admin(sessions, accounts)
    except ValueError as exc:  # a weak RESYNERGY_ADMIN_PASSWORD
        console.err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    app = create_app(settings, migrate=False)
    console.err.print(f"数据库 / database: {_shown(settings.database_url)}\n平台 / platform: http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="info", **proxy_options(settings))  # type: ignore[arg-type]


def db_upgrade(database_url: DbOpt = None) -> None:
    """Bring the database schema up to date / 升级数据库结构。"""
    from resynergy.services import database

    settings = _settings(database_url)
    console.out.print(f"{_shown(settings.database_url)}: {database.upgrade(settings.database_url)}")


def _password(prompt_for: str) -> str:
    if sys.stdin.isatty():
        return typer.prompt(f"{prompt_for} 的密码 / password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\n")  # piped: the first line of stdin


def user_add(username: Annotated[str, typer.Argument(help="Username / 用户名")],
             role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}")] = "planner",
             org: Annotated[str, typer.Option("--org", help="USCC of the organisation (enterprise users)")] = "",
             province: Annotated[str, typer.Option(help="Province code scope, e.g. 130000 ('' = all)")] = "",
             database_url: DbOpt = None) -> None:
    """Add a user; the password is asked for (or read from the first line of stdin) / 新增用户。"""
    from resynergy.services import database
    from resynergy.services.access import Actor
    from resynergy.services.accounts import AccountError, Accounts

    settings = _settings(database_url)
    accounts = Accounts(settings)
    _, sessions = database.connect(settings.database_url)
    with sessions() as db:
        try:
            user = accounts.create_user(db, Actor(None, "cli", "admin", ip="cli"), username, _password(username),
                                        role, org, province)
        except AccountError as exc:
            console.err.print(f"[red]{exc.field}: {exc.zh} / {exc.en}[/]")
            raise typer.Exit(1) from None
        db.commit()
        console.out.print(f"{user.username} ({user.role}) #{user.id}")


def registry_import(file: Annotated[str, typer.Argument(help=".xlsx workbook, .csv table, or a built-in dataset name")],
                    table: Annotated[str, typer.Option(help="Table of a CSV file (default: the file name)")] = "",
                    user: Annotated[str, typer.Option("--as", help="Import with this user's rights (default: the first admin)")] = "",
                    errors: Annotated[Path | None, typer.Option(help="Write the error workbook here when refused")] = None,
                    database_url: DbOpt = None) -> None:
    """Import rows into the registry, all or nothing / 批量导入登记库。"""
    from resynergy import datasets
    from resynergy.services import database, imports
    from resynergy.services.accounts import command_actor

    settings = _settings(database_url)
    _, sessions = database.connect(settings.database_url)
    with sessions() as db:
        actor = command_actor(db, user, "cli")
        if actor is None:
            console.err.print("[red]没有可用的用户：先运行 `resynergy user add` / no such user: run `resynergy user add` first[/]")
            raise typer.Exit(1)
        path = Path(file)
        if not path.exists() and file in datasets.names():
            counts = imports.load_builtin(db, actor, file)
            console.out.print(counts)
            return
        if not path.is_file():
            console.err.print(f"[red]找不到文件 / file not found: {file}[/]")
            raise typer.Exit(2)
        outcome = imports.import_file(db, actor, path.read_bytes(), path.name, table)
    if outcome.record.accepted:
        console.out.print(outcome.record.counts)
        return
    for issue in outcome.issues[:50]:
        console.err.print(f"{issue['location_zh']}: {issue['message_zh']} / {issue['message_en']}")
    if len(outcome.issues) > 50:
        console.err.print(f"… {len(outcome.issues) - 50}")
    if errors is not None and outcome.record.error_workbook:
        errors.write_bytes(outcome.record.error_workbook)
        console.err.print(f"错误标注工作簿 / error workbook: {errors}")
    console.err.print("[red]导入被拒绝，未写入任何内容 / import refused; nothing was written[/]")
    raise typer.Exit(1)

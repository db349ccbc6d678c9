"""The ``resynergy`` command: one face over the library; each command calls one core function."""

from __future__ import annotations

import typer

from resynergy.cli import data, monitor, plan, platform, synth
from resynergy.cli import exchange as exchange_cli
from resynergy.cli import manifest as manifest_cli

app = typer.Typer(rich_markup_mode=None, help="resynergy — 京津冀及周边地区工业资源综合利用协同规划 / regional industrial-resource synergy planning.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
data.app.command("synth")(synth.synth)
app.add_typer(data.app, name="data")
app.command("plan")(plan.plan)
app.command("compare")(plan.compare)
app.command("monitor")(monitor.monitor)
app.command("serve")(platform.serve)

db_app = typer.Typer(rich_markup_mode=None, help="Database: migrations. 数据库迁移。", no_args_is_help=True)
db_app.command("upgrade")(platform.db_upgrade)
app.add_typer(db_app, name="db")
user_app = typer.Typer(rich_markup_mode=None, help="Platform users. 平台用户。", no_args_is_help=True)
user_app.command("add")(platform.user_add)
app.add_typer(user_app, name="user")
registry_app = typer.Typer(rich_markup_mode=None, help="Registry imports. 登记数据导入。", no_args_is_help=True)
registry_app.command("import")(platform.registry_import)
app.add_typer(registry_app, name="registry")
app.add_typer(exchange_cli.app, name="exchange")
# #12 electronic manifests (联单)
manifest_app = typer.Typer(rich_markup_mode=None, help="Electronic manifests. 电子转移联单。", no_args_is_help=True)
manifest_app.command("verify")(manifest_cli.verify)
app.add_typer(manifest_app, name="manifest")


@app.callback()
def main() -> None:
    """Plan and coordinate the comprehensive utilization of industrial solid waste and recycled resources."""


def _batteries() -> None:  # issue 14: registered last, so other branches' commands merge above it
    from resynergy.cli import batteries

    app.add_typer(batteries.app, name="batteries")


_batteries()


def _evaluate() -> None:  # issue 13: the offline evaluation check, registered at the end of the list
    from resynergy.cli import evaluate

    app.command("evaluate")(evaluate.evaluate)


_evaluate()

"""The ``resynergy`` command: one face over the library; each command calls one core function."""

from __future__ import annotations

import typer

from resynergy.cli import data, plan, synth

app = typer.Typer(help="resynergy — 京津冀及周边地区工业资源综合利用协同规划 / regional industrial-resource synergy planning.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
data.app.command("synth")(synth.synth)
app.add_typer(data.app, name="data")
app.command("plan")(plan.plan)
app.command("compare")(plan.compare)


@app.callback()
def main() -> None:
    """Plan and coordinate the comprehensive utilization of industrial solid waste and recycled resources."""

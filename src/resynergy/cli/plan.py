"""``resynergy plan`` and ``resynergy compare``: solve scenarios, print summaries, write reports.

Exit codes: 0 a plan was produced (optimal, time limit with a feasible plan, or with targets
relaxed); 1 the scenario is invalid; 2 usage error; 3 infeasible (the diagnosis is printed and
the report still written).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from resynergy.api import VARIANT_HELP
from resynergy.cli import console
from resynergy.cli.console import Lang, say
from resynergy.cli.data import open_or_exit, print_issues
from resynergy.states import PlanStatus

if TYPE_CHECKING:  # imported where used: ``--help`` loads no pandas
    from resynergy.api import Variant
    from resynergy.scenario import Scenario

EXIT_INFEASIBLE = 3
# The planner's stage names, as shown on the progress bar.
STAGES = {"network": ("构建运输网络", "building the network"), "build": ("建立模型", "building the model"),
          "solve": ("求解", "solving"), "relax": ("放宽目标重新求解", "relaxing targets"),
          "duals": ("计算边际成本", "marginal costs"), "results": ("整理结果", "collecting results"),
          "done": ("求解完成", "solved"), "evaluate": ("评估指标", "evaluating indicators")}


class Objective(StrEnum):
    cost = "cost"
    co2 = "co2"
    utilization = "utilization"


ScenarioArg = Annotated[str, typer.Argument(
    help="Built-in name, folder of CSV/Parquet or .xlsx workbook / 内置情景名、文件夹或工作簿")]
ObjectiveOpt = Annotated[Objective, typer.Option(help="What to optimise / 优化目标")]
YearOpt = Annotated[int | None, typer.Option(help="Plan one year only (default: every year)")]


def _positive(value: float) -> float:
    if not value > 0:
        raise typer.BadParameter(f"{value:g}: 应为正数秒 / expected a positive number of seconds")
    return value


def _gap(value: float) -> float:
    if not 0 <= value < 1:
        raise typer.BadParameter(f"{value:g}: 应在 0（含）到 1 之间，如 0.01 / "
                                 "expected a fraction from 0 up to (not including) 1, e.g. 0.01")
    return value


TimeLimitOpt = Annotated[float, typer.Option("--time-limit", callback=_positive,
                                             help="Time limit of each solver run, s (> 0): the MILP, "
                                                  "then each re-solve for prices and for the diagnosis "
                                                  "of missed targets; a MILP stopped without a plan "
                                                  "gives its last resort (the plan building nothing "
                                                  "new) several times this. 每次求解的时间上限（秒）；"
                                                  "若限时内无可行方案，兜底方案（不新建）可用数倍时间")]
GapOpt = Annotated[float, typer.Option("--mip-gap", callback=_gap,
                                       help="Relative MIP gap, 0 ≤ gap < 1")]
OutOpt = Annotated[Path, typer.Option("--out", help="Output folder / 输出目录")]
LangOpt = Annotated[Lang, typer.Option("--lang", help="zh | en")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the JSON summary on stdout only")]


@contextmanager
def progress_bar(enabled: bool, lang: Lang) -> Iterator[Callable[[str, float], None]]:
    """A ``progress(stage, fraction)`` callback drawing a rich bar on stderr."""
    if not enabled:
        yield lambda stage, fraction: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=console.err, transient=True) as bar:
        task = bar.add_task(say(lang, "准备", "preparing"), total=1.0)

        def update(stage: str, fraction: float) -> None:
            label = say(lang, *STAGES[stage]) if stage in STAGES else stage
            bar.update(task, description=label, completed=max(0.0, min(1.0, fraction)))

        yield update


def solve_scenario(scenario: Scenario, objective: Objective, year: int | None, time_limit: float,
                   mip_gap: float, progress: Callable[[str, float], None], iis: bool = False,
                   actuals: Any = None) -> Any:
    """The plan, by the Python API's :func:`resynergy.api.plan` (one definition of the options)."""
    from resynergy.api import plan

    return plan(scenario, objective=objective.value, year=year, time_limit=time_limit,
                mip_gap=mip_gap, iis=iis, actuals=actuals, progress=progress)


def load_actuals_or_exit(path: Path | None, through: int | None, s: Scenario, lang: Lang,
                         complete: bool = False) -> Any:
    """``--actuals FILE [--through YEAR] [--complete]`` as the planner's Actuals (None without a
    file); bad records are printed located (file/sheet, row, column) and exit 1."""
    if path is None:
        if through is not None or complete:
            console.err.print(say(lang, "--through 与 --complete 需要与 --actuals 一起使用",
                                  "--through and --complete need --actuals"),
                              markup=False)
            raise typer.Exit(2)
        return None
    from resynergy.api import read_actuals
    from resynergy.planner.actuals import ActualsError
    from resynergy.scenario import ScenarioError

    try:
        return read_actuals(path, s, through, complete)
    except ScenarioError as exc:
        print_issues(exc, lang)
        raise typer.Exit(1) from None
    except ActualsError as exc:
        print_actuals_error(exc, lang)
        raise typer.Exit(1) from None


def print_actuals_error(exc: Any, lang: Lang) -> None:
    for line in exc.text(lang.value):
        console.err.print("✗ " + line, markup=False, highlight=False)


def plan(scenario: ScenarioArg = "jjj-2022", objective: ObjectiveOpt = Objective.cost,
         year: YearOpt = None, time_limit: TimeLimitOpt = 60.0, mip_gap: GapOpt = 0.01,
         out_dir: OutOpt = Path("out"), lang: LangOpt = Lang.zh, quiet: QuietOpt = False,
         as_json: JsonOpt = False,
         iis: Annotated[bool, typer.Option(
             "--iis", help="When infeasible, also ask HiGHS for an irreducible infeasible subset "
                           "(slow) / 不可行时求不可约不可行子集")] = False,
         actuals: Annotated[Path | None, typer.Option(
             "--actuals", help="Start from actual flows (.csv/.xlsx, as for `resynergy monitor`): "
                               "years up to --through are fixed to them / 以实际流向（联单）固定已过去的年份")] = None,
         through: Annotated[int | None, typer.Option(
             "--through", help="Last year fixed to the actual flows (default: their last year) / "
                               "按实际固定的最后一年")] = None,
         complete: Annotated[bool, typer.Option(
             "--complete", help="The actual flows are all transport of the fixed years (others are 0); "
                                "default: partial, only the recorded pairs are fixed / 记录为当年全部运输")] = False) -> None:
    """Plan a scenario: print attainment, costs, CO2, rail share and the largest flows; write
    report.html, flows.csv, flows.parquet, plan.xlsx and plan.json to --out.
    规划：打印目标完成、费用、碳排放、铁路占比与主要流向，并写出报告。"""
    s = open_or_exit(scenario, lang)
    check_plannable_or_exit(s, lang, year)
    fixed = load_actuals_or_exit(actuals, through, s, lang, complete)
    from resynergy.planner.actuals import ActualsError
    from resynergy.warm import Warm

    # what the outputs need from the scenario alone, made while HiGHS solves (another core)
    ready = Warm(lambda: report_ready(s))

    def on_progress(stage: str, fraction: float) -> None:
        if stage == "solve":
            ready.start()
        progress(stage, 0.8 * fraction)

    with no_traceback(lang, out_dir), progress_bar(not quiet, lang) as progress:
        try:
            result = solve_scenario(s, objective, year, time_limit, mip_gap, on_progress, iis=iis,
                                    **({"actuals": fixed} if fixed is not None else {}))
        except ActualsError as exc:  # a recorded pair the network cannot carry, a year without records
            print_actuals_error(exc, lang)
            raise typer.Exit(1) from None
        finally:
            prepared = ready.result()  # no thread left running (plan.xlsx is written by a fork)
        if no_plan_found(result):
            console.err.print(say(lang, f"在 {time_limit:g} 秒内未找到可行方案：请放宽 --time-limit 或缩小问题规模。",
                          f"no feasible plan within {time_limit:g} s: allow more time "
                          "(--time-limit) or shrink the problem."), markup=False)
            raise typer.Exit(1)
        from resynergy.report import findings, write_outputs  # plotly and XlsxWriter: only now

        progress(say(lang, "评估指标", "evaluating indicators"), 0.85)
        summary = findings(result, s)
        paths = write_outputs(summary, out_dir, progress=lambda st, f: progress(
            say(lang, "写出报告", "writing outputs") + f" ({st})", 0.9 + 0.1 * f),
            parallel=None, ready=prepared)  # plan.xlsx in a forked child where the machine allows
    if as_json:  # the plan.json just written (with its outputs), not a second evaluation
        print(paths["plan.json"].read_text(encoding="utf-8"))
    elif not quiet:
        from resynergy.report.terminal import print_summary

        for line in actuals_lines(result, lang):  # years fixed to actuals, first
            console.out.print(line, markup=False, highlight=False)
        print_summary(summary, console.out, lang.value)
        console.out.print(say(lang, "已写出：", "Wrote: ") + ", ".join(str(p) for p in paths.values()))
    if result.status == PlanStatus.INFEASIBLE:
        raise typer.Exit(EXIT_INFEASIBLE)


def report_ready(s: Scenario) -> Any:
    """The report's parts that depend on the scenario alone (:class:`resynergy.report.html.Ready`),
    with the output writers imported."""
    import pyarrow.parquet  # noqa: F401 - flows.parquet's writer
    import xlsxwriter  # noqa: F401 - plan.xlsx's writer, imported once here

    from resynergy.report.html import Ready

    return Ready(s)


def actuals_lines(result: Any, lang: Lang) -> list[str]:
    """The plan's line saying which years are fixed to actual flows (none without --actuals)."""
    d = getattr(result, "diagnosis", None)
    if d is None or not len(d):
        return []
    rows = d[d["kind"] == "actuals"]
    return [str(m) for m in rows["message_zh" if lang == Lang.zh else "message_en"]]


def no_plan_found(result: Any) -> bool:
    """The solver stopped (time limit) before it found any feasible plan."""
    objective = getattr(result, "objective", None)
    return result.status == PlanStatus.TIME_LIMIT and (objective is None or not math.isfinite(
        float(objective)))


def check_plannable_or_exit(s: Scenario, lang: Lang, year: int | None = None) -> None:
    """A valid scenario that still cannot be planned (e.g. an empty template): exit 1; a year
    it has no data for: exit 2 (:func:`resynergy.api.check_plannable`)."""
    from resynergy.api import YearError, check_plannable
    from resynergy.scenario import ScenarioError

    try:
        check_plannable(s, year)
    except ScenarioError as exc:
        print_issues(exc, lang)
        raise typer.Exit(1) from None
    except YearError as exc:
        console.err.print(say(lang, *exc.texts))
        raise typer.Exit(2) from None


@contextmanager
def no_traceback(lang: Lang, out_dir: Path) -> Iterator[None]:
    """What the planner refuses (PlanInputError) as a plain message; anything unexpected as a
    one-line message with the details in ``out_dir/error.log``. Exit 1; never a traceback."""
    from resynergy.planner.data import PlanInputError

    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except PlanInputError as exc:
        console.err.print(say(lang, f"无法规划：{exc}", f"cannot plan: {exc}"), markup=False)
        raise typer.Exit(1) from None
    except Exception as exc:  # noqa: BLE001 - the user gets words, the log gets the traceback
        import traceback

        log = out_dir / "error.log"
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            log.write_text(traceback.format_exc(), encoding="utf-8")
            where = str(log)
        except OSError:
            where = "—"
        console.err.print(say(lang, f"内部错误（{type(exc).__name__}）：{exc}。详情见 {where}，请报告此问题。",
                      f"internal error ({type(exc).__name__}): {exc}. Details in {where}; "
                      "please report it."), markup=False)
        raise typer.Exit(1) from None


# --- compare --------------------------------------------------------------------------

def parse_variant(spec: str, common: list[str]) -> Variant:
    """Parse ``SCENARIO@MOD,…`` plus the --set modifications shared by every variant
    (:func:`resynergy.api.parse_variant`)."""
    from resynergy.api import parse_variant as parse

    try:
        return parse(spec, common)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def build_variant(v: Variant, lang: Lang) -> Scenario:
    from resynergy.scenario import ScenarioError

    s = open_or_exit(v.ref, lang)
    try:
        return v.apply(s)
    except ScenarioError as exc:
        console.err.print(f"[red]{v.label}:[/]")
        print_issues(exc, lang, limit=50)
        raise typer.Exit(1) from None


def expand(variants: list[str], vary: list[str]) -> list[str]:
    """Every variant crossed with every combination of the ``--vary MOD=V1,V2,…`` values
    (:func:`resynergy.api.expand`)."""
    from resynergy.api import expand as cross

    try:
        return cross(variants, vary)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def compare(variants: Annotated[list[str], typer.Argument(help=VARIANT_HELP)],
            set_: Annotated[list[str] | None, typer.Option(
                "--set", help="Modification applied to every variant (repeatable)")] = None,
            vary: Annotated[list[str] | None, typer.Option(
                "--vary", help="Sweep: MOD=V1,V2,… crosses every variant with each value "
                               "(repeatable; e.g. policy.carbon_price=0,100,200)")] = None,
            workers: Annotated[int, typer.Option(
                "--workers", min=1, help="Solve variants in parallel on a local Dask cluster")] = 1,
            scheduler: Annotated[str | None, typer.Option(
                "--scheduler", help="Solve on an existing Dask scheduler (tcp://host:8786)")] = None,
            objective: ObjectiveOpt = Objective.cost, year: YearOpt = None,
            time_limit: TimeLimitOpt = 60.0, mip_gap: GapOpt = 0.01,
            out_dir: OutOpt = Path("out"), lang: LangOpt = Lang.zh, quiet: QuietOpt = False,
            as_json: JsonOpt = False) -> None:
    """Solve several scenarios or policy variants and compare indicators and costs side by
    side; writes compare.html. 多方案比较。"""
    from resynergy.api import compare_scenarios
    from resynergy.report.terminal import print_compare

    parsed = [parse_variant(v, list(set_ or [])) for v in expand(variants, list(vary or []))]
    scenarios = {v.label: build_variant(v, lang) for v in parsed}
    for s in scenarios.values():
        check_plannable_or_exit(s, lang, year)
    with no_traceback(lang, out_dir), progress_bar(not quiet, lang) as progress:
        comparison = compare_scenarios(
            scenarios, objective=objective.value, objectives={v.label: v.objective for v in parsed},
            year=year, time_limit=time_limit, mip_gap=mip_gap, workers=workers, scheduler=scheduler,
            progress=lambda label, f: progress(label, 0.95 if label == "evaluate" else 0.9 * f))
    summaries = comparison.findings
    path = comparison.write(out_dir)
    table = comparison.table
    if as_json:
        doc = {"variants": list(summaries), "in_place": comparison.in_place, "table": json.loads(
            table.to_json(orient="records", force_ascii=False)), "outputs": {"compare.html": str(path)}}
        print(json.dumps(doc, ensure_ascii=False, indent=1))
    elif not quiet:
        print_compare(summaries, table, console.out, lang.value)
        console.out.print(say(lang, "已写出：", "Wrote: ") + str(path))

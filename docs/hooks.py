"""MkDocs hooks of the documentation site: the pages that must not drift from the code.

The officials' guide (every template sheet and column, the indicators, target kinds, validation
messages, reference codes), the data-source pages and the notebook list are written at build time
from the definitions the code itself uses: ``schema/tables.csv`` (:mod:`resynergy.schema`), the
template's sheets (:data:`resynergy.scenario.template.FILLABLE` and the record tables), the
indicators (:data:`resynergy.indicators.INDICATORS`), the catalog tables, the units table, the
validation messages (:class:`resynergy.schema.issues.Issue`) and the words of the platform
(:mod:`resynergy.web.i18n`). The model page pulls every ``define_*`` function of
``planner/model.py`` (its docstring holds the mathematics). A name that is no longer there fails
the build (``mkdocs build --strict``), so the site breaks, not the reader.

``mkdocs-gen-files`` is not used: MkDocs's own hooks (``on_files``, ``on_page_markdown``) suffice.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if (ROOT / "src" / "resynergy").is_dir() and str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))  # document this checkout, as mkdocstrings (paths: [src]) does

from resynergy import catalog, schema  # noqa: E402
from resynergy.indicators.definitions import BASES, INDICATORS  # noqa: E402
from resynergy.schema import units  # noqa: E402
from resynergy.schema.issues import Issue  # noqa: E402

log = logging.getLogger("mkdocs.hooks.resynergy")

# Generated pages: site path → (function writing its Markdown, the sources it is written from).
GENERATED = {
    "officials/template.md": "template_page",
    "officials/indicators.md": "indicators_page",
    "officials/errors.md": "errors_page",
    "officials/codes.md": "codes_page",
    "sources/catalog.md": "catalog_sources_page",
    "sources/jjj-2022.md": "dataset_sources_page",
    "notebooks.md": "notebooks_page",
}

# --- words the schema has no place for, each checked for completeness against the code ---

# What each counting basis of an indicator measures (resynergy.indicators.definitions.BASES).
BASIS_WORDS: dict[str, tuple[str, str]] = {
    "facility_input": ("进入利用设施的物料吨数（按来源地统计；经铁路货场或中转不重复计，产品再利用不重复计）",
                       "tonnes of the counted materials entering utilizing facilities (by origin; a terminal or "
                       "transfer does not count again, nor do products used downstream)"),
    "facility_capacity": ("相应工艺设施的年产出能力（按设施所在地统计）",
                          "output capacity per year of facilities of the counted processes (by facility region)"),
    "capacity_added": ("基准年（情景首年的前一年）以来新增的年处理能力，累计计算",
                       "input capacity per year added since the base year (the year before the scenario's first), cumulative"),
    "output_value": ("产品产值，按所替代原生产品的价格计", "value of the products made, at the price of the virgin alternative"),
    "programmes": ("项目表中已建成或已验收（或由规划建成并运行）的该类项目个数；拟建、已批复不计",
                   "number of programmes of the kind that stand: built or accepted (or built and run by the plan); "
                   "proposed and approved ones do not count"),
    "rail_share": ("铁路运输吨公里占全部吨公里的比例", "share of tonne-km moved by rail"),
    "co2": ("运输和加工工艺排放的二氧化碳（千克）", "kg of CO2 emitted by transport and processes"),
    "co2_avoided": ("所替代原生产品的二氧化碳减去运输和加工排放（千克）",
                    "kg of CO2 of the virgin products displaced, minus the CO2 emitted"),
    "disposal": ("送去处置（填埋、焚烧）的吨数", "tonnes sent to disposal (landfill, incineration)"),
    "stock_drawn": ("消纳的历史堆存量吨数", "tonnes of legacy stock drawn down"),
}

# What each kind of target does (targets.kind choices in tables.csv).
TARGET_KIND_WORDS: dict[str, tuple[str, str]] = {
    "hard": ("硬约束：规划必须达到；达不到时求解仍给出答案，但以“不可行”标出，并逐项说明是哪个目标、差多少、为什么",
             "a constraint the plan must meet; when it cannot, the planner still answers, marks the plan "
             "infeasible and says which target fails, by how much and why"),
    "soft": ("软约束：每单位缺口（按本行单位）计罚金 penalty，计入目标函数；罚金高于达成成本时规划会尽量达到",
             "met when meeting it costs less than its penalty per unit of shortfall (in the row's unit), "
             "which is added to the objective"),
    "report": ("仅报告：不影响规划，只在结果中报告实际值与差距", "does not steer the plan; the value and gap are only reported"),
}

# Material kinds (materials.kind choices).
MATERIAL_KIND_WORDS: dict[str, tuple[str, str]] = {
    "industrial_waste": ("工业固废", "industrial solid waste"),
    "recycled_resource": ("再生资源", "recycled resource"),
    "urban_waste": ("城市废物（生活垃圾、污泥等）", "urban waste (municipal waste, sludge…)"),
    "product": ("产品", "product"),
}


def _check_words(words: dict[str, Any], expected: tuple[str, ...] | list[str], what: str) -> None:
    """The hand-written words cover exactly the codes the code defines (else the build fails)."""
    missing, extra = set(expected) - set(words), set(words) - set(expected)
    if missing or extra:
        raise ValueError(f"docs/hooks.py: {what} words out of date: missing {sorted(missing)}, unknown {sorted(extra)}")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ").strip()
    return text.replace("[", "\\[").replace("]", "\\]") if "`" not in text else text


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _generated_from(*paths: str) -> str:
    shown = "、".join(f"`{p}`" for p in paths)
    return (f'\n!!! note "自动生成 / generated"\n    本页在构建文档时由 {shown} 生成，与程序使用同一定义。'
            f"\n    Written at build time from {shown.replace('、', ', ')}: the same definitions the code uses.\n\n")


def template_tables() -> tuple[str, ...]:
    """The sheets of the workbook ``resynergy data template`` writes, in its order."""
    from resynergy.scenario.template import FILLABLE

    return (*FILLABLE, *schema.RECORD_TABLES)


def _table_words(name: str) -> tuple[str, str]:
    from resynergy.web.i18n import TABLES

    return TABLES.get(name, {"actual_flows": ("实际流向（联单）", "Actual flows (manifests)")}.get(name, (name, name)))


def _choice_words(column: str, choice: str) -> str:
    from resynergy.web.i18n import CHOICES

    zh_en = CHOICES.get(column, {}).get(choice)
    if column == "kind" and choice in MATERIAL_KIND_WORDS:
        zh_en = MATERIAL_KIND_WORDS[choice]
    return f"`{choice}` {zh_en[0]}" if zh_en else f"`{choice}`"


def _columns_table(name: str) -> str:
    rows = []
    for c in schema.columns(name):
        rows.append([
            f"`{c.name}`", c.label_zh, c.label_en, c.unit, "是 yes" if c.required else "",
            c.default, "; ".join(_choice_words(c.name, ch) for ch in c.choices), f"`{c.ref}`" if c.ref else "",
            c.description_zh, c.description,
        ])
    return _table(["列 column", "中文列名", "English", "单位 unit", "必填 required", "默认 default",
                   "可选值 choices", "引用 must exist in", "说明", "description"], rows)


def template_page() -> str:
    from resynergy.scenario.template import examples

    tables = template_tables()
    ex = examples()
    out = ["# 模板逐表说明 / The template, sheet by sheet\n", _generated_from("schema/tables.csv", "scenario/template.py"),
           "用 `resynergy data template 模板.xlsx` 生成空白模板（`--from jjj-2022` 填入内置数据）。"
           "每个工作表对应一张表：第 1 行是中英文列名，第 2 行是程序读取的列代码（请勿修改），第 3 行是示例行"
           "（导入时忽略），从第 4 行起填写。空白单元格取默认值。填好后用 `resynergy data validate 模板.xlsx` 校验。\n\n"
           "`resynergy data template FILE.xlsx` writes the blank workbook. Row 1 holds the labels, row 2 the "
           "column keys (do not edit), row 3 an example (ignored on import); fill in from row 4. Blank cells take "
           "the default. Check it with `resynergy data validate FILE.xlsx`.\n\n",
           "工作表 / sheets: " + " · ".join(f"[`{t}`](#{t})" for t in tables) + "\n"]
    for name in tables:
        zh, en = _table_words(name)
        out.append(f"\n## `{name}` {zh} / {en} {{#{name}}}\n\n")
        keys = schema.key_columns(name)
        if keys:
            out.append(f"每行由 {'、'.join(f'`{k}`' for k in keys)} 唯一确定 / a row is identified by "
                       f"{', '.join(f'`{k}`' for k in keys)}.\n\n")
        out.append(_columns_table(name))
        sample = ex.get(name)
        if sample:
            shown = ", ".join(f"{k} = {v}" for k, v in sample.items() if str(v) != "")
            out.append(f"\n示例行 / example row: {_cell(shown)}\n")
    out.append("\n## 参考表（目录自带）/ Reference tables (the catalog's) {#reference}\n\n"
               "以下表格由程序目录提供，模板中不含；情景可自带同名表覆盖。"
               "These come from the catalog and are not in the template; a scenario may bring its own.\n")
    for name in schema.REFERENCE_TABLES:
        out.append(f"\n### `{name}` {{#{name}}}\n\n")
        out.append(_columns_table(name))
    return "".join(out)


def _materials_of(kinds: tuple[str, ...]) -> str:
    mats = catalog.table("materials")
    picked = mats[mats["kind"].isin(kinds)] if kinds else mats
    return "、".join(f"{r.name_zh}（`{r.code}`）" for r in picked.itertuples())


def _processes_flagged(flag: str) -> str:
    procs = catalog.table("processes")
    picked = procs[procs[flag].astype(bool)]
    return "、".join(f"{r.name_zh}（`{r.id}`）" for r in picked.itertuples())


def indicator_rows() -> list[dict[str, str]]:
    """What each indicator counts, in words, from its definition and the catalog."""
    from resynergy.web.i18n import CHOICES

    _check_words(BASIS_WORDS, BASES, "indicator basis")
    flag_label = {c.name: c.label_zh for c in schema.columns("processes")}
    rows = []
    for ind in INDICATORS.values():
        zh, en = BASIS_WORDS[ind.basis]
        scope = []
        if ind.material_kinds:
            kinds = "、".join(MATERIAL_KIND_WORDS[k][0] for k in ind.material_kinds)
            scope.append(f"物料类别 / material kinds: {kinds}（{_materials_of(ind.material_kinds)}）")
        if ind.process_flag:
            scope.append(f"工艺标记 / processes flagged `{ind.process_flag}`（{flag_label[ind.process_flag]}）: "
                         f"{_processes_flagged(ind.process_flag)}")
        if ind.programme_kind:
            words = CHOICES["kind"].get(ind.programme_kind, (ind.programme_kind, ""))[0]
            scope.append(f"项目类别 / programme kind `{ind.programme_kind}`（{words}）")
        rows.append({"id": ind.id, "name_zh": ind.name_zh, "name_en": ind.name_en, "unit": ind.unit,
                     "dimension": units.DIMENSION_ZH.get(units.dimension(ind.unit), ""), "basis": ind.basis,
                     "counts_zh": zh, "counts_en": en, "scope": "；".join(scope),
                     "better": "越高越好（目标为下限）higher is better (a floor)" if ind.better == "higher"
                     else "越低越好（目标为上限）lower is better (a ceiling)",
                     "version": str(ind.version)})
    return rows


def indicators_page() -> str:
    from resynergy.web.i18n import CHOICES

    kinds = next(c for c in schema.columns("targets") if c.name == "kind").choices
    _check_words(TARGET_KIND_WORDS, kinds, "target kind")
    unit_col = next(c for c in schema.columns("targets") if c.name == "unit")
    rows = indicator_rows()
    out = ["# 指标与目标 / Indicators and targets\n",
           _generated_from("indicators/definitions.py", "catalog/data/targets.csv", "schema/units.py"),
           "目标表（`targets`）的“指标”列只能填下列指标代码；单位可用该指标量纲内的任一单位，读入时统一换算。"
           "一吨物料只在进入利用设施时计一次。\n\n"
           "The `indicator` column of `targets` takes one of these ids; the unit may be any unit of the "
           "indicator's dimension and is converted once, when the scenario is read. A tonne counts once, "
           "when it enters a utilizing facility.\n\n## 指标一览 / Indicators {#indicators}\n\n",
           _table(["指标代码 id", "中文", "English", "单位 unit", "方向 direction", "版本 version"],
                  [[f"`{r['id']}`", r["name_zh"], r["name_en"], f"{r['unit']}（{r['dimension']}）", r["better"],
                    r["version"]] for r in rows])]
    for r in rows:
        out.append(f"\n### `{r['id']}` {r['name_zh']} / {r['name_en']} {{#{r['id']}}}\n\n"
                   f"- 统计 / counts: {r['counts_zh']} — {r['counts_en']}\n")
        if r["scope"]:
            out.append(f"- 范围 / scope: {r['scope']}\n")
        out.append(f"- 单位 / unit: `{r['unit']}`；{r['better']}；版本 version {r['version']}\n")
    out.append("\n## 目标类型 / Target kinds {#target-kinds}\n\n")
    out.append(_table(["kind", "平台用语", "含义", "meaning"],
                      [[f"`{k}`", CHOICES["kind"].get(k, ("", ""))[0], *TARGET_KIND_WORDS[k]] for k in kinds]))
    out.append("\n## 目标单位 / Target units {#target-units}\n\n")
    out.append(_table(["单位 unit", "量纲", "dimension", "折算为基本单位 factor to t / yuan / count / share"],
                      [[f"`{u}`", units.DIMENSION_ZH[d], d, f"{f:g}"] for u, (d, f) in units.UNITS.items()
                       if u in unit_col.choices]))
    out.append(statuses_section())
    targets = catalog.table("targets")
    out.append("\n## 计划的 2022 年目标（目录自带）/ The plan's 2022 targets (catalog) {#plan-targets}\n\n")
    out.append(_table(["id", "指标 indicator", "年份 year", "目标值 value", "单位 unit", "类型 kind", "罚金 penalty",
                       "中文", "English"],
                      [[f"`{t.id}`", f"[`{t.indicator}`](#{t.indicator})", t.year, f"{t.value:g}", t.unit, t.kind,
                        f"{t.penalty:g}", t.name_zh, t.name_en] for t in targets.itertuples()]))
    out.append("\n来源见 / sources: [目录数据来源 / catalog sources](../sources/catalog.md)。\n")
    return "".join(out)


def statuses_section() -> str:
    """The statuses a target and a plan can have, in the reports' words."""
    from resynergy.report.labels import STATUS
    from resynergy.states import PlanStatus, TargetStatus

    out = ["\n## 目标状态 / Target statuses {#target-statuses}\n\n",
           _table(["status", "中文", "English"],
                  [[f"`{s.value}`", *STATUS.get(s.value, ("", ""))] for s in TargetStatus]),
           "\n## 规划状态 / Plan statuses {#plan-statuses}\n\n",
           _table(["status", "中文", "English"],
                  [[f"`{s.value}`", *STATUS.get(s.value, ("", ""))] for s in PlanStatus])]
    return "".join(out)


def outputs_table() -> str:
    """Every result table of a plan (``schema/output_tables.csv``): its plan.xlsx sheet and meaning."""
    from resynergy.schema import outputs

    return _table(["表 table", "plan.xlsx 工作表 sheet", "含义", "meaning"],
                  [[f"`{t.name}`", t.sheet, t.description_zh, t.description]
                   for t in outputs.all_tables().values()])


def errors_page() -> str:
    example = Issue("not_number", "supplies", "supplies", 5, "generation_t", "12万吨")
    out = ["# 常见错误与改正 / Common errors and fixes\n",
           _generated_from("schema/issues.py"),
           "`resynergy data validate 模板.xlsx` 一次列出全部问题，每条写明工作表、行、列（中文列名）、取值和改正提示；"
           "有任何错误时整个文件不导入。例如 / for example:\n\n",
           f"```text\n{example.message('zh')}  → {example.hint('zh')}\n{example.message('en')}  → {example.hint('en')}\n```\n\n",
           "`resynergy data validate FILE.xlsx --lang en` lists every problem in English; a file with any error "
           "is rejected whole. Below, every message the checks can give (`…` stands for the specifics), with the fix.\n\n"]
    rows = []
    for code, (zh, en) in Issue.messages.items():
        hint_zh, hint_en = Issue.hints.get(code, ("", ""))
        rows.append([f"`{code}`", re.sub(r"\{[a-z_]+\}", "…", zh), re.sub(r"\{[a-z_]+\}", "…", en),
                     hint_zh, hint_en])
    out.append(_table(["代码 code", "提示", "message", "改正", "fix"], rows))
    return "".join(out)


def codes_page() -> str:
    mats, procs, modes, policy = (catalog.table(n).astype(object) for n in ("materials", "processes", "modes", "policy"))
    flags = [c.name for c in schema.columns("processes") if c.dtype == "bool"]
    out = ["# 参考代码 / Reference codes\n", _generated_from("catalog/data/*.csv"),
           "模板中以“参考”开头的工作表列出相同的代码。The template's 参考 sheets list the same codes.\n\n",
           "## 物料 / Materials {#materials}\n\n",
           _table(["代码 code", "中文", "English", "类别 kind", "固废类别 S-code", "危废 HW", "可处置 disposal allowed"],
                  [[f"`{r.code}`", r.name_zh, r.name_en, _choice_words("kind", r.kind), r.s_code, r.hw_code,
                    "是" if r.disposal_allowed else "否"] for r in mats.fillna("").itertuples()]),
           "\n## 工艺 / Processes {#processes}\n\n",
           _table(["代码 id", "中文", "English", "计划任务 task", "计入 counts as"],
                  [[f"`{r['id']}`", r["name_zh"], r["name_en"], r["task"],
                    ", ".join(f"`{f}`" for f in flags if bool(r[f]))] for _, r in procs.fillna("").iterrows()]),
           "\n## 运输方式 / Transport modes {#modes}\n\n",
           _table(["代码 id", "中文", "English", "yuan/t·km", "yuan/t", "kgCO2/t·km"],
                  [[f"`{r.id}`", r.name_zh, r.name_en, f"{r.cost_per_tkm:g}", f"{r.cost_fixed:g}",
                    f"{r.co2_per_tkm:g}"] for r in modes.itertuples()]),
           "\n## 政策参数 / Policy keys {#policy}\n\n",
           _table(["参数 key", "默认 default", "单位 unit", "说明 description"],
                  [[f"`{r.key}`", f"{r.value:g}", r.unit, r.description] for r in policy.fillna("").itertuples()])]
    return "".join(out)


def _sources(rel: str) -> str:
    """A SOURCES.md as a page: its citations (``[key]``, ``[key] [P]``) are text, not Markdown
    reference links (Markdown links ``[text](url)`` stay links)."""
    path = ROOT / "src" / "resynergy" / rel
    text = re.sub(r"\[([^\]\n]+)\](?!\()", r"\\[\1\\]", path.read_text(encoding="utf-8"))
    return _generated_from(f"src/resynergy/{rel}") + text


def catalog_sources_page() -> str:
    text = _sources("catalog/SOURCES.md")
    head, _, rest = text.partition("\n# ")  # the file's own title becomes the page title
    return f"# {rest.splitlines()[0]}\n\n{head}\n" + "\n".join(rest.splitlines()[1:]) + "\n"


def dataset_sources_page() -> str:
    text = _sources("datasets/jjj-2022/SOURCES.md")
    head, _, rest = text.partition("\n# ")
    return f"# {rest.splitlines()[0]}\n\n{head}\n" + "\n".join(rest.splitlines()[1:]) + "\n"


def _notebook(book: Path) -> dict[str, Any]:
    try:
        return json.loads(book.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"docs/notebooks/{book.name} is not a valid notebook: {exc}") from None


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source or "")


def notebook_title(nb: dict[str, Any], default: str) -> str:
    first = next((_text(c.get("source")) for c in nb.get("cells", []) if c.get("cell_type") == "markdown"), "")
    return next((ln.lstrip("# ").strip() for ln in first.splitlines() if ln.startswith("# ")), default)


def _output(out: dict[str, Any]) -> str:
    """One stored output as Markdown. HTML that carries a script (e.g. a plotly figure, which
    would load plotly.js from a CDN) is shown by its plain-text form instead: the site loads
    nothing from another host."""
    kind = out.get("output_type")
    if kind == "stream":
        return f"```text\n{_text(out.get('text')).rstrip()}\n```\n"
    if kind == "error":
        return f"```text\n{out.get('ename', '')}: {out.get('evalue', '')}\n```\n"
    data = out.get("data", {})
    if "image/png" in data:
        return f"![output](data:image/png;base64,{_text(data['image/png']).strip()})\n"
    html = _text(data.get("text/html"))
    if html and not re.search(r"<script|<iframe|<link|https?://", html, re.I):
        return f'\n<div class="nb-output" markdown="0">\n{html.strip()}\n</div>\n'
    if "text/markdown" in data:
        return _text(data["text/markdown"]) + "\n"
    if "text/plain" in data:
        return f"```text\n{_text(data['text/plain']).rstrip()}\n```\n"
    return ""


def notebook_page(book: Path) -> str:
    """A notebook as a page: its Markdown cells, its code and the outputs stored in it."""
    nb = _notebook(book)
    out = [f"# {notebook_title(nb, book.stem)}\n\n",
           f'!!! note "笔记本 / notebook"\n    `docs/notebooks/{book.name}` — '
           f"[下载 / download](../notebooks/{book.name})。CI 用内置数据执行并检查它 / CI runs it on the built-in data.\n\n"]
    first_heading_done = False
    for cell in nb.get("cells", []):
        src = _text(cell.get("source"))
        if cell.get("cell_type") == "markdown":
            if not first_heading_done and src.lstrip().startswith("# "):  # the title is the page's
                src = "\n".join(src.lstrip().splitlines()[1:])
            first_heading_done = True
            out.append(src + "\n\n")
        elif cell.get("cell_type") == "code" and src.strip():
            out.append(f"```python\n{src.rstrip()}\n```\n\n")
            out += [_output(o) + "\n" for o in cell.get("outputs", [])]
    return "".join(out)


def notebooks() -> list[Path]:
    return sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))


def notebooks_page() -> str:
    """The example notebooks under docs/notebooks/ (executed in CI by tests/test_notebooks.py)."""
    books = notebooks()
    out = ["# 示例笔记本 / Example notebooks\n\n",
           "分析人员可在 Jupyter 中用 Python API 规划、修改政策并比较。这些笔记本在 CI 中用内置数据执行并检查输出。\n\n"
           "Notebooks that plan the built-in region, change a policy and compare, using the documented "
           "[Python API](api/index.md); CI executes them against the built-in data and checks their outputs.\n\n"]
    if not books:
        out.append("（尚无笔记本 / no notebooks yet）\n")
    for book in books:
        title = notebook_title(_notebook(book), book.stem)
        out.append(f"- [{title}](examples/{book.stem}.md) — [`{book.name}`](notebooks/{book.name})\n")
    return "".join(out)


def page(path: str) -> str:
    """The Markdown of one generated page (``GENERATED`` key)."""
    return globals()[GENERATED[path]]()


# --- the model's mathematics: every define_* of planner/model.py, from its docstring ---

MODEL_MARK = "<!-- model-families -->"
OUTPUTS_MARK = "<!-- plan-outputs -->"


def model_families() -> list[tuple[str, str]]:
    """The ``define_*`` functions of the planning model as (name in the model, dotted path of
    the function), those defined in ``model.py`` first, in source order, then those it imports
    (e.g. ``define_actuals``, :func:`resynergy.planner.actuals.constrain`)."""
    from resynergy.planner import model

    own, imported = [], []
    for name, func in inspect.getmembers(model, inspect.isfunction):
        if not name.startswith("define_"):
            continue
        if func.__module__ == model.__name__:
            own.append((inspect.getsourcelines(func)[1], name, f"{func.__module__}.{func.__name__}"))
        else:
            imported.append((name, f"{func.__module__}.{func.__name__}"))
    named = set(re.findall(r"define_\w+", model.__doc__ or ""))
    gone = named - {n for _, n, _ in own} - {n for n, _ in imported}
    if gone:
        raise ValueError(f"planner/model.py's docstring names {sorted(gone)}, which the module no longer defines")
    return [(n, path) for _, n, path in sorted(own)] + sorted(imported)


def model_blocks() -> str:
    """mkdocstrings blocks of ``build`` and every family defined in model.py; a family imported
    from elsewhere gets its docstring verbatim (its formulas are plain lines)."""
    from resynergy.planner import model

    opts = "    options:\n      show_root_heading: true\n      heading_level: 3\n"
    blocks = [f"::: resynergy.planner.model.build\n{opts}"]
    for name, path in model_families():
        if path == f"resynergy.planner.model.{name}":
            blocks.append(f"::: {path}\n{opts}")
        else:
            doc = inspect.getdoc(getattr(model, name)) or ""
            blocks.append(f"### `{name}` {{#resynergy.planner.model.{name}}}\n\n"
                          f"`{path}`\n\n```text\n{doc}\n```\n")
    return "\n".join(blocks)


# --- the public API: every name the package root exports, documented where it is defined ---

PUBLIC_MARK = "<!-- public-api -->"


def public_names() -> list[tuple[str, str]]:
    """(name, dotted path of its definition) for every name of ``resynergy.__all__``."""
    import resynergy

    out = []
    for name in getattr(resynergy, "__all__", []):
        obj = getattr(resynergy, name)  # a lazily exported name is imported here
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if not module or not qualname:
            raise ValueError(f"resynergy.{name} has no module to document it from")
        out.append((name, f"{module}.{qualname}"))
    return out


def public_blocks() -> str:
    names = public_names()
    if not names:
        return ("The package root exports only `__version__` so far; the modules below are the "
                "public API.\n")
    opts = "    options:\n      show_root_heading: true\n      show_root_full_path: false\n      heading_level: 3\n"
    lines = ["`import resynergy as rs` gives these names (`rs.NAME`), each documented where it is "
             "defined:\n\n" + _table(["name", "defined in"], [[f"`{n}`", f"`{p}`"] for n, p in names])]
    lines += [f"::: {path}\n{opts}" for _, path in names]
    return "\n".join(lines)


# --- MkDocs events ---

def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File, InclusionLevel

    for path in GENERATED:
        existing = files.get_file_from_path(path)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, path, content=page(path)))
    for book in notebooks():  # each notebook also as a page, linked from notebooks.md
        files.append(File.generated(config, f"examples/{book.stem}.md", content=notebook_page(book),
                                    inclusion=InclusionLevel.NOT_IN_NAV))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MODEL_MARK in markdown:
        markdown = markdown.replace(MODEL_MARK, model_blocks())
    if PUBLIC_MARK in markdown:
        markdown = markdown.replace(PUBLIC_MARK, public_blocks())
    if OUTPUTS_MARK in markdown:
        markdown = markdown.replace(OUTPUTS_MARK, _generated_from("schema/output_tables.csv") + outputs_table())
    return markdown

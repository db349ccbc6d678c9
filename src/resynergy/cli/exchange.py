"""``resynergy exchange match LISTING``: a listing's counterparts ranked by delivered cost, from
the platform's database (the same service the API and pages use).

Exit codes: 0 done, 1 refused (no such listing, database not ready), 2 usage error.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from resynergy.cli import console
from resynergy.cli.console import Lang, say

app = typer.Typer(rich_markup_mode=None, no_args_is_help=True,
                  help="Exchange: listings and their matches. 供需对接。")


@app.command("match")
def match(listing: Annotated[int, typer.Argument(min=1, help="供需信息编号 / listing id")],
          db: Annotated[str | None, typer.Option("--db", envvar="RESYNERGY_DATABASE_URL", show_envvar=True,
                                                 help="SQLAlchemy URL (default: sqlite:///resynergy.db here)")] = None,
          k: Annotated[int, typer.Option("--k", min=1, max=100, help="返回前 k 个 / how many")] = 10,
          as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout only")] = False,
          lang: Annotated[Lang, typer.Option("--lang", help="zh | en")] = Lang.zh) -> None:
    """Counterparts of a listing ranked by delivered cost (price + transport + handling + CO2),
    with the route and whether the published plan recommends the pairing. 按到厂成本排序的匹配对象。"""
    from resynergy.services import exchange
    from resynergy.services.registry import NotFound

    try:
        found = exchange.console_matches(db, listing, k)
    except NotFound:
        console.err.print(say(lang, f"没有编号为 {listing} 的供需信息", f"no listing {listing}"))
        raise typer.Exit(1) from None
    except LookupError as err:
        console.err.print(say(lang, f"数据库 {err} 尚无供需对接数据表：请先运行 resynergy db upgrade",
                              f"the database {err} has no exchange tables yet: run resynergy db upgrade first"))
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(found, ensure_ascii=False, indent=1, default=str))
        return
    from rich.table import Table

    i = 0 if lang == Lang.zh else 1
    head = found["listing"]
    side = exchange.SIDE_WORDS[head["side"]][i]
    every = f" {head['per_period'][i]}" if head.get("recurrence") else ""
    term = (say(lang, f"（{exchange.RECURRENCE_WORDS[head['recurrence']][0]}，{head['start']} 至 {head['end']}，"
                      f"共 {len(head['periods'])} 期）",
                f" ({exchange.RECURRENCE_WORDS[head['recurrence']][1]}, {head['start']} to {head['end']}, "
                f"{len(head['periods'])} periods)") if head.get("recurrence") else "")
    console.out.print(f"{side} #{listing}: {found['material_name'][i]} {head['available_t']:,.0f} t{every}{term} @ "
                      f"{found['site_name'][i]}", markup=False, highlight=False)
    if found["plan"]:
        console.err.print(say(lang, f"规划推荐依据：已发布规划「{found['plan']['title']}」（运行 {found['plan']['run_id']}）",
                              f"plan marks from the published plan '{found['plan']['title']}' "
                              f"(run {found['plan']['run_id']})"), markup=False)
    if not found["items"]:
        console.err.print(say(lang, "没有符合条件的匹配对象" if found["active"] else "该信息已下架，不参与匹配",
                              "no counterpart fits" if found["active"] else "the listing is withdrawn: not matched"))
        return
    cols = [("#", "#"), ("对方单位", "organisation"), ("站点", "site"), ("物料", "material"), ("数量 t", "quantity t"),
            ("路线", "route"), ("距离 km", "km"), ("价格", "price"), ("运输", "transport"), ("装卸", "handling"),
            ("CO2 kg/t", "CO2 kg/t"), ("碳成本", "CO2 cost"), ("到厂成本 元/t", "delivered yuan/t"), ("规划推荐", "plan")]
    table = Table(*(c[i] for c in cols))

    def num(v, digits=1) -> str:
        return "" if v is None else f"{float(v):,.{digits}f}"

    for n, m in enumerate(found["items"], 1):
        table.add_row(str(n), m["organisation_name"][i], m["site_name"][i], m["material_name"][i],
                      num(m["quantity_t"], 0) + (f" {m['per_period'][i]}" if m.get("recurrence") else ""),
                      str(m["route_zh"] if i == 0 else m["route_en"]),
                      num(m["distance_km"], 0), num(m["price_yuan_t"]) or say(lang, "面议", "negotiable"),
                      num(m["transport_yuan_t"]), num(m["handling_yuan_t"]), num(m["co2_kg_t"]),
                      num(m["co2_yuan_t"]), num(m["delivered_yuan_t"]) + (
                          "" if m["price_yuan_t"] is not None else say(lang, " + 面议价", " + negotiated price")),
                      say(lang, "是", "yes") if m["plan_recommended"] else "")
    console.out.print(table)

"""Hand-built ledgers for the evaluation tests: one month per case, figures from the worked
examples of notes/evaluation.md §5 (block plant, cement plant, gangue power plant)."""

from __future__ import annotations

import pandas as pd

from resynergy.evaluation.ledger import Ledger, _typed

FIRM = {"uscc": "91130200770000000Y", "name": "测试建材有限公司", "province": "130000", "region": "130200",
        "credit_rating": "B", "penalties_6m": False, "separate_accounting": True, "restricted_industry": False}


def ledger(waste: list[dict] | None = None, receipts: list[dict] | None = None, use: list[dict] | None = None,
           products: list[dict] | None = None, **firm: object) -> Ledger:
    """A ledger of the given rows (missing columns take the schema defaults)."""
    return Ledger(waste=_typed("waste", pd.DataFrame(waste or [])),
                  receipts=_typed("receipts", pd.DataFrame(receipts or [])),
                  use=_typed("use", pd.DataFrame(use or [])),
                  products=_typed("products", pd.DataFrame(products or [])),
                  firm={**FIRM, **firm})


def received(month: str, material: str, t: float, supplier: str = "供应单位") -> tuple[dict, dict]:
    """A balanced waste row for waste received and used up in the month, and its receipt."""
    return ({"month": month, "material": material, "received_t": t, "utilized_t": t},
            {"month": month, "material": material, "from_org": supplier, "t": t, "manifest": f"M-{month}-{material}"})


def block_plant(waste_t: float, raw_t: float = 100_000.0, month: str = "2022-06", sales: float = 60e6,
                input_vat: float = 0.0, **firm: object) -> Ledger:
    """AAC blocks (§5.1): fly ash 60 % and slag the rest of the waste; 13 % VAT."""
    fly, slag = waste_t * 0.6, waste_t * 0.4
    w1, r1 = received(month, "fly_ash", fly)
    w2, r2 = received(month, "bf_slag", slag)
    return ledger([w1, w2], [r1, r2],
                  [{"month": month, "material": "fly_ash", "product": "bricks_blocks", "t": fly},
                   {"month": month, "material": "bf_slag", "product": "bricks_blocks", "t": slag}],
                  [{"month": month, "product": "bricks_blocks", "raw_materials_t": raw_t, "produced_t": raw_t,
                    "sold_t": raw_t, "sales_yuan": sales, "vat_rate": 0.13, "input_vat_yuan": input_vat}], **firm)


def cement_plant(grade: str, waste_share: float, raw_t: float = 600_000.0, sales: float = 192e6,
                 month: str = "2022-06") -> Ledger:
    """One cement grade (§5.2): FGD gypsum 5 % plus slag for the rest of the waste share."""
    gypsum, slag = 0.05 * raw_t, (waste_share - 0.05) * raw_t
    w1, r1 = received(month, "fgd_gypsum", gypsum)
    w2, r2 = received(month, "bf_slag", slag)
    return ledger([w1, w2], [r1, r2],
                  [{"month": month, "material": "fgd_gypsum", "product": "cement", "grade": grade, "t": gypsum},
                   {"month": month, "material": "bf_slag", "product": "cement", "grade": grade, "t": slag}],
                  [{"month": month, "product": "cement", "grade": grade, "raw_materials_t": raw_t,
                    "produced_t": raw_t, "sold_t": raw_t, "sales_yuan": sales, "vat_rate": 0.13}])


def gangue_power(gangue_share: float, fuel_t: float = 3_000_000.0, sales: float = 1_089e6,
                 month: str = "2022-06") -> Ledger:
    """A CFB plant (§5.3) burning gangue from its own mine's washery (received) and coal."""
    g = gangue_share * fuel_t
    w, r = received(month, "coal_gangue", g, "煤矿洗煤厂")
    return ledger([w], [r], [{"month": month, "material": "coal_gangue", "product": "electricity", "t": g}],
                  [{"month": month, "product": "electricity", "raw_materials_t": fuel_t, "produced_t": 3.3e6,
                    "sold_t": 3.3e6, "sales_yuan": sales, "vat_rate": 0.13}])

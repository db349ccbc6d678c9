"""Write the synthetic sample ledger of the evaluation quickstart:
src/resynergy/evaluation/data/samples/block-plant-2022.xlsx.

A made-up autoclaved-aerated-block plant in Tangshan for 2022 (the worked example of
notes/evaluation.md §5.1, scaled to 12 months). Every figure is synthetic, chosen to show the
engine's answers: fly ash and slag received from named (fictitious) suppliers with manifests, a
coal boiler whose furnace slag is partly reused and partly sent to a compliant yard, a February
(Spring Festival) below the 70 % share, and Jan–Feb under the 2015 VAT catalogue.

    python scripts/build_evaluation_sample.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from resynergy.evaluation.ledger import Ledger, _typed, write_template

OUT = Path(__file__).resolve().parents[1] / "src/resynergy/evaluation/data/samples/block-plant-2022.xlsx"
FIRM = {"uscc": "91130200MA0B7XKQ10", "name": "【合成示例】唐山某加气混凝土砌块有限公司（虚构企业，数据为合成）",
        "province": "130000", "region": "130200", "credit_rating": "B", "penalties_6m": False,
        "separate_accounting": True, "restricted_industry": False}
RAW_T = 9_000.0  # t of raw materials a month (dry)
PRICE = 600.0  # CNY per t of blocks sold, excl. VAT (synthetic)


def build() -> Ledger:
    waste, receipts, use, products = [], [], [], []
    slag_stock = 40.0
    for m in range(1, 13):
        month = f"2022-{m:02d}"
        share = 0.66 if m == 2 else 0.72  # February: less ash delivered over the Spring Festival
        fly = round(RAW_T * share * 0.75, 1)
        bf = round(RAW_T * share * 0.20, 1)
        own_slag = round(RAW_T * share - fly - bf, 1)
        for material, t, org, code in (("fly_ash", fly, "【虚构】唐山某热电有限公司", "FA"),
                                       ("bf_slag", bf, "【虚构】唐山某钢铁有限公司", "BF")):
            waste.append({"month": month, "material": material, "received_t": t, "utilized_t": t})
            receipts.append({"month": month, "material": material, "from_org": org, "t": t,
                             "manifest": f"SYN-{code}-2022{m:02d}01"})
            use.append({"month": month, "material": material, "product": "bricks_blocks", "t": t})
        generated = 334.0  # furnace slag of the plant's own coal boiler
        stored = 10.0
        closing = round(slag_stock + generated - own_slag - stored, 1)
        if closing < 0:
            own_slag, closing = round(slag_stock + generated - stored, 1), 0.0
        waste.append({"month": month, "material": "furnace_slag", "opening_t": slag_stock, "generated_t": generated,
                      "utilized_t": own_slag, "stored_t": stored, "closing_t": closing})
        use.append({"month": month, "material": "furnace_slag", "product": "bricks_blocks", "t": own_slag})
        slag_stock = closing
        sold = RAW_T * 0.95
        products.append({"month": month, "product": "bricks_blocks", "raw_materials_t": RAW_T, "produced_t": RAW_T * 0.96,
                         "sold_t": sold, "sales_yuan": round(sold * PRICE, 2), "vat_rate": 0.13,
                         "input_vat_yuan": round(sold * PRICE * 0.05, 2)})
    return Ledger(waste=_typed("waste", pd.DataFrame(waste)), receipts=_typed("receipts", pd.DataFrame(receipts)),
                  use=_typed("use", pd.DataFrame(use)), products=_typed("products", pd.DataFrame(products)),
                  firm=FIRM)


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    print(write_template(OUT, build()))

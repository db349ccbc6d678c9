"""Helpers for the evaluation platform tests: a firm's quarterly ledger in the core's XLSX
template, an evaluator listed for a province, and an evaluation taken to a given state through
the API (the workflow under test is the platform's; the numbers are the core's)."""

from __future__ import annotations

from support.platform import ORG_A

# A block plant's first quarter of 2022: fly ash received (with manifests) and used in bricks and
# blocks at 5,100 / 7,200 = 70.8 % of the raw materials (the 2022 VAT item 2.1 asks ≥ 70 %);
# the stock balances month to month (opening + received − utilized = closing).
MONTHS = ("2022-01", "2022-02", "2022-03")
RECEIVED_T, UTILIZED_T, RAW_T = 5000.0, 5100.0, 7200.0


def ledger_dict(uscc: str = ORG_A, name: str = "承德矿业", region: str = "130800", *, utilized_t: float = UTILIZED_T,
                break_balance: bool = False) -> dict:
    waste, receipts, use, products = [], [], [], []
    stock = 1200.0
    for i, month in enumerate(MONTHS):
        closing = stock + RECEIVED_T - utilized_t + (500.0 if break_balance and i == 1 else 0.0)
        waste.append({"month": month, "material": "fly_ash", "opening_t": stock, "generated_t": 0.0,
                      "received_t": RECEIVED_T, "utilized_t": utilized_t, "stored_t": 0.0, "disposed_t": 0.0,
                      "transferred_t": 0.0, "closing_t": closing})
        receipts.append({"month": month, "material": "fly_ash", "from_org": "示例热电厂", "from_site": "",
                         "t": RECEIVED_T, "manifest": f"HB2022{i + 1:02d}0001"})
        use.append({"month": month, "material": "fly_ash", "product": "bricks_blocks", "grade": "", "t": utilized_t})
        products.append({"month": month, "product": "bricks_blocks", "grade": "", "raw_materials_t": RAW_T,
                         "produced_t": 6800.0, "sold_t": 6500.0, "sales_yuan": 1_950_000.0, "vat_rate": 0.13,
                         "input_vat_yuan": 0.0})
        stock = closing
    firm = {"uscc": uscc, "name": name, "province": region[:2] + "0000", "region": region, "credit_rating": "B",
            "penalties_6m": False, "separate_accounting": True, "restricted_industry": False}
    return {"waste": waste, "receipts": receipts, "use": use, "products": products, "firm": firm}


def ledger_xlsx(**kwargs) -> bytes:
    """The ledger in the core's template (the file a firm uploads)."""
    from resynergy.evaluation import Ledger, ledger_to_xlsx

    return ledger_to_xlsx(Ledger.from_dict(ledger_dict(**kwargs)))


def if_match(ev: dict) -> dict:
    return {"If-Match": f'"{ev["row_version"]}"'}


def list_evaluator(client, headers: dict, username: str = "evaluator", province: str = "130000") -> int:
    """List ``username`` for ``province`` (as the admin); the evaluator's user id."""
    r = client.post("/api/v1/evaluators", json={"username": username, "province": province,
                                                "name": "河北省资源综合利用评价中心"}, headers=headers["admin"])
    assert r.status_code in (201, 409), r.text
    items = client.get("/api/v1/evaluators", params={"province": province}, headers=headers["admin"]).json()["items"]
    return next(i["user_id"] for i in items if i["username"] == username)


def apply(client, headers: dict, firm: str = "ent_a", evaluator: str = "evaluator", period: str = "2022Q1",
          **ledger) -> dict:
    """A draft application of ``firm`` with an uploaded ledger and a listed evaluator."""
    province = ledger.get("region", "130800")[:2] + "0000"
    eid = list_evaluator(client, headers, evaluator, province)
    up = client.post("/api/v1/ledgers", files={"file": ("台账.xlsx", ledger_xlsx(**ledger))}, headers=headers[firm])
    assert up.status_code == 201, up.text
    r = client.post("/api/v1/evaluations", json={"period": period, "ledger_id": up.json()["id"],
                                                 "products": ["bricks_blocks"], "evaluator_id": eid},
                    headers=headers[firm])
    assert r.status_code == 201, r.text
    return r.json()


def step(client, headers: dict, who: str, ev: dict, action: str, expect: int = 200, **body) -> dict:
    r = client.post(f"/api/v1/evaluations/{ev['id']}/transitions", json={"action": action, **body},
                    headers={**headers[who], **if_match(ev)})
    assert r.status_code == expect, r.text
    return r.json()


def to_state(client, headers: dict, ev: dict, state: str, firm: str = "ent_a", evaluator: str = "evaluator",
             department: str = "admin") -> dict:
    """``ev`` (a draft) taken along the main path to ``state``."""
    path = [("submit", firm), ("approve", evaluator), ("file", firm), ("publish", department)]
    after = {"submit": "submitted", "approve": "approved", "file": "filed", "publish": "published"}
    for action, who in path:
        if ev["state"] == state:
            break
        extra = {"filed_with": "承德市工业和信息化局"} if action == "file" else {}
        ev = step(client, headers, who, ev, action, **extra)
        assert ev["state"] == after[action]
    assert ev["state"] == state
    return ev

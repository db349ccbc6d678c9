"""Registry REST resources: CRUD, validation with located bilingual errors, tenancy and province
scope, paging, filtering, export, audit — on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import openpyxl
import pytest

from support.platform import ORG_A, ORG_B

SUPPLY = {"site": "cd-mine", "material": "steel_slag", "year": 2022, "generation_t": 5000.0}


def body_of(row: dict) -> dict:
    """A stored row as a PUT body (without the fields the server keeps)."""
    return {k: v for k, v in row.items() if k not in ("pk", "updated_at", "row_version")}


def match(row: dict) -> dict:
    return {"If-Match": f'"{row["row_version"]}"'}


def ids(resp) -> list[str]:
    return sorted(r.get("id") or r.get("site") or r.get("uscc") for r in resp.json()["items"])


def test_create_read_replace_delete_and_audit(client, users):
    h = users.headers["planner"]
    r = client.post("/api/v1/supplies", json=SUPPLY, headers=h)
    assert r.status_code == 201, r.text
    row = r.json()
    assert row["generation_t"] == 5000.0 and row["disposal_cost"] == 40.0  # schema default filled
    pk = row["pk"]
    assert client.get(f"/api/v1/supplies/{pk}", headers=h).json()["material"] == "steel_slag"
    r = client.put(f"/api/v1/supplies/{pk}", json={**SUPPLY, "generation_t": 7000.0}, headers={**h, **match(row)})
    assert r.status_code == 200 and r.json()["generation_t"] == 7000.0
    assert r.headers["ETag"] == '"2"' and r.json()["row_version"] == 2
    assert client.delete(f"/api/v1/supplies/{pk}", headers={**h, **match(r.json())}).status_code == 204
    assert client.get(f"/api/v1/supplies/{pk}", headers=h).status_code == 404
    log = client.get("/api/v1/audit?object_type=supplies", headers=users.headers["admin"]).json()["items"]
    actions = [(e["action"], e["actor"]) for e in log if e["object_id"] == str(pk)]
    assert actions == [("delete", "planner"), ("update", "planner"), ("create", "planner")]
    update = next(e for e in log if e["action"] == "update" and e["object_id"] == str(pk))
    assert update["before"]["generation_t"] == 5000.0 and update["after"]["generation_t"] == 7000.0


def test_domain_errors_name_the_field_in_both_languages(client, users):
    h = users.headers["admin"]
    r = client.post("/api/v1/supplies", json={**SUPPLY, "site": "no-such-site"}, headers=h)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_failed" and body["field"] == "site"
    issue = body["issues"][0]
    assert issue["code"] == "unknown_ref" and issue["value"] == "no-such-site"
    assert "sites" in issue["message_en"] and "不存在" in issue["message_zh"]
    # a product is not a waste supply (a cross-table rule of the scenario validators)
    r = client.post("/api/v1/supplies", json={**SUPPLY, "material": "cement"}, headers=h)
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "wrong_kind"


def test_type_and_range_errors_are_bilingual_and_strict(client, users):
    h = users.headers["admin"]
    r = client.post("/api/v1/supplies", json={**SUPPLY, "generation_t": -1}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "generation_t"
    assert r.json()["issues"][0]["message_zh"] == "应不小于 0.0"
    r = client.post("/api/v1/supplies", json={**SUPPLY, "generation_t": "5000"}, headers=h)  # strict: no strings
    assert r.status_code == 422
    r = client.post("/api/v1/supplies", json={**SUPPLY, "must_use": 0}, headers=h)  # strict: no 0 for false
    assert r.status_code == 422
    r = client.post("/api/v1/supplies", json={**SUPPLY, "colour": "red"}, headers=h)
    assert r.status_code == 422 and r.json()["issues"][0]["message_zh"] == "不允许的字段"
    r = client.post("/api/v1/supplies", content=b"{not json", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


def test_duplicate_key_is_a_conflict(client, users):
    h = users.headers["admin"]
    dup = {"site": "cd-mine", "material": "tailings", "year": 2022, "generation_t": 1.0}
    r = client.post("/api/v1/supplies", json=dup, headers=h)
    assert r.status_code == 409 and r.json()["issues"][0]["code"] == "duplicate"


def test_delete_that_leaves_references_dangling_is_refused(client, users):
    h = users.headers["admin"]
    site = client.get("/api/v1/sites?q=cd-mine", headers=h).json()["items"][0]
    r = client.delete(f"/api/v1/sites/{site['pk']}", headers={**h, **match(site)})
    assert r.status_code == 409
    assert "site=cd-mine" in r.json()["issues"][0]["source"]
    assert client.get(f"/api/v1/sites/{site['pk']}", headers=h).status_code == 200  # nothing deleted


def test_enterprise_sees_and_changes_only_its_own_records(client, users):
    a, b = users.headers["ent_a"], users.headers["ent_b"]
    assert ids(client.get("/api/v1/sites", headers=a)) == ["cd-mine", "cd-plant"]
    assert ids(client.get("/api/v1/sites", headers=b)) == ["bj-site"]
    assert ids(client.get("/api/v1/organisations", headers=a)) == [ORG_A]
    assert client.get("/api/v1/supplies", headers=b).json()["total"] == 0
    assert client.get("/api/v1/demands", headers=b).json()["total"] == 2
    # own: allowed; other organisation's site: refused like a site that does not exist, nothing written
    assert client.post("/api/v1/supplies", json=SUPPLY, headers=a).status_code == 201
    r = client.post("/api/v1/supplies", json={**SUPPLY, "site": "bj-site"}, headers=a)
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "unknown_ref"
    # another organisation's record is invisible (404, not 403)
    bj = client.get("/api/v1/sites", headers=b).json()["items"][0]
    assert client.get(f"/api/v1/sites/{bj['pk']}", headers=a).status_code == 404
    assert client.put(f"/api/v1/sites/{bj['pk']}", json=body_of(bj),
                      headers=a).status_code == 404
    # moving an own site to another organisation is refused (to A, B is an unknown organisation)
    mine = client.get("/api/v1/sites?q=cd-mine", headers=a).json()["items"][0]
    assert client.put(f"/api/v1/sites/{mine['pk']}", json={**body_of(mine), "org_uscc": ORG_B},
                      headers={**a, **match(mine)}).status_code == 422  # another org: unknown, like a missing one
    # shared tables: readable, not writable
    assert client.get("/api/v1/regions", headers=a).json()["total"] == 3
    region = {"code": "130200", "name_zh": "唐山市", "name_en": "Tangshan", "level": "prefecture", "parent": "130000",
              "lat": 39.6, "lon": 118.2}
    assert client.post("/api/v1/regions", json=region, headers=a).status_code == 403


def test_enterprise_can_edit_own_contacts(client, users):
    a = users.headers["ent_a"]
    org = client.get("/api/v1/organisations", headers=a).json()["items"][0]
    r = client.put(f"/api/v1/organisations/{org['pk']}", json={**body_of(org), "contact_phone": "0314-1234567"},
                   headers={**a, **match(org)})
    assert r.status_code == 200 and r.json()["contact_phone"] == "0314-1234567"
    assert client.post("/api/v1/organisations", json={**body_of(org), "uscc": ORG_B}, headers=a).status_code == 403


def test_province_scope_limits_planners(client, users):
    h = users.headers["planner_bj"]
    assert ids(client.get("/api/v1/sites", headers=h)) == ["bj-site"]
    assert client.get("/api/v1/supplies", headers=h).json()["total"] == 0  # Chengde's supply is out of scope
    r = client.post("/api/v1/supplies", json=SUPPLY, headers=h)  # a Hebei site: unknown to this planner
    assert r.status_code == 422 and r.json()["issues"][0]["code"] == "unknown_ref"
    region = {"code": "130200", "name_zh": "唐山市", "name_en": "Tangshan", "level": "prefecture", "parent": "130000",
              "lat": 39.6, "lon": 118.2}
    r = client.post("/api/v1/regions", json=region, headers=h)  # shared table, outside the province
    assert r.status_code == 403 and "110000" in r.json()["issues"][0]["message_en"]
    # the unscoped planner and the regulator see everything
    assert client.get("/api/v1/sites", headers=users.headers["planner"]).json()["total"] == 3
    assert client.get("/api/v1/sites", headers=users.headers["regulator"]).json()["total"] == 3


def test_read_only_roles_cannot_write(client, users):
    for who in ("regulator", "evaluator", "public", "anonymous"):
        r = client.post("/api/v1/supplies", json=SUPPLY, headers=users.headers[who])
        assert r.status_code == (401 if who == "anonymous" else 403), who


def test_paging_filtering_and_search(client, users):
    h = users.headers["admin"]
    for year in range(2015, 2022):
        assert client.post("/api/v1/supplies", json={**SUPPLY, "year": year}, headers=h).status_code == 201
    page = client.get("/api/v1/supplies?limit=3&offset=0", headers=h).json()
    assert page["total"] == 8 and len(page["items"]) == 3
    rest = client.get("/api/v1/supplies?limit=3&offset=6", headers=h).json()
    assert len(rest["items"]) == 2
    assert client.get("/api/v1/supplies?material=steel_slag", headers=h).json()["total"] == 7
    assert client.get("/api/v1/supplies?material=steel_slag&year=2019", headers=h).json()["total"] == 1
    assert client.get("/api/v1/sites?province=110000", headers=h).json()["total"] == 1
    assert client.get("/api/v1/supplies?province=130000", headers=h).json()["total"] == 8
    assert ids(client.get("/api/v1/sites?q=SAND", headers=h)) == ["cd-plant"]  # case-insensitive
    assert client.get("/api/v1/sites?province=13", headers=h).status_code == 422
    assert client.get("/api/v1/sites?limit=0", headers=h).status_code == 422


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_respects_scope_and_defuses_formulas(client, users, fmt):
    h = users.headers["admin"]
    sites = client.get("/api/v1/sites?q=bj-site", headers=h).json()["items"][0]
    body = body_of(sites)
    assert client.put(f"/api/v1/sites/{sites['pk']}", json={**body, "name_en": "=HYPERLINK(\"x\")"},
                      headers={**h, **match(sites)}).status_code == 200
    r = client.get(f"/api/v1/sites/export?format={fmt}", headers=users.headers["ent_b"])
    assert r.status_code == 200
    if fmt == "csv":
        text = r.content.decode("utf-8-sig")
        assert "bj-site" in text and "cd-mine" not in text
        assert "'=HYPERLINK" in text
    else:
        wb = openpyxl.load_workbook(io.BytesIO(r.content))
        ws = wb["sites"]
        values = [c.value for row in ws.iter_rows() for c in row]
        assert "bj-site" in values and "cd-mine" not in values
        cell = next(c for row in ws.iter_rows() for c in row if c.value == '=HYPERLINK("x")')
        assert cell.data_type == "s"  # text, not a formula

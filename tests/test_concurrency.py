"""Registry integrity under concurrency (issue 9, items 1, 3, 4, 5): threads against a live app
(uvicorn on a loopback port) on SQLite and PostgreSQL.

- a site deleted while a supply referring to it is posted never leaves an orphan;
- a registry holding an invalid row still accepts writes that do not touch it;
- two PUTs of one row with the same If-Match: exactly one wins, the other gets a conflict;
- two imports updating the same rows never both report success over each other's rows, and the
  audit's "before" is always the row actually replaced;
- two creates of one key: one 201, one 409 (never 500);
- a SQLite write lock held past the busy timeout answers 503 with Retry-After, not 500;
- pks of deleted rows are never handed out again.
"""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from support.platform import seed, together

SUPPLY = {"site": "cd-mine", "material": "steel_slag", "year": 2022, "generation_t": 5000.0}
SITE = {"name_zh": "临时站点", "name_en": "Temporary site", "region": "130800", "lat": 40.9, "lon": 117.9,
        "roles": "generator", "source": "test"}


def orphans(url: str) -> list[tuple]:
    """Rows whose reference leads nowhere, by query (not by the app's checks)."""
    from resynergy.store.db import dangling_references

    engine = sa.create_engine(url)
    try:
        return dangling_references(engine)
    finally:
        engine.dispose()


def test_delete_site_while_posting_a_supply_never_leaves_an_orphan(live):
    server, users, url = live
    h = users.headers["admin"]
    with httpx.Client(base_url=server.url, timeout=120) as c:
        for i in range(6):
            site = c.post("/api/v1/sites", json={**SITE, "id": f"tmp-{i}"}, headers=h)
            assert site.status_code == 201, site.text
            row = site.json()

            def delete(row=row, tag=site.headers["ETag"]):
                return c.delete(f"/api/v1/sites/{row['pk']}", headers={**h, "If-Match": tag})

            def post(i=i):
                return c.post("/api/v1/supplies", json={**SUPPLY, "site": f"tmp-{i}"}, headers=h)

            deleted, posted = together(delete, post)
            assert deleted.status_code in (204, 409) and posted.status_code in (201, 409, 422), (
                deleted.text, posted.text)
            # exactly one of them happened, and the answers say which
            assert (deleted.status_code == 204) != (posted.status_code == 201), (deleted.text, posted.text)
            assert not orphans(url)
            exists = c.get(f"/api/v1/sites/{row['pk']}", headers=h).status_code == 200
            assert exists == (posted.status_code == 201)
        # later writes are not blocked by anything the race left behind
        assert c.post("/api/v1/supplies", json={**SUPPLY, "year": 2030}, headers=h).status_code == 201


def test_an_invalid_stored_row_does_not_block_unrelated_writes(app, db_url):
    from fastapi.testclient import TestClient

    from resynergy.store.models import REGISTRY

    users = seed(app)
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # a row no validator would have let in (e.g. from an older version)
        conn.execute(sa.update(REGISTRY["sites"]).where(REGISTRY["sites"].c.id == "bj-site")
                     .values(roles="bogus"))
    engine.dispose()
    with TestClient(app) as c:
        h = users.headers["admin"]
        r = c.post("/api/v1/supplies", json=SUPPLY, headers=h)
        assert r.status_code == 201, r.text
        # a write that does touch the bad row is told about it, located in the registry
        r = c.post("/api/v1/demands", json={"site": "bj-site", "material": "cement", "year": 2030,
                                             "quantity_t": 1.0, "value": 1.0}, headers=h)
        assert r.status_code == 422 and r.json()["issues"][0]["code"] == "bad_role"
        assert "bj-site" in r.json()["issues"][0]["source"]


def test_two_concurrent_puts_of_one_row_exactly_one_wins(live):
    server, users, _ = live
    h = users.headers["planner"]
    with httpx.Client(base_url=server.url, timeout=120) as c:
        row = c.post("/api/v1/supplies", json=SUPPLY, headers=h)
        pk, tag = row.json()["pk"], row.headers["ETag"]
        for round_ in range(4):
            values = (1000.0 + round_, 2000.0 + round_)
            results = together(*(lambda v=v, tag=tag: c.put(f"/api/v1/supplies/{pk}",
                                                            json={**SUPPLY, "generation_t": v},
                                                            headers={**h, "If-Match": tag}) for v in values))
            codes = sorted(r.status_code for r in results)
            assert codes == [200, 412], [r.text for r in results]
            winner = next(r for r in results if r.status_code == 200)
            loser = next(r for r in results if r.status_code == 412)
            assert loser.json()["code"] == "stale" and "他人" in loser.json()["message"]["zh"]
            now = c.get(f"/api/v1/supplies/{pk}", headers=h)
            assert now.json()["generation_t"] == winner.json()["generation_t"]
            tag = now.headers["ETag"]
        # without If-Match the API refuses to guess
        r = c.put(f"/api/v1/supplies/{pk}", json=SUPPLY, headers=h)
        assert r.status_code == 428 and r.json()["code"] == "precondition_required"
        assert c.delete(f"/api/v1/supplies/{pk}", headers=h).status_code == 428
        assert c.delete(f"/api/v1/supplies/{pk}", headers={**h, "If-Match": '"1"'}).status_code == 412
        log = c.get("/api/v1/audit?object_type=supplies&limit=100", headers=users.headers["admin"]).json()["items"]
    # the audit chain is unbroken: each update's "before" is exactly the previous state
    updates = sorted((e for e in log if e["action"] == "update" and e["object_id"] == str(pk)),
                     key=lambda e: e["after"]["row_version"])
    assert len(updates) == 4
    for prev, nxt in zip(updates, updates[1:], strict=False):
        assert nxt["before"]["row_version"] == prev["after"]["row_version"]
        assert nxt["before"]["generation_t"] == prev["after"]["generation_t"]


def test_concurrent_imports_never_lose_each_other(live):
    server, users, _ = live
    h = users.headers["admin"]
    rows = "\n".join(f"cd-mine,steel_slag,{2000 + y},{{v}}" for y in range(40))
    with httpx.Client(base_url=server.url, timeout=300) as c:
        first = "site,material,year,generation_t\n" + rows.format(v=1)
        assert c.post("/api/v1/imports", files={"file": ("supplies.csv", first.encode())}, headers=h).status_code == 201

        def upload(v):
            data = ("site,material,year,generation_t\n" + rows.format(v=v)).encode()
            return c.post("/api/v1/imports", files={"file": ("supplies.csv", data)}, headers=h)

        results = together(lambda: upload(2), lambda: upload(3))
        accepted = [r for r in results if r.status_code == 201]
        assert accepted and all(r.status_code in (201, 422) for r in results), [r.text[:300] for r in results]
        for r in results:
            if r.status_code == 422:
                assert {i["code"] for i in r.json()["issues"]} == {"stale"}
        final = c.get("/api/v1/supplies?material=steel_slag&limit=100", headers=h).json()["items"]
        values = {row["generation_t"] for row in final}
        assert len(values) == 1  # never half one import, half the other
        log = c.get("/api/v1/audit?limit=500", headers=h).json()["items"]
    updates = [e for e in log if e["action"] == "import_update" and e["object_type"] == "supplies"]
    assert len(updates) == 40 * len(accepted)
    for e in updates:  # "before" is the version actually replaced, never a stale read
        assert e["after"]["row_version"] == e["before"]["row_version"] + 1
    by_row: dict[str, set] = {}
    for e in updates:
        by_row.setdefault(e["object_id"], set()).add(e["before"]["row_version"])
    assert all(len(v) == len(accepted) for v in by_row.values())  # no version replaced twice


def test_concurrent_creates_of_one_key_answer_409(live):
    server, users, _ = live
    with httpx.Client(base_url=server.url, timeout=120) as c:
        for year in range(2030, 2034):
            body = {**SUPPLY, "year": year}
            results = together(*(lambda who=who, body=body: c.post("/api/v1/supplies", json=body,
                                                                   headers=users.headers[who])
                                 for who in ("admin", "ent_a")))
            assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
            loser = next(r for r in results if r.status_code == 409).json()
            assert loser["issues"][0]["code"] == "duplicate"
        # another tenant's site answers exactly like a site that does not exist: its key is
        # neither confirmed nor denied (only the value the user typed comes back)
        r = c.post("/api/v1/supplies", json={**SUPPLY, "year": 2030}, headers=users.headers["ent_b"])
        missing = c.post("/api/v1/supplies", json={**SUPPLY, "site": "no-such-site", "year": 2030},
                         headers=users.headers["ent_b"])
        assert r.status_code == missing.status_code == 422
        assert r.json()["issues"][0]["code"] == "unknown_ref"
        assert r.text.replace("cd-mine", "?") == missing.text.replace("no-such-site", "?")


def test_pks_are_never_reused(app, db_url):
    from fastapi.testclient import TestClient

    users = seed(app)
    h = users.headers["admin"]
    with TestClient(app) as c:
        first = c.post("/api/v1/supplies", json=SUPPLY, headers=h)
        assert c.delete(f"/api/v1/supplies/{first.json()['pk']}",
                        headers={**h, "If-Match": first.headers["ETag"]}).status_code == 204
        second = c.post("/api/v1/supplies", json=SUPPLY, headers=h)
        assert second.json()["pk"] > first.json()["pk"]


def test_a_stale_edit_form_gets_a_clear_conflict(app, db_url):
    from fastapi.testclient import TestClient

    users = seed(app)
    h = users.headers["admin"]
    with TestClient(app) as c:
        row = c.post("/api/v1/supplies", json=SUPPLY, headers=h).json()
        form = {k: str(v) for k, v in SUPPLY.items()} | {"row_version": "1"}
        assert c.post(f"/registry/supplies/{row['pk']}", data={**form, "generation_t": "6000"}, headers=h,
                      follow_redirects=False).status_code == 303
        r = c.post(f"/registry/supplies/{row['pk']}", data={**form, "generation_t": "7000"}, headers=h,
                   follow_redirects=False)  # the same, stale, form sent again
        assert r.status_code == 409 and "已被他人修改" in r.text
        assert c.get(f"/api/v1/supplies/{row['pk']}", headers=h).json()["generation_t"] == 6000.0


def test_sqlite_lock_timeout_answers_503_with_retry_after(sqlite_app, monkeypatch):
    import sqlite3

    from fastapi.testclient import TestClient

    from resynergy.store import db as store_db

    users = seed(sqlite_app)
    path = str(sqlite_app.state.platform.settings.database_url).removeprefix("sqlite:///")
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 200)
    sqlite_app.state.platform.sessions.kw["bind"].dispose()  # new connections get the short timeout
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with TestClient(sqlite_app) as c:
            r = c.post("/api/v1/supplies", json=SUPPLY, headers=users.headers["admin"])
            assert r.status_code == 503 and r.headers["Retry-After"].isdigit(), r.text
            assert r.json()["code"] == "busy"
            page = c.post("/registry/supplies/new", data={k: str(v) for k, v in SUPPLY.items()},
                          headers=users.headers["admin"])
            assert page.status_code == 503 and page.headers["Retry-After"].isdigit() and "繁忙" in page.text
    finally:
        holder.execute("ROLLBACK")
        holder.close()

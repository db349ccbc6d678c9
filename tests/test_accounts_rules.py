"""Services own the user rules (issue 16, item 2): the self-lock-out rule and the username-taken
check are defined once, in services.accounts, and the API, the admin pages and the command all
answer with them (same codes and words as before)."""

from __future__ import annotations

import re
from pathlib import Path

from support.platform import PASSWORD, csrf

SRC = Path(__file__).resolve().parents[1] / "src" / "resynergy"
LOCKOUT_ZH, LOCKOUT_EN = "不能停用自己或取消自己的管理员角色", "you cannot disable yourself or drop your own admin role"


def test_an_admin_cannot_lock_themself_out_through_the_api(client, users):
    admin = users.headers["admin"]
    me = f"/api/v1/users/{users.ids['admin']}"
    for change in ({"active": False}, {"role": "planner"}, {"role": "planner", "active": True}):
        r = client.patch(me, json=change, headers=admin)
        assert r.status_code == 422, r.text
        assert r.json() == {"code": "self_lockout", "message": {"zh": LOCKOUT_ZH, "en": LOCKOUT_EN}, "field": "active"}
    r = client.patch(me, json={"display_name": "管理员", "role": "admin", "active": True}, headers=admin)
    assert r.status_code == 200 and r.json()["display_name"] == "管理员" and r.json()["active"] is True
    r = client.patch(f"/api/v1/users/{users.ids['planner']}", json={"active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False  # others may be disabled
    assert client.get(me, headers=admin).json()["role"] == "admin"


def test_a_taken_username_is_a_conflict_before_any_other_complaint(client, users):
    # a common password would be refused too: the name is checked first, as the API always did
    r = client.post("/api/v1/users", json={"username": "planner", "password": "password123", "role": "planner"},
                    headers=users.headers["admin"])
    assert r.status_code == 409
    assert r.json() == {"code": "username_taken", "message": {"zh": "用户名已存在", "en": "username already exists"},
                        "field": "username"}
    r = client.post("/api/v1/users", json={"username": "fresh_one", "password": "password123", "role": "planner"},
                    headers=users.headers["admin"])
    assert r.status_code == 422 and r.json()["code"] == "invalid_account" and r.json()["field"] == "password"


def test_the_admin_page_applies_the_same_rules(client_for):
    c = client_for("admin")
    page = c.get("/admin/users").text
    own = page.split('action="/admin/users/', 1)[1].split('"', 1)[0]  # the first row: the admin
    assert own.isdigit()
    r = c.post(f"/admin/users/{own}", data={"csrf_token": csrf(page), "role": "planner", "active": "true"})
    assert r.status_code == 422 and LOCKOUT_ZH in r.text
    r = c.post(f"/admin/users/{own}", data={"csrf_token": csrf(page), "role": "admin", "active": "false"})
    assert r.status_code == 422 and LOCKOUT_ZH in r.text
    r = c.post("/admin/users", data={"csrf_token": csrf(page), "username": "planner", "password": PASSWORD,
                                     "role": "planner"})
    assert r.status_code == 422 and "用户名已存在" in r.text
    listed = re.findall(r'action="/admin/users/(\d+)" class="row-form"', c.get("/admin/users").text)
    assert len(listed) == 8 and listed[0] == own  # every user of the seed, in order, the admin still first


def test_the_rules_are_written_once():
    def places(text: str) -> list[str]:
        return sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if text in p.read_text(encoding="utf-8"))

    assert places(LOCKOUT_ZH) == ["services/accounts.py"]
    assert places("用户名已存在") == ["services/accounts.py"]
    assert places("User.username ==") == ["services/accounts.py"]

"""Feedback and delivery (#10 item 12): large assets go gzip-compressed (plotly.js compressed once,
the stored report sent as stored), pages are compressed, a favicon is served locally, and the
run and publish forms carry what the page script needs (spinners, the year check)."""

from __future__ import annotations

import gzip
import re
from importlib.resources import files
from pathlib import Path

import httpx

from support.platform import sign_in

PLOTLY_JS = Path(str(files("plotly") / "package_data" / "plotly.min.js"))


def raw_get(client, url: str, encoding: str) -> httpx.Response:
    """The response as sent (no transparent decoding)."""
    with client.stream("GET", url, headers={"Accept-Encoding": encoding}) as r:
        r.raw = b"".join(r.iter_raw())
        return r


def test_plotly_js_is_sent_gzip_compressed_and_unchanged(client):
    r = raw_get(client, "/static/vendor/plotly.min.js", "gzip, deflate")
    assert r.headers["content-encoding"] == "gzip" and "accept-encoding" in r.headers["vary"].lower()
    original = PLOTLY_JS.read_bytes()
    assert len(r.raw) < len(original) / 2 and gzip.decompress(r.raw) == original
    plain = raw_get(client, "/static/vendor/plotly.min.js", "identity")
    assert "content-encoding" not in plain.headers and plain.raw == original


def test_pages_and_json_are_compressed_when_the_client_accepts_gzip(client, users):
    assert sign_in(client, "planner").status_code == 303
    page = raw_get(client, "/registry/sites", "gzip")
    assert page.headers["content-encoding"] == "gzip" and b"<html" in gzip.decompress(page.raw)
    assert page.headers["content-security-policy"]  # the security headers stay on compressed responses
    css = raw_get(client, "/static/app.css", "gzip")
    assert css.headers["content-encoding"] == "gzip"


def test_a_local_favicon_is_linked_from_every_page(client):
    page = client.get("/login").text
    href = re.search(r'<link rel="icon" href="([^"]+)"', page).group(1)
    assert href.startswith("/static/")
    icon = client.get(href)
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in icon.content and b"http" not in icon.content.replace(b"http://www.w3.org/2000/svg", b"")


def test_the_run_form_carries_each_scenarios_years_and_a_title(client, users):
    assert sign_in(client, "planner").status_code == 303
    page = client.get("/runs").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/scenarios", data={"csrf_token": token, "name": "base"})
    page = client.get("/runs").text
    years = re.search(r"data-years='([^']+)'", page).group(1)
    assert re.fullmatch(r'\{"\d+": \[2022\]\}', years)  # the small registry has 2022 only
    assert 'name="title"' in page and 'id="years-error"' in page
    js = client.get("/static/app.js").text
    assert "yearProblem" in js and "busy(" in js and "lang-switch" in js


def test_times_are_shown_in_china_standard_time():
    from datetime import UTC, datetime

    from resynergy.web.pages.templates import environment

    cst = environment().filters["cst"]
    assert cst(datetime(2026, 1, 1, 20, 5, tzinfo=UTC)) == "2026-01-02 04:05"
    assert cst(datetime(2026, 1, 1, 20, 5)) == "2026-01-02 04:05"  # naive values are stored UTC
    assert cst(None) == ""

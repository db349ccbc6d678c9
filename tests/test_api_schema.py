"""schemathesis against the app's own OpenAPI document, in-process: no 5xx, every status and body
documented, responses matching their schemas — as an admin (who reaches every code path) with a
bounded number of examples per operation.

``positive_data_acceptance`` is left out: schema-valid data may still break the domain rules the
scenario validators enforce (unknown references, cross-table rules, common passwords), and the
API answers those with a documented 422."""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from resynergy.web.app import create_app
from support.platform import make_settings, seed

# Operations that would revoke the fuzzing client's own credentials (their access rules are in
# the authorization matrix).
SKIP = {("DELETE", "/api/v1/auth/token"), ("POST", "/api/v1/users/{user_id}/revoke"),
        ("PATCH", "/api/v1/users/{user_id}")}

pytestmark = pytest.mark.slow  # schemathesis fuzzes every operation


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, sqlite_template):
    path = tmp_path_factory.mktemp("schema") / "s.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app(make_settings(f"sqlite:///{path}", login_max_failures=10**6), migrate=False, run_worker=False)
    users = seed(app)
    app.state.fuzz_headers = users.headers["admin"]
    return app


def test_api_conforms_to_its_openapi(fuzz_app):
    """Every operation, a bounded number of generated cases each; all failures reported together."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_app)
    failures, ran = [], 0
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in SKIP:
            continue

        @given(op.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            # no long requests remain (loading the built-in dataset is a background job), so
            # schemathesis' own response timeout applies
            case.call_and_validate(headers={**(case.headers or {}), **fuzz_app.state.fuzz_headers},
                                   excluded_checks=[checks.positive_data_acceptance])

        try:
            check()
        except Exception as err:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{op.method.upper()} {op.path}: {str(err)[:1500]}")
        ran += 1
    assert ran >= 50
    assert not failures, "\n\n".join(failures)

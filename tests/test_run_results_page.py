"""A page of a stored result table is sliced by the database, not decoded whole per request."""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa

from resynergy.services import runs
from resynergy.store.db import make_engine, session_factory
from resynergy.store.models import Run, RunResult, ScenarioSnapshot, utcnow

ROWS = [{"year": 2022, "src": f"S{i:05d}", "t": float(i), "mode": "公路" if i % 2 else "rail",
         "note": None} for i in range(1200)]


def _stored(url: str):
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions() as db:
        snap = ScenarioSnapshot(name="s", version=1, digest="0" * 64, rows={}, tables={})
        db.add(snap)
        db.flush()
        run = Run(scenario_id=snap.id, options={}, state="succeeded", finished_at=utcnow())
        db.add(run)
        db.flush()
        db.add_all([RunResult(run_id=run.id, name="flows", kind="table", data=ROWS),
                    RunResult(run_id=run.id, name="costs", kind="table", data=[]),
                    RunResult(run_id=run.id, name="summary", kind="json",
                              data={"status": "optimal", "objective": 1.5})])
        db.commit()
        return engine, sessions, run.id


def test_pages_match_slices_of_the_stored_table_in_order(db_url):
    engine, sessions, run_id = _stored(db_url)
    with sessions() as db:
        run = db.get(Run, run_id)
        for offset, limit in [(0, 100), (250, 200), (1100, 500), (1200, 10), (5000, 10)]:
            items, total = runs.result_page(db, run, "flows", limit, offset)
            assert total == len(ROWS)
            assert items == ROWS[offset:offset + limit]  # same records, same order, None kept
        assert runs.result_page(db, run, "costs", 100, 0) == ([], 0)
        assert runs.result_page(db, run, "summary", 100, 0) == (
            [{"status": "optimal", "objective": 1.5}], 1)
    engine.dispose()


def test_a_result_is_decoded_once_not_per_page(db_url):
    engine, sessions, run_id = _stored(db_url)
    whole_column = re.compile(r"SELECT\s+run_results\.data\b", re.IGNORECASE)
    selects: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: selects.append(statement))
    with sessions() as db:
        run = db.get(Run, run_id)
        pages = [runs.result_page(db, run, "flows", 100, offset) for offset in range(0, 1200, 100)]
    assert [row for items, _ in pages for row in items] == ROWS
    # one read of the stored array for twelve pages (the endpoint used to read it for every page)
    assert sum(bool(whole_column.search(q)) for q in selects) == 1
    engine.dispose()


def test_cached_tables_never_outlive_their_database(tmp_path):
    """Two databases at one address one after the other (a test database emptied and refilled):
    the second one's rows are read, not the first one's."""
    from resynergy.store.db import upgrade

    url = f"sqlite:///{tmp_path / 'again.db'}"
    upgrade(url)
    engine, sessions, run_id = _stored(url)
    with sessions() as db:
        assert runs.result_page(db, db.get(Run, run_id), "flows", 1, 0)[0] == ROWS[:1]
    engine.dispose()
    (tmp_path / "again.db").unlink()
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine)() as db:
        snap = ScenarioSnapshot(name="s", version=1, digest="1" * 64, rows={}, tables={})
        db.add(snap)
        db.flush()
        run = Run(scenario_id=snap.id, options={}, state="succeeded",
                  finished_at=datetime(2030, 1, 1))
        db.add(run)
        db.flush()
        db.add(RunResult(run_id=run.id, name="flows", kind="table", data=[{"other": 1}]))
        db.commit()
        assert run.id == run_id
        assert runs.result_page(db, run, "flows", 10, 0) == ([{"other": 1}], 1)
    engine.dispose()


def test_a_missing_result_is_not_found(db_url):
    engine, sessions, run_id = _stored(db_url)
    with sessions() as db:
        try:
            runs.result_page(db, db.get(Run, run_id), "shortages", 10, 0)
        except runs.NotFound:
            pass
        else:
            raise AssertionError("a missing result must raise NotFound")
    engine.dispose()

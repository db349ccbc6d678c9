"""Commands that open the platform database once (``resynergy exchange match``, ``resynergy
manifest verify``) go through ``services.database.session``: a database that is not migrated
gets a plain answer, and the engine is released afterwards (the file can be removed at once)."""

from __future__ import annotations

from typer.testing import CliRunner

from resynergy.cli.main import app as cli
from resynergy.services import database


def test_exchange_match_on_an_unmigrated_database_says_so(tmp_path):
    path = tmp_path / "empty.db"
    run = CliRunner().invoke(cli, ["exchange", "match", "1", "--db", f"sqlite:///{path}", "--lang", "en"])
    assert run.exit_code == 1, run.output
    assert "has no exchange tables yet" in run.output and "empty.db" in run.output


def test_a_console_session_is_released(tmp_path):
    import sqlalchemy as sa

    path = tmp_path / "one.db"
    with database.session(f"sqlite:///{path}") as db:
        db.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        db.commit()
        engine = db.get_bind().engine
    assert engine.pool.checkedout() == 0
    path.unlink()  # nothing holds the file
    assert not path.exists()

"""Battery lifecycle events: working-day deadlines on real 2023/2024 calendars, order rules,
bulk files read all-or-nothing with located errors, overdue lists."""

from __future__ import annotations

from datetime import date
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

from resynergy.batteries import events
from resynergy.batteries.issues import ScenarioError

TODAY = date(2026, 11, 30)
SAMPLE = Path(str(files("resynergy.batteries").joinpath("data/sample_events.csv")))
PACK = "T01PE01A10000193F0000001"
HEADER = "unit_code,event,time,actor,actor_role,place,vin,certificate,counterparty,new_code,mass_kg,contained,recovered,uploaded"


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "events.csv"
    path.write_text("\n".join((HEADER, *lines)) + "\n", encoding="utf-8")
    return path


def test_working_days_skip_the_2024_spring_festival_and_count_make_up_sundays():
    # 2024: 10–17 Feb off; Sun 4 Feb and Sun 18 Feb are working days (State Council notice)
    assert events.is_workday(date(2024, 2, 4)) and events.is_workday(date(2024, 2, 18))
    assert not events.is_workday(date(2024, 2, 12))
    # from Thu 8 Feb: Fri 9 (1), Sun 18 (2), Mon 19 (3)
    assert events.add_working_days(date(2024, 2, 8), 3) == date(2024, 2, 19)
    # from Mon 5 Feb: 6–9 Feb (4), 18–23 Feb (10), 26 Feb–1 Mar (15)
    assert events.add_working_days(date(2024, 2, 5), 15) == date(2024, 3, 1)


def test_working_days_count_an_adjusted_saturday():
    # 2023 Spring Festival: 21–27 Jan off; Sat 28 and Sun 29 Jan are working days
    assert events.add_working_days(date(2023, 1, 19), 2) == date(2023, 1, 28)
    assert events.add_working_days(date(2023, 1, 19), 3) == date(2023, 1, 29)
    # 2024 Labour Day: 1–5 May off; Sat 11 May is a working day
    assert events.add_working_days(date(2024, 5, 10), 1) == date(2024, 5, 11)
    import chinese_calendar  # the library's own counter agrees on an ordinary case

    assert events.add_working_days(date(2025, 9, 28), 7) == chinese_calendar.find_workday(7, date(2025, 9, 28))


def test_years_the_calendar_does_not_cover_are_refused():
    first, last = events.calendar_years()
    with pytest.raises(events.CalendarRangeError) as exc:
        events.add_working_days(date(last, 12, 20), 30)
    assert exc.value.year == last + 1
    with pytest.raises(events.CalendarRangeError):
        events.is_workday(date(first - 1, 6, 1))


def test_the_sample_file_reads_and_its_deadlines_follow_the_rules():
    frame = events.read_events(SAMPLE, today=TODAY)
    d = events.with_deadlines(frame, as_of=date(2024, 12, 31))
    row = d.set_index(["unit_code", "event", "actor_role"])
    assert row.loc[(PACK, "retired", "dismantler"), "deadline"] == date(2024, 3, 1)
    assert row.loc[(PACK, "retired", "dismantler"), "status"] == "late"
    assert row.loc[(PACK, "installed", "car_maker"), "working_days"] == 7
    assert row.loc[(PACK, "recycled", "recycler"), "working_days"] == 30
    assert row.loc[(PACK, "produced", "battery_maker"), "status"] == "no_rule"
    late = events.overdue(d, date(2024, 12, 31))
    assert set(late["status"]) == {"overdue", "late"}
    overdue = late[late["status"] == "overdue"]
    assert list(overdue["event"]) == ["shipped"] and overdue["days_late"].iloc[0] == (date(2024, 12, 31) - date(2024, 3, 6)).days
    # pending while the deadline has not passed
    assert events.with_deadlines(frame, as_of=date(2024, 2, 9)).loc[4, "status"] == "pending"


def test_cascade_recoding_links_both_codes_in_the_history():
    frame = events.read_events(SAMPLE, today=TODAY)
    links = events.recodings(frame)
    assert [(x.original, x.new) for x in links] == [("T02PB02B20000188K0000007", "T02PB02DCL0000012RP")]
    hist = events.history_of(frame, "T02PB02DCL0000012RP", links)
    assert list(hist["event"])[-2:] == ["cascade_made", "shipped"] and list(hist["event"])[0] == "produced"


def test_no_recycling_before_collection_and_nothing_after_recycling(tmp_path):
    path = write(tmp_path,
                 f"{PACK},received,2024-03-06,R,recycler,120116,,,X,,420,,,",  # row 2 (no collection is fine for receipt)
                 f"{PACK},recycled,2024-03-01,R,recycler,120116,,,,,420,,Li=1,",  # row 3: before the receipt
                 f"{PACK},tested,2024-04-01,R,recycler,120116,,,,,420,,,")  # row 4: after recycling
    with pytest.raises(ScenarioError) as exc:
        events.read_events(path, today=TODAY)
    found = [(i.row, i.code) for i in exc.value.issues]
    assert found == [(3, "order_before"), (2, "order_after_final"), (4, "order_after_final")]
    assert "第 3 行" in exc.value.issues[0].message("zh") and "collected" in exc.value.issues[0].message("en")


def test_history_satisfies_the_order_rules_and_is_not_reported(tmp_path):
    earlier = events.read_events(write(tmp_path, f"{PACK},collected,2024-02-19,C,collection_point,130600,,,,,420,,,"),
                                 today=TODAY)
    path = write(tmp_path, f"{PACK},recycled,2024-05-20,R,recycler,120116,,,,,420,,Li=1,2024-05-21")
    assert len(events.read_events(path, history=earlier, today=TODAY)) == 1
    with pytest.raises(ScenarioError):
        events.read_events(path, today=TODAY)


def test_once_and_first_rules(tmp_path):
    path = write(tmp_path,
                 f"{PACK},installed,2019-05-20,M,car_maker,110115,LSVAB2BR1KN000001,,,,,,,",
                 f"{PACK},produced,2019-05-21,B,battery_maker,120116,,,,,,,,",
                 f"{PACK},produced,2019-05-22,B,battery_maker,120116,,,,,,,,")
    with pytest.raises(ScenarioError) as exc:
        events.read_events(path, today=TODAY)
    assert [(i.row, i.code) for i in exc.value.issues] == [(3, "order_first"), (4, "order_first"), (4, "order_once")]
    assert "第 2 行" in exc.value.issues[0].message("zh")


def test_bad_rows_are_all_reported_with_their_cells(tmp_path):
    path = write(tmp_path,
                 f"{PACK[:-1]},produced,2019-03-15,B,battery_maker,120116,,,,,,,,",  # short code
                 f"{PACK},installed,2019-13-01,M,car_maker,110115,LSVAB2BR1KN00000I,,,,,,,",  # bad month; I in VIN
                 f"{PACK},retired,2024-02-05,D,dismantler,130600,,,,,,,,",  # no VIN, no certificate
                 f"{PACK},teleported,2024-02-06,D,dismantler,130600,,,,,,,,",  # unknown event
                 f"{PACK},recycled,2024-05-01,D,dismantler,130600,,,,,,,Li=1,",  # a dismantler does not recycle
                 f"{PACK},recycled,2024-06-01,R,recycler,120116,,,,,,,Li=one,2024-05-01",  # masses; upload before event
                 f"{PACK},retired,2024-06-01,D,dismantler,130600,LSVAB2BR1KN000001,BF1,,,,,,",  # fine
                 f"{PACK},stored,2027-01-04,C,collection_point,130600,,,,,,,,")  # after "today"
    with pytest.raises(ScenarioError) as exc:
        events.read_events(path, today=TODAY)
    found = {(i.row, i.column, i.code) for i in exc.value.issues}
    assert found >= {(2, "unit_code", "code_length"), (3, "time", "bad_time"), (3, "vin", "bad_vin"),
                     (4, "vin", "needs_value"), (4, "certificate", "needs_value"), (5, "event", "bad_choice"),
                     (6, "actor_role", "role_for_event"),
                     (7, "recovered", "bad_masses"), (7, "uploaded", "upload_before_event")}
    assert not any(i.row == 8 for i in exc.value.issues)
    assert (9, "time", "time_future") in found
    text = exc.value.report("en")
    assert "events.csv" in text and "row 3" in text


def test_a_deadline_beyond_the_calendar_is_estimated_and_flagged_not_refused(tmp_path):
    # chinesecalendar 1.11 ends with 2026; an event of 15 Dec 2026 with a 15-working-day deadline
    # must still be accepted (the 2027 holiday notice comes out in Nov–Dec 2026)
    assert events.calendar_years()[1] == 2026
    path = write(tmp_path, f"{PACK},retired,2026-12-15,D,dismantler,130600,LSVAB2BR1KN000001,BF1,,,,,,",
                 "T02PB02B20000188K0000007,retired,2026-06-10,D,dismantler,130600,LSVAB2BR1KN000002,BF2,,,,,,")
    frame = events.read_events(path, today=date(2026, 12, 20))
    d = events.with_deadlines(frame, as_of=date(2026, 12, 20)).set_index(pd.Index(["december", "june"]))
    # 16–18 Dec (3), 21–25 (8), 28–31 Dec, all 2026 working days (12); then Monday–Friday in
    # 2027 (no notice yet, so 1 Jan counts): Fri 1 (13), Mon 4 (14), Tue 5 Jan (15)
    assert d.loc["december", "working_days"] == 15
    assert d.loc["december", "deadline"] == date(2027, 1, 5) and bool(d.loc["december", "deadline_estimated"])
    assert d.loc["december", "status"] == "pending"
    # a June 2026 event stays inside the calendar: exact, not flagged
    assert d.loc["june", "deadline"] == events.add_working_days(date(2026, 6, 10), 15) == date(2026, 7, 2)
    assert not d.loc["june", "deadline_estimated"] and d.loc["june", "status"] == "overdue"
    assert d["deadline_estimated"].dtype == bool


def test_an_xlsx_event_file_reads_like_the_csv(tmp_path):
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    path = tmp_path / "events.xlsx"
    frame.to_excel(path, sheet_name="battery_events", index=False)
    assert len(events.read_events(path, today=TODAY)) == len(frame)


def test_parent_codes_build_the_pack_module_cell_tree_and_bad_links_are_located(tmp_path):
    module, cell = "T01ME01A10000193F0000011", "T01CE01A10000193F0000111"
    path = write(tmp_path, f"{PACK},produced,2019-03-15,B,battery_maker,120116,,,,,,,,",
                 f"{module},produced,2019-03-15,B,battery_maker,120116,,,,,,,,",
                 f"{cell},produced,2019-03-15,B,battery_maker,120116,,,,,,,,")
    text = path.read_text(encoding="utf-8").splitlines()
    text[0] += ",parent_code"
    text[1] += ","
    text[2] += f",{PACK}"
    text[3] += f",{module}"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    frame = events.read_events(path, today=TODAY)
    from resynergy.batteries import codes

    tree = codes.build_tree(events.links(frame), today=TODAY)
    assert tree.descendants(PACK) == [module, cell]
    text[3] = text[3].replace(f",{module}", f",{cell}")  # a cell built into a cell
    text[2] = text[2].replace(f",{PACK}", f",{PACK[:-1]}X")  # the parent code is fine; keep it
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        events.read_events(path, today=TODAY)
    assert [(i.row, i.column, i.code) for i in exc.value.issues] == [(4, "parent_code", "tree_level")]


def test_a_later_rule_version_applies_from_its_date(monkeypatch):
    base = events.deadline_rules()
    newer = events.DeadlineRule("TEST-2026", date(2026, 4, 1), "retired", "dismantler", 10, "", "", "test", "U")
    monkeypatch.setattr(events, "deadline_rules", lambda: (*base, newer))
    assert events.deadline_rule("retired", "dismantler", date(2026, 3, 31)).working_days == 15
    assert events.deadline_rule("retired", "dismantler", date(2026, 4, 1)).rules == "TEST-2026"
    assert events.deadline_rule("retired", "car_maker", date(2026, 4, 1)) is None


def test_unknown_columns_and_unreadable_files_are_refused_whole(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(HEADER + ",colour\n" + f"{PACK},produced,2019-03-15,B,battery_maker,120116,,,,,,,,,red\n",
                    encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        events.read_events(path, today=TODAY)
    assert [(i.code, i.column) for i in exc.value.issues] == [("unknown_column", "colour")]
    other = tmp_path / "events.txt"
    other.write_text("x", encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        events.read_events(other)
    assert exc.value.issues[0].code == "unsupported"

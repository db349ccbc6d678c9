"""One working-day calendar (resynergy.catalog.workdays) for battery deadlines and manifest
alerts: holidays and make-up working days (调休) from the State Council notices."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from resynergy.batteries import events
from resynergy.catalog import workdays
from resynergy.exchange import alerts as al
from resynergy.exchange.manifests import State


def fields(sent_at: str) -> dict:
    return {"generator_province": "130000", "receiver_province": "110000", "sent_at": sent_at}


def test_the_calendar_knows_2024_holidays_and_adjusted_weekend_days():
    assert not workdays.is_workday(date(2024, 10, 1))  # National Day
    assert workdays.is_workday(date(2024, 9, 29))  # Sunday, make-up working day
    assert workdays.is_workday(date(2024, 10, 12))  # Saturday, make-up working day
    assert not workdays.is_workday(date(2024, 10, 13))  # an ordinary Sunday
    assert not workdays.is_workday(date(2024, 2, 12))  # Spring Festival
    assert workdays.is_workday(date(2024, 2, 18))  # Sunday, make-up working day


def test_add_and_between_agree_and_count_the_start_day_out():
    d = date(2024, 9, 27)  # Fri before National Day
    # Sun 29 (1), Mon 30 (2), 1–7 Oct off, Tue 8 (3) … Fri 11 (6), Sat 12 (7)
    assert workdays.add_workdays(d, 7) == date(2024, 10, 12)
    assert workdays.workdays_between(d, date(2024, 10, 12)) == 7
    assert workdays.workdays_between(d, date(2024, 10, 13)) == 7
    assert workdays.workdays_between(d, d) == 0 and workdays.workdays_between(d, d - timedelta(days=3)) == 0
    for n in (0, 1, 5, 15, 40):
        start = date(2024, 2, 5)
        assert workdays.workdays_between(start, workdays.add_workdays(start, n)) == n
    with pytest.raises(ValueError):
        workdays.add_workdays(d, -1)


def test_beyond_the_calendar_is_a_clear_error_in_both_languages():
    first, last = workdays.calendar_years()
    with pytest.raises(workdays.CalendarRangeError) as exc:
        workdays.workdays_between(date(last, 12, 1), date(last + 1, 1, 10))
    assert exc.value.year == last + 1
    assert str(last + 1) in exc.value.zh and "放假安排" in exc.value.zh
    assert f"{first}–{last}" in exc.value.en and str(last + 1) in exc.value.en
    with pytest.raises(workdays.CalendarRangeError):
        workdays.is_workday(date(first - 1, 5, 1))


def test_add_or_estimate_is_exact_inside_the_calendar_and_flags_monday_to_friday_beyond():
    for start, n in ((date(2024, 9, 27), 7), (date(2024, 2, 5), 15), (date(2026, 6, 10), 0)):
        assert workdays.add_workdays_or_estimate(start, n) == (workdays.add_workdays(start, n), False)
    last = workdays.calendar_years()[1]
    start = date(last, 12, 28)
    due, estimated = workdays.add_workdays_or_estimate(start, 10)
    assert estimated and due.year == last + 1 and due.weekday() < 5
    # the same rule as the alerts' estimate: counting back gives the same number, flagged
    assert workdays.workdays_between_or_estimate(start, due) == (10, True)
    with pytest.raises(workdays.CalendarRangeError):
        workdays.add_workdays(start, 10)
    with pytest.raises(ValueError):
        workdays.add_workdays_or_estimate(start, -1)


def test_batteries_use_the_same_calendar():
    assert events.is_workday is workdays.is_workday
    assert events.add_working_days is workdays.add_workdays
    assert events.CalendarRangeError is workdays.CalendarRangeError


@pytest.mark.parametrize(("sent", "quiet", "late", "count"), [
    # Spring Festival 2024 (10–17 Feb off; Sun 18 Feb worked): from Thu 8 Feb, Fri 9 (1), Sun 18 (2),
    # Mon 19 (3), Tue 20 (4), Wed 21 (5), Thu 22 (6). Monday–Friday alone would say 9 on 21 Feb.
    ("2024-02-08T09:00:00+08:00", "2024-02-21", "2024-02-22", 6),
    # National Day 2024 (1–7 Oct off; Sun 29 Sep and Sat 12 Oct worked): from Fri 27 Sep,
    # 29, 30 Sep, 8, 9, 10 Oct = 5; Fri 11 Oct = 6.
    ("2024-09-27T16:00:00+08:00", "2024-10-10", "2024-10-11", 6),
    # The adjusted Saturday counts: from Wed 9 Oct, 10, 11, Sat 12, 14, 15 = 5; Wed 16 = 6.
    ("2024-10-09T10:00:00+08:00", "2024-10-15", "2024-10-16", 6),
])
def test_overdue_receipt_counts_real_working_days(sent, quiet, late, count):
    f = fields(sent)
    assert al.overdue_receipt("7", State.SENT, f, datetime.fromisoformat(quiet + "T12:00:00")) is None
    a = al.overdue_receipt("7", State.IN_TRANSIT, f, datetime.fromisoformat(late + "T12:00:00"))
    assert a is not None and f"after {count} working days" in a.en and f"{count} 个工作日" in a.zh
    assert "estimate" not in a.en


def test_overdue_receipt_beyond_the_calendar_is_flagged_as_an_estimate():
    last = workdays.calendar_years()[1]
    f = fields(f"{last}-12-28T09:00:00+08:00")
    a = al.overdue_receipt("7", State.SENT, f, datetime(last + 1, 1, 20, 12))
    assert a is not None and "estimate" in a.en and "估算" in a.zh and str(last) in a.en

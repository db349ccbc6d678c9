"""The Chinese working-day calendar: one definition for every deadline counted in working days
(battery upload deadlines, the manifest receipt limit, the 商请 review limits).

A working day is Monday–Friday minus the statutory holidays, plus the designated make-up
working days (调休, often a Saturday or Sunday), as the State Council's yearly holiday notice
sets them. The notices come from the ``chinesecalendar`` package (one table per year; v1.11
covers 2004–2026). The State Council publishes next year's notice each November–December, so a
year beyond the table is refused with :class:`CalendarRangeError` by the exact functions; the
``*_or_estimate`` functions count such days Monday–Friday instead and say so (an estimate).

Counting: the start day is not counted; "N working days after D" ends on the N-th working day
after D (notes/batteries.md §2.3), and :func:`workdays_between` counts the working days after
``a`` up to and including ``b``, so ``workdays_between(d, add_workdays(d, n)) == n``.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

ESTIMATE_NOTE = ("（估算：{year} 年放假安排尚未发布，按周一至周五计）",
                 "(estimate: the {year} holiday notice is not yet out; counted Monday–Friday)")
"""zh/en words for a date counted with an ``*_or_estimate`` function; ``{year}`` is the year
whose holiday notice is missing (the web pages and the CLI say it the same way)."""


class CalendarRangeError(ValueError):
    """The working-day calendar does not cover ``year``; ``params`` name the covered years and
    the package version (for zh/en messages), ``zh`` and ``en`` say it in words."""

    def __init__(self, year: int):
        self.year = year
        first, last = calendar_years()
        self.params = {"first": first, "last": last, "year": year, "version": calendar_version()}
        self.zh = (f"工作日历只覆盖 {first}–{last} 年（chinesecalendar {calendar_version()}），"
                   f"{year} 年的放假安排尚未收录，无法按工作日计算")
        self.en = (f"the working-day calendar covers {first}–{last} only (chinesecalendar {calendar_version()}); "
                   f"the holidays of {year} are not in it, so working days cannot be counted")
        super().__init__(f"chinesecalendar {calendar_version()} covers {first}–{last}; {year} is not covered")


@cache
def calendar_version() -> str:
    from importlib.metadata import version

    return version("chinesecalendar")


@cache
def calendar_years() -> tuple[int, int]:
    """First and last year the installed ``chinesecalendar`` has holiday notices for."""
    from chinese_calendar import constants

    years = sorted({d.year for d in constants.holidays} | {d.year for d in constants.workdays})
    return years[0], years[-1]


def covers(day: date) -> bool:
    first, last = calendar_years()
    return first <= day.year <= last


@cache  # chinesecalendar re-checks its whole table on every call; a day's answer never changes
def is_workday(day: date) -> bool:
    """Monday–Friday minus statutory holidays, plus designated make-up working days (调休).
    CalendarRangeError outside the calendar's years."""
    if not covers(day):
        raise CalendarRangeError(day.year)
    import chinese_calendar

    return bool(chinese_calendar.is_workday(day))


def add_workdays(start: date, n: int) -> date:
    """The N-th working day after ``start`` (``start`` itself not counted; n ≥ 0).
    CalendarRangeError when a day it passes is beyond the calendar."""
    return _add(start, n, estimate=False)[0]


def add_workdays_or_estimate(start: date, n: int) -> tuple[date, bool]:
    """:func:`add_workdays`, except that days in years beyond the calendar are counted as
    Monday–Friday (no holidays, no 调休); the second value is True when any such day was passed
    (the date is an estimate until that year's holiday notice is installed)."""
    return _add(start, n, estimate=True)


def _workday_or_estimate(day: date) -> tuple[bool, bool]:
    """Whether ``day`` is a working day, and whether that is an estimate (Monday–Friday, beyond the calendar)."""
    if covers(day):
        return is_workday(day), False
    return day.weekday() < 5, True


def _add(start: date, n: int, estimate: bool) -> tuple[date, bool]:
    if n < 0:
        raise ValueError(f"工作日数不能为负：{n} / the number of working days cannot be negative: {n}")
    day, counted, estimated = start, 0, False
    while counted < n:
        day += timedelta(days=1)
        if estimate:
            work, guessed = _workday_or_estimate(day)
            estimated |= guessed
        else:
            work = is_workday(day)
        counted += work
    return day, estimated


def workdays_between(a: date, b: date) -> int:
    """Working days after ``a`` up to and including ``b`` (0 when ``b`` ≤ ``a``)."""
    if b <= a:
        return 0
    if not covers(b):
        raise CalendarRangeError(b.year)
    if not covers(a + timedelta(days=1)):
        raise CalendarRangeError(a.year + 1)
    return sum(is_workday(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))


def workdays_between_or_estimate(a: date, b: date) -> tuple[int, bool]:
    """:func:`workdays_between`, except that days in years beyond the calendar are counted as
    Monday–Friday (no holidays, no 调休): an estimate, flagged by the second value being True.
    For alerts that must still be raised in a year whose holiday notice is not yet installed
    (battery upload deadlines use :func:`add_workdays_or_estimate` the same way, flagged)."""
    if b <= a:
        return 0, False
    n, estimated = 0, False
    for i in range(1, (b - a).days + 1):
        work, guessed = _workday_or_estimate(a + timedelta(days=i))
        n += work
        estimated |= guessed
    return n, estimated

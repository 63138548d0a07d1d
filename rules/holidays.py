"""The statutory public holidays of 全国年节及纪念日放假办法 (as amended 2024), for a year whose State Council
notice is not known yet (pure: no I/O, no project imports).

Holidays of all citizens: 元旦 1 January; 春节 4 days, 除夕 and 正月初一至初三; 清明 (the solar term);
劳动节 1-2 May; 端午 (lunar 5/5); 中秋 (lunar 8/15); 国庆 1-3 October. Lunar dates and the solar term come
from `lunar_python` (6tail's lunar calendar). A holiday that falls on a Saturday or Sunday, or on a day
that is already a holiday, is made up on the next working day (the law's rule; the yearly notice says
which day, and adds bridges and make-up weekend days, so a year counted with these alone stays
provisional until its notice is imported).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache

from lunar_python import Lunar

_ONE_DAY = timedelta(days=1)

# 国务院令第795号 amended the law from 1 January 2025 (除夕 and 2 May added): `statutory_days` are that version's, so
# a notice is checked against them from that year on (earlier notices followed the earlier versions).
AMENDED_FROM = 2025


def _lunar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _qingming(year: int) -> date:
    solar = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def statutory_days(year: int) -> dict[str, list[date]]:
    """Each holiday of all citizens in `year` and its days, as the law fixes them (before any make-up)."""
    new_year = _lunar(year, 1, 1)
    return {
        "元旦": [date(year, 1, 1)],
        "春节": [new_year - _ONE_DAY, new_year, new_year + _ONE_DAY, new_year + 2 * _ONE_DAY],
        "清明节": [_qingming(year)],
        "劳动节": [date(year, 5, 1), date(year, 5, 2)],
        "端午节": [_lunar(year, 5, 5)],
        "中秋节": [_lunar(year, 8, 15)],
        "国庆节": [date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)],
    }


@cache
def statutory_holidays(year: int) -> frozenset[date]:
    """The days off in `year` by the law alone: every statutory day, plus a working day for each one that
    falls on a weekend or on another holiday (the first weekdays after it that are not holidays)."""
    off: set[date] = set()
    owed: list[date] = []
    for days in statutory_days(year).values():
        for d in days:
            if d.weekday() >= 5 or d in off:
                owed.append(d)
            off.add(d)
    for d in sorted(owed):
        nxt = d + _ONE_DAY
        while nxt.weekday() >= 5 or nxt in off:
            nxt += _ONE_DAY
        off.add(nxt)
    return frozenset(off)


def statutory_days_left_out(year: int, holidays: Iterable[date], workdays: Iterable[date]) -> list[tuple[date, str]]:
    """The statutory days of `year` (with their holidays' names, by date) that a notice with these days off and
    make-up working days would leave as working days: a weekday it does not list as a holiday, or a weekend it
    lists as a working day. None before `AMENDED_FROM`."""
    if year < AMENDED_FROM:
        return []
    off, worked = set(holidays), set(workdays)
    names: dict[date, list[str]] = {}
    for name, days in statutory_days(year).items():
        for d in days:
            names.setdefault(d, []).append(name)  # 中秋 can fall on 国庆 (2028-10-03)
    return [(d, "、".join(names[d])) for d in sorted(names) if d not in off and (d.weekday() < 5 or d in worked)]

"""Working-day rules, notice files and the `jiuzhu calendar` read commands, without a database.

Expected dates are counted by hand from the 2026 notice (domain.md, "Working days and deadlines").
"""

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from typer.testing import CliRunner

from cli.calendar_cmd import app
from db.calendar_repo import NoticeError, parse_notice, parse_notice_file
from rules.calendar import BUILTIN_YEARS, HOLIDAY, WORKDAY, Deadline, WorkCalendar, notice_span, notice_year
from rules.holidays import statutory_holidays
from tests.support.calendar import law_days

PAUSES = [(date(2026, 2, 24), date(2026, 3, 10)), (date(2026, 12, 24), date(2027, 1, 5))]
DOCS = Path(__file__).resolve().parent.parent / "docs"
CAL = WorkCalendar()
# A 2027 notice as it could be imported: 元旦 Fri 01-01..Sun 01-03, make-up Saturday 02-20.
NOTICE_2027 = [
    (date(2027, 1, 1), HOLIDAY),
    (date(2027, 1, 2), HOLIDAY),
    (date(2027, 1, 3), HOLIDAY),
    (date(2027, 2, 20), WORKDAY),
]


def test_builtin_2026_matches_the_notice():
    weekday_holidays = {d for d in _days(2026) if d.weekday() < 5 and not CAL.is_workday(d)}
    makeup = {d for d in _days(2026) if d.weekday() >= 5 and CAL.is_workday(d)}
    assert makeup == {date(2026, m, d) for m, d in [(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)]}
    holidays = [(1, 1), (1, 2), (2, 16), (2, 17), (2, 18), (2, 19), (2, 20), (2, 23), (4, 6), (5, 1), (5, 4)]
    holidays += [(5, 5), (6, 19), (9, 25), (10, 1), (10, 2), (10, 5), (10, 6), (10, 7)]
    assert weekday_holidays == {date(2026, m, d) for m, d in holidays}
    assert set(range(2004, 2027)) <= BUILTIN_YEARS


def test_twenty_working_days_over_national_day():
    # Fri 09-18 accepted: counts Sun 09-20 and Sat 10-10 (make-up), skips 09-25 and 10-01..07.
    assert CAL.add_working_days(date(2026, 9, 18), 20) == Deadline(date(2026, 10, 22), provisional=False)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 2, 13), 1, date(2026, 2, 14)),  # Sat 02-14 is a make-up day
        (date(2026, 2, 12), 2, date(2026, 2, 14)),
        (date(2026, 2, 14), 1, date(2026, 2, 24)),  # 02-15..23 off (weekday holidays 16-20, 23)
        (date(2026, 2, 13), 5, date(2026, 2, 27)),  # 14, 24, 25, 26, 27
        (date(2026, 2, 13), 6, date(2026, 2, 28)),  # Sat 02-28 is a make-up day
        (date(2026, 2, 13), 7, date(2026, 3, 2)),
    ],
)
def test_spring_festival_2026(start, n, expected):
    assert CAL.add_working_days(start, n) == Deadline(expected, provisional=False)


def test_start_day_not_counted_even_if_working():
    assert CAL.add_working_days(date(2026, 9, 21), 1).date == date(2026, 9, 22)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # Mon 10-12..Wed 10-14: three working days stopped, so 10-22 moves three working days on.
        (date(2026, 10, 12), date(2026, 10, 14), date(2026, 10, 27)),
        # Pausing during the holiday costs nothing; pausing a make-up Saturday costs a day.
        (date(2026, 10, 1), date(2026, 10, 7), date(2026, 10, 22)),
        (date(2026, 10, 10), date(2026, 10, 10), date(2026, 10, 23)),
        (date(2026, 9, 1), date(2026, 9, 18), date(2026, 10, 22)),  # up to the start: no effect
    ],
)
def test_pause_moves_deadline_by_the_working_days_paused(first, last, expected):
    assert CAL.add_working_days(date(2026, 9, 18), 20, [(first, last)]).date == expected


@pytest.mark.parametrize("start", [date(2026, 1, 30), date(2026, 9, 18), date(2026, 12, 1), date(2027, 3, 3)])
@pytest.mark.parametrize("paused", [(), PAUSES])
def test_between_inverts_add(start, paused):
    for n in range(1, 46):
        deadline = CAL.add_working_days(start, n, paused).date
        assert CAL.working_days_between(start, deadline, paused) == n
        assert CAL.working_days_between(start, deadline - timedelta(days=1), paused) == n - 1


def test_between():
    assert CAL.working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert CAL.working_days_between(date(2026, 9, 18), date(2026, 9, 20)) == 1  # make-up Sunday
    assert CAL.working_days_between(date(2026, 10, 8), date(2026, 10, 8)) == 0
    assert CAL.working_days_between(date(2026, 10, 9), date(2026, 10, 8)) == 0


def test_working_day_before():
    assert CAL.working_day_before(date(2026, 10, 22), 5) == date(2026, 10, 15)
    assert CAL.working_day_before(date(2026, 10, 22), 0) == date(2026, 10, 22)
    assert CAL.working_day_before(date(2026, 10, 9), 2) == date(2026, 9, 30)  # over the holiday
    for n in range(0, 25):
        d = CAL.working_day_before(date(2026, 10, 22), n)
        assert CAL.is_workday(d)
        assert CAL.working_days_between(d, date(2026, 10, 22)) == n


def test_2027_without_notice_keeps_the_statutory_holidays_and_is_provisional():
    assert CAL.is_provisional(2027)
    assert not CAL.is_provisional(2026)
    assert CAL.provisional_years(2025, 2028) == [2027, 2028]
    # 全国年节及纪念日放假办法 alone: 元旦; 春节 除夕 02-05 to 初三 02-08, with Saturday 06 and Sunday 07 made
    # up on 09 and 10; 清明 04-05; 劳动节 05-01/02 (a weekend: 03, 04); 端午 06-09; 中秋 09-15; 国庆 10-01..03
    # (02 and 03 a weekend: 04, 05)
    assert sorted(statutory_holidays(2027)) == [
        date(2027, 1, 1),
        *(date(2027, 2, d) for d in range(5, 11)),
        date(2027, 4, 5),
        *(date(2027, 5, d) for d in range(1, 5)),
        date(2027, 6, 9),
        date(2027, 9, 15),
        *(date(2027, 10, d) for d in range(1, 6)),
    ]
    assert not CAL.is_workday(date(2027, 1, 1)) and not CAL.is_workday(date(2027, 2, 9))
    # 12-31, then 01-04, 01-05, 01-06, 01-07: New Year's Day is off before any notice
    assert CAL.add_working_days(date(2026, 12, 30), 5) == Deadline(date(2027, 1, 7), provisional=True)
    assert CAL.add_working_days(date(2026, 12, 4), 20) == Deadline(date(2027, 1, 4), provisional=True)
    assert CAL.add_working_days(date(2026, 12, 28), 3) == Deadline(date(2026, 12, 31), provisional=False)


def test_statutory_holidays_follow_the_lunar_calendar_and_the_weekend_rule():
    # 2026 by the law alone agrees with the State Council's notice on the law's own days
    notice_2026 = {d for d in chinese_calendar.holidays if d.year == 2026}
    assert {date(2026, 1, 1), date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19)} <= notice_2026
    assert {date(2026, 4, 6), date(2026, 6, 19), date(2026, 9, 25)} <= statutory_holidays(2026)
    # 2028: 国庆 starts on a Sunday and 中秋 falls on 10-03, inside it: both days owed follow (10-04, 10-05)
    assert sorted(d for d in statutory_holidays(2028) if d.month == 10) == [date(2028, 10, d) for d in range(1, 6)]
    assert date(2028, 1, 25) in statutory_holidays(2028)  # 除夕


def test_2027_after_notice_skips_holidays():
    cal = WorkCalendar(NOTICE_2027, imported_years={2027})
    assert not cal.is_provisional(2027)
    # 12-31, 01-04, 01-05, 01-06, 01-07
    assert cal.add_working_days(date(2026, 12, 30), 5) == Deadline(date(2027, 1, 7), provisional=False)
    assert cal.is_workday(date(2027, 2, 20))


def test_overrides_without_a_notice_leave_the_year_provisional():
    cal = WorkCalendar(NOTICE_2027)
    assert cal.add_working_days(date(2026, 12, 30), 5) == Deadline(date(2027, 1, 7), provisional=True)


def test_imported_notice_replaces_builtin_year():
    # A corrected 2026 notice that moved National Day to 10-08 only: 10-01 becomes a plain Thursday.
    cal = WorkCalendar([(date(2026, 10, 8), HOLIDAY)], imported_years={2026})
    assert cal.is_workday(date(2026, 10, 1))
    assert not cal.is_workday(date(2026, 10, 8))
    assert not cal.is_workday(date(2026, 10, 10))  # builtin make-up day is gone too
    # Without the import, an override only adds to the builtin data.
    cal = WorkCalendar([(date(2026, 10, 8), HOLIDAY)])
    assert not cal.is_workday(date(2026, 10, 1))
    assert not cal.is_workday(date(2026, 10, 8))


def test_invalid_arguments():
    with pytest.raises(ValueError, match="kind"):
        WorkCalendar([(date(2027, 1, 1), "festival")])
    with pytest.raises(ValueError, match="at least 1"):
        CAL.add_working_days(date(2026, 1, 1), 0)
    with pytest.raises(ValueError, match="negative"):
        CAL.working_day_before(date(2026, 1, 1), -1)


def _days(year: int):
    d = date(year, 1, 1)
    while d.year == year:
        yield d
        d += timedelta(days=1)


# --- notice files ------------------------------------------------------------------------------


def test_parse_json_with_names_and_plain_dates(tmp_path):
    path = tmp_path / "n.json"
    law = ", ".join(f'"{d}"' for d in law_days(2027, "2027-01-01"))  # 02-05, 02-08, 04-05, ...
    path.write_text(
        '{"year": 2027, "source": "通知", "holidays": [{"date": "2027-01-01", "name": "元旦"}, "2027-01-02", '
        + law
        + '], "workdays": ["2027-02-20"]}',
        encoding="utf-8",
    )
    notice = parse_notice_file(path)
    assert (notice.year, notice.source) == (2027, "通知")
    assert notice.days()[:5] == [
        (date(2027, 1, 1), HOLIDAY, "元旦"),
        (date(2027, 1, 2), HOLIDAY, None),
        (date(2027, 2, 5), HOLIDAY, None),
        (date(2027, 2, 8), HOLIDAY, None),
        (date(2027, 2, 20), WORKDAY, None),
    ]
    assert parse_notice_file(path, source="其他").source == "其他"


def test_parse_csv(tmp_path):
    path = tmp_path / "notice-2027.csv"
    law = "".join(f"{d},holiday,\n" for d in law_days(2027, "2027-01-01"))  # 02-05, 02-08, 04-05, ...
    path.write_text(
        "\ufeffdate,kind,name\n2027-02-20,workday,春节调休\n2027-01-01,holiday,元旦\n2027-01-02,holiday,\n" + law,
        encoding="utf-8",
    )
    notice = parse_notice_file(path)
    assert (notice.year, notice.source) == (2027, "notice-2027.csv")
    assert notice.days()[:5] == [
        (date(2027, 1, 1), HOLIDAY, "元旦"),
        (date(2027, 1, 2), HOLIDAY, None),
        (date(2027, 2, 5), HOLIDAY, None),
        (date(2027, 2, 8), HOLIDAY, None),
        (date(2027, 2, 20), WORKDAY, "春节调休"),
    ]


def test_docs_example_is_valid():
    notice = parse_notice_file(DOCS / "calendar-2027-example.json")
    assert notice.year == 2027


def test_the_last_days_of_december_belong_to_the_next_years_notice():
    assert [notice_year(date(2011, 12, d)) for d in (24, 25, 31)] == [2011, 2012, 2012]
    assert notice_span(2012) == (date(2011, 12, 25), date(2012, 12, 24))
    # Importing 2011 leaves the builtin 2011-12-31 of the 2012 notice; importing 2012 drops it (not re-listed).
    assert WorkCalendar(imported_years={2011}).is_workday(date(2011, 12, 31))
    assert not WorkCalendar(imported_years={2012}).is_workday(date(2011, 12, 31))
    assert WorkCalendar([(date(2011, 12, 31), WORKDAY)], imported_years={2012}).is_workday(date(2011, 12, 31))
    # The 2008 notice: 2007-12-29 (Saturday) worked, Monday 2007-12-31 off, whichever of 2007 is imported.
    cal_2007 = WorkCalendar(imported_years={2007})
    assert (cal_2007.is_workday(date(2007, 12, 29)), cal_2007.is_workday(date(2007, 12, 31))) == (True, False)
    notice = parse_notice(b"date,kind,name\n2011-12-31,workday,\n2012-01-01,holiday,\n", "2012.csv")
    assert (notice.year, notice.days()) == (
        2012,
        [(date(2011, 12, 31), WORKDAY, None), (date(2012, 1, 1), HOLIDAY, None)],
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.json", '{"year": 2027, "source": "s", "holidays": ["2028-01-01"]}', "not in 2027"),
        ("a.json", '{"year": 2027, "source": "s", "holidays": ["2027-01-02"], "workdays": ["2027-01-02"]}', "both"),
        ("a.json", '{"year": 2027, "source": "s", "holidays": ["2027-01-01", "2027-01-01"]}', "twice"),
        ("a.json", '{"year": 2027, "source": "s", "holidays": ["2027-01-01"], "workdays": ["2027-01-04"]}', "Saturday"),
        ("a.json", '{"year": 2027, "source": "s", "holidays": []}', "holidays"),
        ("a.json", '{"year": 2027, "source": "s", "holiday": ["2027-01-01"]}', "holiday"),
        ("a.json", '{"year": 2027, "source": "s", "holidays": ["2027-13-01"]}', "holidays.0.date"),
        ("a.json", '{"year": 2027,', "invalid JSON"),
        ("a.json", "[]", "JSON object"),
        ("a.csv", "day,kind,name\n2027-01-01,holiday,\n", "header"),
        ("a.csv", "date,kind,name\n2027-01-01,off,\n", "a.csv:2: kind"),
        ("a.csv", "date,kind,name\n2027-01-01,holiday,\n01/02/2027,holiday,\n", "a.csv:3: 日期无效"),
        ("a.json", '{"year": 2027, "source": "s", "holidays": ["2026-12-24"]}', "not in 2027's notice"),
        ("a.json", '{"year": 2027, "source": "s", "holidays": ["2027-12-31"]}', "belongs to the 2028 notice"),
        ("a.csv", "date,kind,name\n2027-12-24,holiday,\n2028-01-01,holiday,\n", "2027-12-24 不在 2028 年通知"),
        ("a.csv", "date,kind,name\n", "no rows"),
        ("a.txt", "", ".json and .csv"),
    ],
)
def test_invalid_notice_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NoticeError, match=message):
        parse_notice_file(path)


# --- CLI without a database ------------------------------------------------------------------


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv("JIUZHU_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return CliRunner()


def test_cli_add(runner):
    result = runner.invoke(app, ["add", "2026-09-18", "20"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "2026-10-22"
    assert result.stderr == ""


def test_cli_add_provisional_warns_on_stderr(runner):
    result = runner.invoke(app, ["add", "2026-12-30", "5"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "2027-01-07"
    assert "2027" in result.stderr and "provisional" in result.stderr


def test_cli_between(runner):
    result = runner.invoke(app, ["between", "2026-09-18", "2026-10-22"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "20"
    result = runner.invoke(app, ["between", "2026-12-18", "2027-01-22"])
    assert result.stdout.splitlines()[-1] == "24"  # 2027-01-01 is off by the law, before any notice
    assert "provisional" in result.stderr


def test_cli_rejects_bad_input(runner):
    assert runner.invoke(app, ["add", "2026-13-01", "20"]).exit_code == 2
    assert runner.invoke(app, ["add", "2026-09-18", "0"]).exit_code == 2


def test_cli_unreachable_database_falls_back_to_builtin(runner, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = runner.invoke(app, ["add", "2026-09-18", "20"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "2026-10-22"
    assert "database unavailable" in result.stderr


def test_cli_years_without_database(runner):
    result = runner.invoke(app, ["years"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2004  builtin")
    assert any(line.startswith("2026  builtin") for line in lines)
    assert lines[-1].endswith("statutory holidays only")


def test_cli_import_bad_file_fails_before_touching_a_database(runner, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"year": 2027, "source": "s", "holidays": ["2026-12-01"]}', encoding="utf-8")
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 1
    assert "not in 2027" in result.stderr
    assert not (tmp_path / "var" / "pg").exists()


def test_the_case_pages_statutory_limit_is_tentative_through_a_year_without_a_notice() -> None:
    from webapp.review.case_page import provisional

    cal = WorkCalendar()
    assert cal.is_provisional(2027) and not cal.is_provisional(2026)
    accepted = date(2026, 12, 1)
    assert cal.add_working_days(accepted, 20).date == date(2026, 12, 29)
    statutory = cal.add_working_days(accepted, 30)
    assert (statutory.date, statutory.provisional) == (date(2027, 1, 13), True)
    assert provisional(cal, accepted, statutory.date) is True
    assert provisional(cal, accepted, date(2026, 12, 29)) is False
    assert provisional(cal, accepted, None) is False

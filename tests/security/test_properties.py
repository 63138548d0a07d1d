"""Property-based tests (hypothesis) of the parsers every boundary relies on: resident ID numbers and
their masking, money, and the working-day calendar."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from rules.calendar import WorkCalendar
from schemas.identity import ResidentId, mask_id, mask_phone, mask_pii, validate_resident_id
from schemas.money import Money, from_fen, to_fen, yuan

PROFILE = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# ---- resident ID numbers (GB 11643-1999) -----------------------------------------------------------------

WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]  # derived from the standard, not copied from the code
CHECK = "10X98765432"
IDS = TypeAdapter(ResidentId)


def check_char(first17: str) -> str:
    return CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def is_valid_id(text: str) -> bool:
    """An independent oracle: shape, a region not starting with 0, a real birth date from 1850, the check char."""
    v = text.strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", v) or v[0] == "0":
        return False
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    return born.year >= 1850 and v[17] == check_char(v[:17])


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    region = draw(st.from_regex(r"[1-9][0-9]{5}", fullmatch=True))
    born = draw(st.dates(min_value=date(1850, 1, 1), max_value=date(2099, 12, 31)))
    seq = draw(st.integers(0, 999))
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


def accepted(text: str) -> bool:
    try:
        IDS.validate_python(text)
    except ValidationError:
        return False
    return True


@PROFILE
@given(resident_ids())
def test_every_valid_id_is_accepted_as_it_is(id_number: str) -> None:
    assert IDS.validate_python(id_number) == id_number
    assert IDS.validate_python(f"  {id_number.lower()} ") == id_number


@PROFILE
@given(resident_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_changing_any_one_character_is_caught(id_number: str, position: int, replacement: str) -> None:
    assume(id_number[position] != replacement)
    mutated = id_number[:position] + replacement + id_number[position + 1 :]
    assert not accepted(mutated)


@PROFILE
@given(resident_ids(), st.integers(0, 16))
def test_swapping_two_neighbours_is_caught(id_number: str, position: int) -> None:
    a, b = id_number[position], id_number[position + 1]
    assume(a != b and "X" not in (a, b))
    swapped = id_number[:position] + b + a + id_number[position + 2 :]
    assert not accepted(swapped)


@PROFILE
@given(
    st.one_of(
        st.from_regex(r"[0-9]{17}[0-9Xx]", fullmatch=True),
        st.from_regex(
            r"\s?[1-9][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]\s?", fullmatch=True
        ),
        st.text(min_size=0, max_size=24),
        st.text(alphabet="0123456789Xx０１２３４５６７８９ -", min_size=16, max_size=20),
    )
)
@example("11010519491231002X")
@example("１１０１０５１９４９１２３１００２Ｘ")  # full-width digits: int() would take them
def test_accepts_exactly_the_ids_with_a_valid_checksum(text: str) -> None:
    assert accepted(text) == is_valid_id(text)


@PROFILE
@given(st.text(max_size=40))
def test_validation_errors_are_chinese_and_never_raise_anything_else(text: str) -> None:
    try:
        validate_resident_id(text)
    except ValueError as exc:
        assert str(exc).startswith("身份证号码")


@PROFILE
@given(st.one_of(resident_ids(), st.text(max_size=40), st.none()))
def test_mask_id_never_reveals_more_than_ten_characters(value: str | None) -> None:
    masked = mask_id(value)
    assert sum(c != "*" for c in masked) <= 10


@PROFILE
@given(resident_ids())
def test_a_masked_id_keeps_region_and_last_four_and_hides_the_birth_date(id_number: str) -> None:
    masked = mask_id(id_number)
    assert masked == id_number[:6] + "********" + id_number[-4:]
    assert id_number[6:14] not in masked[6:14]


mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
# What may stand next to a number in a log line: anything but the ASCII letters, digits and _ that would make
# it part of a longer token (a hex id, a longer number).
separators = st.text(
    alphabet=st.characters(
        exclude_characters="0123456789" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_",
        exclude_categories=("Cs",),
    ),
    max_size=8,
)


@PROFILE
@given(resident_ids(), mobiles, separators, separators, separators)
def test_log_scrubbing_masks_ids_and_phones_wherever_they_stand(
    id_number: str, phone: str, before: str, between: str, after: str
) -> None:
    line = f"{before}{id_number}{between or '，'}{phone}{after}"
    event = {"event": line, "nested": {"people": [id_number, {"phone": phone}]}, "pair": (phone,)}
    out = json.dumps(mask_pii(None, "info", event), ensure_ascii=False)
    assert id_number not in out and id_number.lower() not in out
    assert phone not in out
    assert mask_id(id_number) in out and mask_phone(phone) in out


# ---- money ------------------------------------------------------------------------------------------------

MONEY = TypeAdapter(Money)


class Amount(BaseModel):
    amount: Money


amounts = st.decimals(min_value=0, max_value=Decimal("999999999999.99"), places=2, allow_nan=False)


@PROFILE
@given(amounts)
def test_money_round_trips_through_text_json_and_fen(amount: Decimal) -> None:
    parsed = MONEY.validate_python(str(amount))
    assert type(parsed) is Decimal and parsed == amount
    dumped = Amount(amount=parsed).model_dump_json()
    assert re.fullmatch(r'\{"amount":"\d+\.\d{2}"\}', dumped)
    assert Amount.model_validate_json(dumped).amount == amount
    fen = to_fen(parsed)
    assert type(fen) is int and fen == int(amount * 100) and from_fen(fen) == amount


@PROFILE
@given(st.integers(min_value=0, max_value=99_999_999_999_999))
def test_fen_round_trip(fen: int) -> None:
    assert to_fen(from_fen(fen)) == fen
    assert from_fen(fen).as_tuple().exponent == -2


@PROFILE
@given(st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_a_float_is_never_kept_as_a_float(value: float) -> None:
    """A JSON number arrives as a float in Python; it becomes a Decimal of its shortest text, or is refused."""
    try:
        parsed = Amount.model_validate_json(json.dumps({"amount": value})).amount
    except ValidationError:
        assert Decimal(repr(value)).as_tuple().exponent < -2 or len(Decimal(repr(value)).as_tuple().digits) > 14
        return
    assert type(parsed) is Decimal and parsed == Decimal(repr(value))


@PROFILE
@given(
    st.decimals(min_value=0, max_value=10**9, allow_nan=False, allow_infinity=False).filter(
        lambda d: d.normalize().as_tuple().exponent < -2
    )
)
def test_more_than_two_places_is_refused(amount: Decimal) -> None:
    with pytest.raises(ValidationError):
        MONEY.validate_python(str(amount))


@PROFILE
@given(st.decimals(max_value=Decimal("-0.01"), allow_nan=False, allow_infinity=False, places=2))
def test_negative_amounts_are_refused(amount: Decimal) -> None:
    with pytest.raises(ValidationError):
        MONEY.validate_python(amount)


@PROFILE
@given(st.decimals(min_value=0, max_value=10**9, allow_nan=False, allow_infinity=False))
def test_rounding_to_the_fen_is_half_up_and_within_half_a_fen(amount: Decimal) -> None:
    rounded = yuan(amount)
    assert abs(rounded - amount) <= Decimal("0.005")
    assert to_fen(amount) == to_fen(rounded) and from_fen(to_fen(amount)) == rounded


# ---- the working-day calendar -------------------------------------------------------------------------------

CAL = WorkCalendar()
days = st.dates(min_value=date(2004, 1, 1), max_value=date(2029, 12, 31))


@st.composite
def pauses(draw: st.DrawFn, near: date) -> list[tuple[date, date]]:
    ranges = []
    for _ in range(draw(st.integers(0, 3))):
        first = near + timedelta(days=draw(st.integers(-5, 60)))
        ranges.append((first, first + timedelta(days=draw(st.integers(0, 20)))))
    return ranges


@st.composite
def clocks(draw: st.DrawFn) -> tuple[date, int, list[tuple[date, date]]]:
    start = draw(days)
    return start, draw(st.integers(1, 60)), draw(pauses(start))


@PROFILE
@given(clocks())
def test_add_working_days_and_working_days_between_are_inverse(clock) -> None:
    start, n, paused = clock
    end = CAL.add_working_days(start, n, paused).date
    assert CAL.working_days_between(start, end, paused) == n
    assert CAL.is_workday(end) and not any(a <= end <= b for a, b in paused)
    assert CAL.working_days_between(start, end - timedelta(days=1), paused) == n - 1


@PROFILE
@given(clocks(), st.integers(1, 30))
def test_more_days_or_a_later_start_never_give_an_earlier_deadline(clock, extra: int) -> None:
    start, n, paused = clock
    base = CAL.add_working_days(start, n, paused).date
    assert CAL.add_working_days(start, n + extra, paused).date > base
    assert CAL.add_working_days(start + timedelta(days=extra), n, paused).date >= base


@PROFILE
@given(clocks(), pauses(date(2016, 1, 1)))
def test_pausing_only_ever_pushes_the_deadline_later(clock, more) -> None:
    start, n, paused = clock
    assert CAL.add_working_days(start, n, paused).date >= CAL.add_working_days(start, n).date
    assert CAL.add_working_days(start, n, paused + more).date >= CAL.add_working_days(start, n, paused).date


@PROFILE
@given(days, st.integers(0, 400), st.integers(0, 400))
def test_counting_working_days_adds_up(a: date, x: int, y: int) -> None:
    b, c = a + timedelta(days=x), a + timedelta(days=x + y)
    assert CAL.working_days_between(a, b) + CAL.working_days_between(b, c) == CAL.working_days_between(a, c)
    assert CAL.working_days_between(c, a) == 0 or a == c


@PROFILE
@given(clocks(), st.integers(0, 10))
def test_the_reminder_day_leaves_exactly_n_working_days(clock, n: int) -> None:
    start, m, _ = clock
    deadline = CAL.add_working_days(start, m).date
    day = CAL.working_day_before(deadline, n)
    assert CAL.is_workday(day) and CAL.working_days_between(day, deadline) == n


@PROFILE
@given(st.dates(min_value=date(2026, 12, 1), max_value=date(2030, 12, 31)), st.integers(1, 60))
def test_a_deadline_in_a_year_without_a_notice_is_provisional(start: date, n: int) -> None:
    deadline = CAL.add_working_days(start, n)
    if CAL.is_provisional(deadline.date.year):
        assert deadline.provisional

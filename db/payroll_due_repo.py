"""What is due to the register's recipients up to a month, month by month (the SQL the payroll's draft and the
fund declaration share, so the two agree).

A recipient is due a month from its first payment month on while active, and through the month of a stop (a
stop takes effect from the month after it). The amount in force in a month is the old amount of the first
adjustment decided in the month or later, else the current one; the first payment month adds its months of
arrears (`recipients.arrears_months`), so an arrears month is never due by itself.

A month is put on a payroll once: a month that already has a line for the recipient in a payroll (paid,
failed, held or paid again) is never due again. A month before the payroll's own whose payroll day has passed
(some township's regular payroll of that month exists) and that has no line is still due: the recipient was
enrolled after that payroll was drafted (drafted early, a notice ending after the payroll day, an outage), so
it is paid, with its arrears, on the next payroll drafted. Months before the system's first payroll are not:
they were paid before the system's time. Nor are an imported household's months before `recipients.paid_from`
(the first month Jiuzhu pays it, `rules.payroll.imported_paid_from`), however long ago its start month: the
national system paid those, even where another township's payrolls of those months exist.
"""

from __future__ import annotations

# 00:00 Beijing of the first day of the month `m.month`.
_MONTH_START = "(m.month::timestamp at time zone 'Asia/Shanghai')"


def due(covered_by: str, *, this_month: bool) -> str:
    """Rows (case_id, township_code, assistance_type, people, household_id, for_month, arrears, amount_fen):
    each month up to the month starting $1 that is due to a recipient and not yet on a payroll line matching
    `covered_by` (a condition on `y`, the line's payroll). `this_month`: the month $1 is due though no payroll
    of it exists yet (a draft has its own payroll row; the declaration and the townships to pay come first)."""
    run = "m.month = $1 or " if this_month else ""
    return f"""
select r.case_id, r.township_code, r.assistance_type, r.people, r.household_id, m.month as for_month,
       case when m.month = r.first_payment_month then r.arrears_months else 0 end as arrears,
       coalesce((select o.old_amount_fen from ongoing_reviews o where o.case_id = r.case_id and o.outcome = 'adjust'
                 and o.reviewed_at >= {_MONTH_START} order by o.reviewed_at limit 1), r.monthly_amount_fen)
       * (1 + case when m.month = r.first_payment_month then r.arrears_months else 0 end) as amount_fen
from recipients r
cross join lateral (
    select d::date as month from generate_series(greatest(r.first_payment_month, r.paid_from, least($1::date, (
        select coalesce(min(y.month), $1::date) from payrolls y where y.seq = 0))), $1::date, interval '1 month') d
) m
where greatest(r.first_payment_month, r.paid_from) <= $1
  and (r.status = 'active' or (r.status = 'stopped' and r.stopped_at >= {_MONTH_START}))
  and ({run}m.month in (select y.month from payrolls y where y.seq = 0))
  and not exists (select 1 from payroll_lines l join payrolls y on y.id = l.payroll_id
                  where l.case_id = r.case_id and l.for_month = m.month and ({covered_by}))
"""


def declared_per_recipient() -> str:
    """One row per recipient of what the fund declaration of the month starting $1 asks for it (its months summed):
    each recipient-month is declared once, with the payroll that pays it.

    Why that one: the declaration asks for the money the month's payrolls pay out. A month whose payroll was drafted
    before the recipient's enrolment is not paid in its own month but on the next payroll drafted (`due`), so it is
    declared there, as a late month, and never in its own month's declaration too (which may be confirmed already
    and never changes). Hence a month on a payroll line is declared with that payroll's month only (a line paid
    again, `retry_of`, repeats a month already declared); a month on no line yet is declared now only while no
    regular payroll of the month exists (the declaration drafted before the payroll day: the month's payrolls will
    pay it); after that it waits for the next payroll, and that month's declaration."""
    on_a_line = "select 1 from payroll_lines l join payrolls y on y.id = l.payroll_id where l.retry_of is null"
    return f"""
select d.case_id, d.township_code, d.assistance_type, max(d.people) as people, sum(d.amount_fen) as amount_fen
from ({due("y.month <> $1 and l.retry_of is null", this_month=True)}) d
where exists ({on_a_line} and l.case_id = d.case_id and l.for_month = d.for_month and y.month = $1)
   or not exists (select 1 from payrolls y where y.month = $1 and y.seq = 0)
group by d.case_id, d.township_code, d.assistance_type
"""

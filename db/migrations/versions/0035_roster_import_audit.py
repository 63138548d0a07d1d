"""The first month Jiuzhu pays an imported household (audit of the roster import, H1).

`recipients.paid_from`: for a household imported from the national system's roster, the first month Jiuzhu pays
(`rules.payroll.imported_paid_from`: the import month while its payroll day has not passed, else the next month;
or the cut-over month the administrator gave). The payroll and the fund declaration (`db.payroll_due_repo.due`)
never count a month before it: the national system paid those. Empty for households enrolled by a review (paid
from their first payment month). Households imported before are filled in by the same rule, from their import's
time and the payroll day of the policy then in force.

Create Date: 2026-12-05
"""

from alembic import op

revision = "0035"
down_revision = "0034"


def upgrade() -> None:
    op.execute(
        """
        alter table recipients add column paid_from date;
        update recipients r set paid_from = date_trunc('month', d.on_day)::date
            + case when extract(day from d.on_day) > d.payroll_day then interval '1 month' else interval '0' end
        from (
            select h.case_id, (i.imported_at at time zone 'Asia/Shanghai')::date as on_day,
                   coalesce((select (p.body->'payroll'->>'payroll_day')::int from policy_versions p
                             where p.effective_from <= (i.imported_at at time zone 'Asia/Shanghai')::date
                             order by p.effective_from desc limit 1), 10) as payroll_day
            from roster_households h join roster_imports i on i.id = h.import_id
        ) d
        where d.case_id = r.case_id;
        """
    )


def downgrade() -> None:
    op.execute("alter table recipients drop column paid_from")

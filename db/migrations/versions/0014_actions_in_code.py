"""Each review action has one name, and the case row's progress is kept by the code that writes the event
log, from `rules.progress`, instead of by the PL/pgSQL trigger of migration 0011 (the same rules written
a second time, in a second language).

- Event kinds take their action's name: `materials_missing` -> `missing_materials`, `taken_over` ->
  `take_over` (with the same suffix of their event keys, which are `<sequence>-<kind>`).
- The trigger `case_events_progress` and its function `case_progress()` are dropped: every writer of
  `case_events` calls `db.cases_repo.append_events`, which updates the columns in its transaction.

Create Date: 2026-12-10
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0014"
down_revision = "0013"

RENAMED = {"materials_missing": "missing_materials", "taken_over": "take_over"}


def _rename(pairs: dict[str, str]) -> None:
    for old, new in pairs.items():
        op.execute(
            f"update case_events set kind = '{new}', "
            f"event_key = regexp_replace(event_key, '-{old}$', '-{new}') where kind = '{old}'"
        )


def upgrade() -> None:
    op.execute("drop trigger case_events_progress on case_events; drop function case_progress();")
    _rename(RENAMED)


def downgrade() -> None:
    _rename({new: old for old, new in RENAMED.items()})
    spec = importlib.util.spec_from_file_location("case_progress", Path(__file__).with_name("0011_case_progress.py"))
    assert spec and spec.loader
    m0011 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m0011)
    op.execute(m0011.TRIGGER)

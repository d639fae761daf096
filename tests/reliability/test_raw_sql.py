"""Raw SQL on tenant tables lives in one reviewed module (core/db.py): the ORM filter does not
reach text() or Core statements, so any other occurrence is a leak waiting to happen."""
from __future__ import annotations

import re
from pathlib import Path

from core import models  # noqa: F401 - every kernel model
from core.db import tenant_tables

ROOT = Path(__file__).parents[2]
REVIEWED = {ROOT / "core/db.py"}
RAW = re.compile(r"\b(text|exec_driver_sql)\s*\(")


def test_no_raw_sql_on_tenant_tables_outside_the_reviewed_module():
    names = [t.name for t in tenant_tables()]
    offenders = []
    for path in [*ROOT.glob("core/**/*.py"), *ROOT.glob("plugins/**/*.py")]:
        if path in REVIEWED or "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        for match in RAW.finditer(source):
            window = source[match.end(): match.end() + 400].lower()
            touched = [n for n in names if re.search(rf"\b{n}\b", window)]
            if touched:
                line = source[: match.start()].count("\n") + 1
                offenders.append(f"{path.relative_to(ROOT)}:{line} ({', '.join(touched)})")
    assert offenders == []

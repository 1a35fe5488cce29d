"""A lead export as another tool would give it, with the mess real files have: the file
``nurture import leads`` is measured and tested on.

    .venv/bin/python -m bench.leadcsv 5000 > leads.csv

Rows, by their index (so a test knows what each one must become):
- every 20th (i % 20 == 7) has a bad address, every 20th (i % 20 == 11) an unknown budget
  choice, every 20th (i % 20 == 13) a bad consent date;
- every 25th (i % 25 == 3) repeats the row before it word for word, every 25th
  (i % 25 == 17) names the person of the row before it with a new job title;
- one in 10 is a customer, one in 10 an MQL, the others leads; one in 3 consented;
- BANT answers (custom fields budget, authority, timeline) on every other row.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator

HEADER = (
    "Email",
    "First Name",
    "Last Name",
    "Company Name",
    "Job Title",
    "Lifecycle Stage",
    "Marketing consent",
    "Consent date",
    "budget",
    "authority",
    "timeline",
)
BUDGETS = ("none yet", "under 10k", "10k-50k", "over 50k")
AUTHORITIES = ("decides", "recommends", "uses", "researches")
TIMELINES = ("this quarter", "next quarter", "this year", "no date")


def email_of(i: int, domain: str = "import.example") -> str:
    return f"person{i}@{domain}"


def kind_of(i: int) -> str:
    """What row ``i`` is: bad-email, bad-choice, bad-date, repeat, update or good."""
    if i % 20 == 7:
        return "bad-email"
    if i % 20 == 11:
        return "bad-choice"
    if i % 20 == 13:
        return "bad-date"
    if i % 25 == 3 and i > 0:
        return "repeat"
    if i % 25 == 17 and i > 0:
        return "update"
    return "good"


def stage_of(i: int) -> str:
    return "customer" if i % 10 == 1 else "marketingqualifiedlead" if i % 10 == 2 else "lead"


def row_of(i: int, domain: str = "import.example") -> list[str]:
    """Row ``i`` as the file holds it (a repeat or an update refers to row ``i - 1``)."""
    kind = kind_of(i)
    if kind in ("repeat", "update"):
        base = _plain(i - 1, domain)
        if kind == "update":
            base[4] = "Chief Revenue Officer"
        return base
    row = _plain(i, domain)
    if kind == "bad-email":
        row[0] = f"person{i}-at-nowhere"
    elif kind == "bad-choice":
        row[8] = "a few coins"
    elif kind == "bad-date":
        row[6], row[7] = "yes", "last tuesday"
    return row


def _plain(i: int, domain: str) -> list[str]:
    bant = i % 2 == 0
    consented = i % 3 == 0
    return [
        email_of(i, domain),
        f"First{i}",
        f"Last{i}",
        f"Company {i % 300}",
        "Head of Marketing" if i % 4 else "Analyst",
        stage_of(i),
        "yes" if consented else "",
        "2025-06-01" if consented else "",
        BUDGETS[i % 4] if bant else "",
        AUTHORITIES[i % 4] if bant else "",
        TIMELINES[i % 4] if bant else "",
    ]


def lines(rows: int, domain: str = "import.example") -> Iterator[str]:
    """The file, line by line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for i in range(rows):
        writer.writerow(row_of(i, domain))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def text(rows: int, domain: str = "import.example") -> str:
    return "".join(lines(rows, domain))


def expected(rows: int) -> dict[str, int]:
    """What an import of the file must report."""
    seen: set[str] = set()
    bad = repeats = 0
    for i in range(rows):
        if kind_of(i).startswith("bad"):
            bad += 1
            continue
        email = row_of(i)[0]
        repeats += email in seen
        seen.add(email)
    return {
        "rows": rows,
        "bad": bad,
        "imported": rows - bad,
        "repeats": repeats,
        "leads": len(seen),
    }


if __name__ == "__main__":
    sys.stdout.write(text(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))

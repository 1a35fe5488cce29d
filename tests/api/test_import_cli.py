"""What ``nurture import suppressions`` prints and how it exits, against the real import
route over an in-memory ledger (the CLI's HTTP call goes to the app)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from nurture.cli import app
from nurture.testing import MemoryLeadGateway, MemoryLedger
from tests.api.apitools import KEY

FILE = (
    b"Email,Status\n"
    b"ada@globex.example,Unsubscribed\n"
    b"bob@x.example,hard bounce\n"
    b"nope,unsubscribed\n"
    b"carol@x.example,who knows\n"
)


@pytest.fixture
def cli(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose commands reach the app under test, 100 columns wide."""

    def post(url: str, **kw: object) -> object:
        return client.post(url, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr("nurture.cli.imports._post", post)
    monkeypatch.setenv("COLUMNS", "100")
    return CliRunner()


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "unsubscribed.csv"
    path.write_bytes(FILE)
    return path


def run(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, ["import", "suppressions", *args, "--api-key", KEY])
    return result.exit_code, result.output


class TestSuppressionsCommand:
    """The command reports bad rows as a table, then a one-line summary; bad rows exit 1."""

    def test_bad_rows_then_summary(self, cli, csv_file, ledger: MemoryLedger) -> None:
        code, out = run(cli, str(csv_file))
        assert code == 1
        assert "Bad rows (skipped)" in out and "not an email address: 'nope'" in out
        assert "unknown reason 'who knows'" in out
        assert "4 rows read: 2 imported, 0 already suppressed, 2 bad rows." in out
        assert len(ledger.suppressions) == 2

    def test_second_run_says_already_suppressed(self, cli, csv_file, ledger) -> None:
        run(cli, str(csv_file))
        _, out = run(cli, str(csv_file))
        assert "0 imported, 2 already suppressed" in out

    def test_dry_run_says_so_and_writes_nothing(self, cli, csv_file, ledger) -> None:
        _, out = run(cli, str(csv_file), "--dry-run")
        assert "2 would be imported" in out and "Dry run: nothing was written." in out
        assert ledger.suppressions == {}

    def test_clean_file_exits_0(self, cli, tmp_path, ledger) -> None:
        path = tmp_path / "list.csv"
        path.write_text("Contact\nada@globex.example\n")
        code, out = run(cli, str(path), "--map", "email=Contact", "--reason", "complaint")
        assert code == 0 and "1 imported" in out and "Bad rows" not in out

    def test_reason_as_exports_spell_it(self, cli, tmp_path, ledger) -> None:
        path = tmp_path / "list.csv"
        path.write_text("email\nada@globex.example\n")
        code, _ = run(cli, str(path), "--reason", "Hard bounce")
        assert code == 0 and [s.reason for s in ledger.suppressions.values()] == ["hard_bounce"]
        code, out = run(cli, str(path), "--reason", "erased")
        assert code == 2 and "--reason" in out

    def test_unusable_header_is_a_sentence(self, cli, tmp_path, ledger) -> None:
        path = tmp_path / "list.csv"
        path.write_text("name\nAda\n")
        code, out = run(cli, str(path))
        assert code == 1 and "No address column in the header (name)" in out
        assert "{" not in out

    def test_unreachable_api_exits_2(self, tmp_path, csv_file) -> None:
        result = CliRunner().invoke(
            app,
            ["import", "suppressions", str(csv_file), "--api-url", "http://127.0.0.1:9"],
        )
        assert result.exit_code == 2 and "Cannot reach the API" in result.output


LEADS = (
    b"Email,First Name,Lifecycle Stage,budget,Marketing consent\n"
    b"ada@globex.example,Ada,customer,over 50k,yes\n"
    b"nope,Bob,lead,,\n"
    b"carol@x.example,Carol,wizard,tiny,maybe\n"
    b"ada@globex.example,Ada,customer,over 50k,yes\n"
)


def run_leads(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, ["import", "leads", *args, "--api-key", KEY])
    return result.exit_code, result.output


class TestLeadsCommand:
    """Rows to the gateway as imports (never forms); every problem of a bad row listed."""

    def test_report_then_summary_and_rows_to_the_gateway(
        self, cli, tmp_path: Path, gateway: MemoryLeadGateway
    ) -> None:
        path = tmp_path / "Trade show 2026.csv"
        path.write_bytes(LEADS)
        code, out = run_leads(cli, str(path))
        flat = " ".join(out.split())
        assert code == 1
        assert "not a valid email" in flat or "must have an @-sign" in flat
        assert "unknown stage 'wizard'" in flat and "'tiny': must be one of" in flat
        assert "unknown consent 'maybe'" in flat
        assert (
            "4 rows read: 2 imported (1 naming a lead an earlier row named), 1 leads, "
            "2 bad rows. Origin: import:Trade-show-2026."
        ) in flat
        assert gateway.forms == []
        ((lead_id, row), (again_id, again)) = gateway.imports
        assert lead_id == again_id and row.key == again.key
        assert (row.stage, row.consent, row.lead.custom) == (
            "customer",
            "given",
            {"budget": "over 50k"},
        )

    def test_dry_run_hands_nothing(self, cli, tmp_path: Path, gateway) -> None:
        path = tmp_path / "l.csv"
        path.write_bytes(LEADS)
        _, out = run_leads(cli, str(path), "--dry-run", "--name", "fair")
        assert "2 would be imported" in out and "Dry run: nothing was written." in out
        assert gateway.imports == []

    def test_a_bad_option_is_a_sentence(self, cli, tmp_path: Path, gateway) -> None:
        path = tmp_path / "l.csv"
        path.write_bytes(LEADS)
        code, out = run_leads(cli, str(path), "--preset", "salesforce")
        assert code == 1 and "unknown preset 'salesforce'" in out.lower()
        code, out = run_leads(cli, str(path), "--map", "colour=Email")
        assert code == 1 and "colour" in out and gateway.imports == []


class TestLeadsRoute:
    def test_needs_an_admin_key(self, client: TestClient) -> None:
        answer = client.post(
            "/v1/leads/import",
            params={"name": "x"},
            content=LEADS,
            headers={"Content-Type": "text/csv"},
        )
        assert answer.status_code == 401


class TestLeadsInParts:
    def test_parts_keep_the_files_row_numbers_and_count_repeats_across_them(
        self, cli, tmp_path: Path, gateway: MemoryLeadGateway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Sent two rows at a time: a quoted line break stays inside its record (and its
        row, 3, is refused for it), a bad row in the third part is the file's row 6, and a
        person named in parts 1 and 3 is one lead and one repeat."""
        monkeypatch.setattr("nurture.cli.imports.PART_ROWS", 2)
        path = tmp_path / "p.csv"
        path.write_text(
            'email,first_name\na@x.example,A\n"b@x.example","B\nwith a line break"\n'
            "c@x.example,C\nd@x.example,D\nnope,E\na@x.example,A2\n"
        )
        code, out = run_leads(cli, str(path))
        flat = " ".join(out.split())
        assert code == 1
        assert "6 rows read: 4 imported (1 naming a lead an earlier row named), 3 leads" in flat
        rows = [line.split("│")[1].strip() for line in out.splitlines() if line.count("│") > 2]
        assert [r for r in rows if r] == ["3", "6"]
        assert [row.lead.first_name for _, row in gateway.imports] == ["A", "C", "D", "A2"]

    def test_every_problem_to_a_file_formulas_defused(
        self, cli, tmp_path: Path, gateway: MemoryLeadGateway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--problems writes every bad row's problems, across parts, as a spreadsheet
        shows them as text."""
        monkeypatch.setattr("nurture.cli.imports.PART_ROWS", 2)
        path = tmp_path / "p.csv"
        path.write_text("email,@stage\nnope,lead\n=1+1,lead\nok@x.example,wizard\n")
        report = tmp_path / "problems.csv"
        code, _ = run_leads(cli, str(path), "--problems", str(report))
        assert code == 1
        lines = report.read_text().splitlines()
        assert lines[0] == "row,column,problem"
        assert [line.split(",")[0] for line in lines[1:]] == ["2", "3", "4"]
        assert lines[3].startswith("4,'@stage,\"unknown stage 'wizard'")

"""Reading suppression lists as other tools export them, and as hostile files arrive."""

from __future__ import annotations

import pytest

from nurture.adapters.ledger import SuppressionReason
from nurture.services.suppression_csv import (
    MAX_RECORD_CHARS,
    BadFile,
    CsvRecords,
    Problem,
    SuppressionRow,
    SuppressionRows,
    reason_for,
)


def read(
    data: bytes,
    chunk: int = 1 << 20,
    mapping: dict[str, str] | None = None,
    default: SuppressionReason | None = None,
) -> list[SuppressionRow | Problem]:
    """Every row of ``data`` fed ``chunk`` bytes at a time (the header left out)."""
    records, rows = CsvRecords(), SuppressionRows(mapping, default)
    found: list[SuppressionRow | Problem | None] = []
    for start in range(0, len(data), chunk):
        found += [rows.read(n, cells) for n, cells in records.feed(data[start : start + chunk])]
    found += [rows.read(n, cells) for n, cells in records.finish()]
    return [item for item in found if item is not None]


def good(items: list[SuppressionRow | Problem]) -> list[tuple[int, str, str]]:
    return [(i.row, i.email, i.reason) for i in items if isinstance(i, SuppressionRow)]


def bad(items: list[SuppressionRow | Problem]) -> list[tuple[int, str]]:
    return [(i.row, i.column) for i in items if isinstance(i, Problem)]


class TestExports:
    """Files as Mautic, HubSpot and spreadsheets write them are read alike."""

    def test_hubspot_style_header_and_statuses(self) -> None:
        data = b"Email,Status\r\nAda@Globex.example,Unsubscribed\r\nbob@x.example,Hard bounce\r\n"
        assert good(read(data)) == [
            (2, "ada@globex.example", "unsubscribed"),
            (3, "bob@x.example", "hard_bounce"),
        ]

    def test_bom_and_semicolons(self) -> None:
        """Excel in a comma-decimal locale: a byte order mark, then ';' between cells."""
        data = "\ufeffE-mail;Reason\nada@globex.example;spam complaint\n".encode()
        assert good(read(data)) == [(2, "ada@globex.example", "complaint")]

    def test_tabs(self) -> None:
        assert good(read(b"email\treason\nada@globex.example\tbounced\n")) == [
            (2, "ada@globex.example", "hard_bounce")
        ]

    def test_quoted_fields_hold_separators_quotes_and_line_breaks(self) -> None:
        """A quoted note spanning lines is one row; the next row keeps its spreadsheet number."""
        data = (
            b'name,email,reason\n"Lovelace, Ada ""the first""",ada@globex.example,unsubscribed\n'
            b'"two\nlines",bob@x.example,"hard, bounce"\n'
            b"carol,carol@x.example,complained\n"
        )
        items = read(data)
        assert good(items) == [
            (2, "ada@globex.example", "unsubscribed"),
            (4, "carol@x.example", "complaint"),
        ]
        assert bad(items) == [(3, "reason")]

    def test_pieces_cut_anywhere_read_the_same(self) -> None:
        """Fed one byte at a time (a multi-byte character, a CRLF, a quote cut in two)."""
        data = '\ufeffemail;reason;note\r\nada@globex.example;unsubscribed;"é;\r\nx"\r\n'.encode()
        assert read(data, chunk=1) == read(data) and good(read(data)) == [
            (2, "ada@globex.example", "unsubscribed")
        ]

    def test_map_names_other_columns(self) -> None:
        data = b"Contact,Why\nada@globex.example,opted out\n"
        items = read(data, mapping={"email": "Contact", "reason": "why"})
        assert good(items) == [(2, "ada@globex.example", "unsubscribed")]

    def test_default_reason_for_a_plain_address_list(self) -> None:
        data = b"email\nada@globex.example\n"
        assert good(read(data, default="hard_bounce")) == [(2, "ada@globex.example", "hard_bounce")]

    @pytest.mark.parametrize(
        ("said", "reason"),
        [
            ("UNSUBSCRIBED", "unsubscribed"),
            ("hard_bounce", "hard_bounce"),
            ("Hard-Bounced", "hard_bounce"),
            ("cleaned", "hard_bounce"),
            ("Spam  Complaint", "complaint"),
            ("complaint", "complaint"),
            ("soft_bounces", "soft_bounces"),
            ("erased", None),
            ("soft bounce", None),
            ("maybe", None),
        ],
    )
    def test_reason_spellings(self, said: str, reason: str | None) -> None:
        assert reason_for(said) == reason


class TestBadRows:
    """A bad row is reported with its row and column, and the rows after it are still read."""

    def test_each_problem_names_row_and_column(self) -> None:
        data = (
            b"email,reason\nnot-an-address,unsubscribed\n,unsubscribed\n"
            b"ada@globex.example,maybe\nbob@x.example\nzed@x.example,bounced\n"
        )
        items = read(data)
        assert bad(items) == [(2, "email"), (3, "email"), (4, "reason"), (5, "reason")]
        assert good(items) == [(6, "zed@x.example", "hard_bounce")]
        assert "maybe" in next(i.problem for i in items if isinstance(i, Problem) and i.row == 4)

    def test_hostile_cells(self) -> None:
        """Control characters, undecodable bytes, a formula, a header injection: all refused."""
        data = (
            b"email,reason\nada\x00@globex.example,unsubscribed\n\xff\xfe@x.example,unsubscribed\n"
            b'=HYPERLINK(1),unsubscribed\n"a@x.example\r\nBcc: b@x.example",unsubscribed\n'
            b"ok@x.example,unsubscribed\n"
        )
        items = read(data)
        assert bad(items) == [(2, "email"), (3, "email"), (4, "email"), (5, "email")]
        assert good(items) == [(6, "ok@x.example", "unsubscribed")]

    def test_an_overlong_row_is_cut_off_and_reading_goes_on(self) -> None:
        data = b"email,reason\n" + b"x" * (MAX_RECORD_CHARS + 10) + b"\nok@x.example,spam\n"
        items = read(data, chunk=4096)
        assert bad(items) == [(2, "")] and good(items) == [(3, "ok@x.example", "complaint")]

    def test_an_unterminated_quote_is_reported_not_swallowed_silently(self) -> None:
        items = read(b'email,reason\nok@x.example,spam\n"ada@globex.example,unsubscribed\n')
        assert good(items) == [(2, "ok@x.example", "complaint")]
        assert bad(items) == [(3, "")]


class TestBadFiles:
    """A file whose header cannot be used stops before any row, saying what to do."""

    @pytest.mark.parametrize(
        ("data", "mapping", "says"),
        [
            (b"name,reason\nAda,unsubscribed\n", None, "--map email="),
            (b"email\nada@globex.example\n", None, "--reason"),
            (b"email,reason\n", {"email": "Contact"}, "--map email"),
        ],
    )
    def test_refused_before_any_row(
        self, data: bytes, mapping: dict[str, str] | None, says: str
    ) -> None:
        with pytest.raises(BadFile, match=says):
            read(data, mapping=mapping)

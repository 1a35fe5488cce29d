"""Configuration errors name the file, the line and the rule."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nurture.config.files import load_project_config, load_sales_team, load_scoring_model
from nurture.config.tomllines import Key, key_lines, line_of
from nurture.errors import ConfigError, ConfigProblem
from tests.configfiles import CONFIG_FILES, break_file
from tests.helpers import ROOT

LOADERS: dict[str, Callable[[Path], object]] = {
    "nurture.toml": load_project_config,
    "scoring.toml": load_scoring_model,
    "sales.toml": load_sales_team,
}


def problems_of(path: Path) -> tuple[ConfigProblem, ...]:
    """What loading ``path`` as the shipped file of that name refuses."""
    with pytest.raises(ConfigError) as info:
        LOADERS[path.name](path)
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
    return info.value.problems


def broken_copy(tmp_path: Path, name: str, old: str, new: str) -> tuple[Path, int]:
    """A copy of the shipped ``name`` with one mistake; the line the mistake is on."""
    path = tmp_path / name
    path.write_text((ROOT / "config" / name).read_text())
    return path, break_file(path, old, new)


def line_with(path: Path, text: str) -> int:
    """The 1-based line of ``path`` that is exactly ``text`` (a table header)."""
    return path.read_text().splitlines().index(text) + 1


class TestMistakesInShippedFiles:
    """Each mistake is reported at the line that holds it, with the field and the rule."""

    @pytest.mark.parametrize(
        ("name", "old", "new", "field", "rule"),
        [
            # A value of the wrong type, in the third [[behaviour]] table.
            (
                "scoring.toml",
                "points = 2\ncap = 20",
                'points = "two"\ncap = 20',
                "behaviour.2.points",
                "valid integer",
            ),
            # Inside an inline table on a dotted key.
            (
                "scoring.toml",
                "when.company_size = { min = 10 }",
                'when.company_size = { min = "ten" }',
                "fit.0.when.company_size.min",
                "valid number",
            ),
            # The second element of a multi-line array of inline tables.
            (
                "nurture.toml",
                "https://www.youtube.com/@example",
                "youtube",
                "brand.social.1.url",
                "should match pattern",
            ),
            # An element of a one-line array under a dotted table header.
            (
                "nurture.toml",
                "days = [1, 2, 3, 4, 5]",
                "days = [1, 2, 9]",
                "sending.window.days.2",
                "less than or equal to 7",
            ),
            # The second [[enrolment]] entry.
            (
                "nurture.toml",
                "priority = 20",
                'priority = "high"',
                "enrolment.1.priority",
                "valid integer",
            ),
            # A value that may be text, a number or a boolean: one problem, not four.
            (
                "nurture.toml",
                'properties = { content = "buying-guide" }',
                'properties = { content = ["buying-guide"] }',
                "forms.white-paper.properties.content",
                "valid boolean, integer, number or string",
            ),
            # A misspelt key in the second [[reps]] entry.
            (
                "sales.toml",
                "capacity = 25",
                "capacityy = 25",
                "reps.1.capacityy",
                "Extra inputs are not permitted",
            ),
            # A rule on an inline table inside an inline array.
            (
                "sales.toml",
                "end = 2027-01-03 }]",
                "end = 2026-01-03 }]",
                "reps.3.out_of_office.0",
                "before it starts",
            ),
        ],
    )
    def test_value_at_its_own_line(
        self, tmp_path: Path, name: str, old: str, new: str, field: str, rule: str
    ) -> None:
        """The problem is at the line of the wrong value: ``file:line: field: rule``."""
        path, line = broken_copy(tmp_path, name, old, new)
        (problem,) = problems_of(path)
        assert (problem.file, problem.line, problem.field) == (path, line, field)
        assert rule in problem.message
        assert str(problem).startswith(f"{path}:{line}: {field}: ")

    @pytest.mark.parametrize(
        ("name", "old", "new", "header", "field", "rule"),
        [
            # A missing key: its table's header.
            ("scoring.toml", "sql = 50 ", "", "[thresholds]", "thresholds.sql", "Field required"),
            # A rule across a table's keys.
            (
                "scoring.toml",
                "hot_at = 35",
                "hot_at = 5",
                "[temperature]",
                "temperature",
                "must be greater than warm_at",
            ),
            (
                "sales.toml",
                'remind_after = "30m"',
                'remind_after = "3h"',
                "[sla]                                      # business hours, counted in [hours]",
                "sla",
                "remind_after must be shorter",
            ),
            # A form id that breaks the naming rule: the form's header.
            (
                "nurture.toml",
                "[forms.contact]",
                "[forms.Contact]",
                "[forms.Contact]",
                "forms.Contact.[key]",
                "should match pattern",
            ),
        ],
    )
    def test_table_rule_at_its_header(
        self, tmp_path: Path, name: str, old: str, new: str, header: str, field: str, rule: str
    ) -> None:
        """A missing key or a rule over a whole table points at the table's header."""
        path, _ = broken_copy(tmp_path, name, old, new)
        (problem,) = problems_of(path)
        assert (problem.line, problem.field) == (line_with(path, header), field)
        assert rule in problem.message

    def test_array_of_tables_entries_are_counted(self, tmp_path: Path) -> None:
        """In the only [[fit]] table, a rule on the whole entry points at its header; in the
        second [[buying_stages]], a renamed key is reported both at its line (unknown) and
        at the header (the right name missing)."""
        path, line = broken_copy(tmp_path, "scoring.toml", "advance_at = 25", "advance_to = 25")
        problems = {p.field: p.line for p in problems_of(path)}
        header = [
            n for n, t in enumerate(path.read_text().splitlines(), 1) if t == "[[buying_stages]]"
        ]
        assert problems == {
            "buying_stages.1.advance_at": header[1],
            "buying_stages.1.advance_to": line,
        }
        path, _ = broken_copy(tmp_path, "scoring.toml", "when.company_size", "when.headcount")
        (problem,) = problems_of(path)
        assert (problem.field, problem.line) == ("fit.0", line_with(path, "[[fit]]"))
        assert "unknown lead attribute(s) ['headcount']" in problem.message

    def test_every_problem_of_a_file(self, tmp_path: Path) -> None:
        """Two mistakes in two [[reps]] entries: both reported, the second (a rule of the
        whole entry) at the entry's header."""
        path, weight = broken_copy(tmp_path, "sales.toml", "weight = 1\n", "weight = 0\n")
        break_file(path, 'timezone = "Europe/Berlin"', 'timezone = "Mars/Olympus"')
        reps = [n for n, t in enumerate(path.read_text().splitlines(), 1) if t == "[[reps]]"]
        problems = [(p.line, p.field) for p in problems_of(path)]
        assert problems == [(weight, "reps.1.weight"), (reps[2], "reps.2")]


class TestSyntaxErrors:
    """A file that is not TOML is refused at the line where the parser stopped."""

    @pytest.mark.parametrize(
        ("name", "old", "new", "offset", "rule"),
        [
            ("scoring.toml", 'name = "evaluation"', 'name = "evaluation', 0, "Illegal character"),
            ("nurture.toml", 'locale = "en"', 'locale "en"', 0, "Expected '='"),
            ("sales.toml", "weight = 2\n", "weight = 2\nweight = 3\n", 1, "Cannot overwrite"),
        ],
    )
    def test_line_of_the_syntax_error(
        self, tmp_path: Path, name: str, old: str, new: str, offset: int, rule: str
    ) -> None:
        """The line tomllib stopped at, its message, and the column."""
        path, line = broken_copy(tmp_path, name, old, new)
        (problem,) = problems_of(path)
        assert problem.line == line + offset
        assert problem.message.startswith(f"not valid TOML: {rule}")
        assert "(column " in problem.message and "(at line" not in problem.message

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is named, with no line."""
        (problem,) = problems_of(tmp_path / "scoring.toml")
        assert str(problem) == f"{tmp_path / 'scoring.toml'}: scoring model file not found"


def leaves(value: Any, path: Key = ()) -> Iterator[Key]:
    """Every path to a value tomllib read, tables and arrays walked into."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))


class TestKeyLines:
    """Every value of a document is found at the line that defines it."""

    @pytest.mark.parametrize("name", CONFIG_FILES)
    def test_every_value_of_the_shipped_files(self, name: str) -> None:
        """Every path tomllib reads has a line, and a key's line names the key."""
        text = (ROOT / "config" / name).read_text()
        lines, source = key_lines(text), text.splitlines()
        for path in leaves(tomllib.loads(text)):
            if not path:
                continue
            assert path in lines, path
            if isinstance(path[-1], str):
                assert path[-1] in source[lines[path] - 1], (path, lines[path])

    def test_what_looks_like_toml_inside_strings_and_comments(self) -> None:
        """Headers and keys inside multi-line strings and comments are not definitions;
        quoted keys may hold dots; nested arrays of tables count per parent entry."""
        text = "\n".join(
            [
                "# [not.a.table]",  # 1
                'title = """',  # 2
                "[fake]",  # 3
                'key = "value" """',  # 4
                '"a.b" = 1  # a quoted key',  # 5
                "site.'google.com' = true",  # 6
                "[[fruits]]",  # 7
                'name = "apple"',  # 8
                "[fruits.physical]",  # 9
                'color = "red"',  # 10
                "[[fruits.varieties]]",  # 11
                "[[fruits.varieties]]",  # 12
                'name = "granny smith"',  # 13
                "[[fruits]]",  # 14
                "[[fruits.varieties]]",  # 15
                "points = [",  # 16
                "  1,  # one ]",  # 17
                "  [2, 3],",  # 18
                "  { x = '}' },",  # 19
                "]",  # 20
                "path = 'C:\\dir'",  # 21
            ]
        )
        lines = key_lines(text)
        assert tomllib.loads(text)["fruits"][1]["varieties"][0]["points"][2] == {"x": "}"}
        assert ("fake",) not in lines and ("key",) not in lines and ("not",) not in lines
        assert lines[("title",)] == 2
        assert lines[("a.b",)] == 5
        assert lines[("site", "google.com")] == 6
        assert lines[("fruits", 0, "physical", "color")] == 10
        assert lines[("fruits", 0, "varieties", 1, "name")] == 13
        assert lines[("fruits", 1)] == 14
        assert lines[("fruits", 1, "varieties", 0)] == 15
        points = ("fruits", 1, "varieties", 0, "points")
        assert [lines[(*points, i)] for i in range(3)] == [17, 18, 19]
        assert lines[(*points, 2, "x")] == 19
        assert lines[("fruits", 1, "varieties", 0, "path")] == 21

    def test_nearest_enclosing_definition(self) -> None:
        """A path the document lacks falls back to its nearest defined ancestor."""
        lines = key_lines("[a]\nb = 1\n[[c]]\n[[c]]\nd = { e = 1 }\n")
        assert line_of(lines, ("a", "missing")) == 1
        assert line_of(lines, ("c", 1, "d", "e", "int")) == 5
        assert line_of(lines, ("c", 1, "f")) == 4
        assert line_of(lines, ("nowhere",)) is None
        assert line_of(lines, ()) is None

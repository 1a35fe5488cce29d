"""The dashboard's inline SVG charts."""

from __future__ import annotations

import re

from nurture.api.dashboard.charts import (
    NO_VALUE,
    PALETTE,
    Bar,
    Series,
    bar_chart,
    funnel_chart,
    nice_ticks,
    stacked_chart,
)


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


class TestTicks:
    """Axes step by 1, 2, 2.5 or 5 times a power of ten and reach past the top value."""

    def test_rates(self) -> None:
        """A top of 42.6% gives steps of 10%."""
        assert nice_ticks(0.426) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]

    def test_counts(self) -> None:
        """A top of 1,887 gives steps of 500."""
        assert nice_ticks(1887) == [0, 500, 1000, 1500, 2000]

    def test_exact_top(self) -> None:
        """A top on a step ends there."""
        assert nice_ticks(40) == [0, 10, 20, 30, 40]

    def test_nothing(self) -> None:
        """All zeros still draw an axis."""
        assert nice_ticks(0) == [0.0, 1.0]


class TestBarChart:
    """A bar chart is an accessible image whose every value is written beside its bar."""

    def chart(self) -> str:
        series = [Series("MQL", [Bar(0.3), Bar(None)]), Series("SQL", [Bar(0.1), Bar(0.05)])]
        return bar_chart(
            "c1", "Conversion <by> source", "See the table", ["a&b", "c"], series, percent
        )

    def test_accessible_image(self) -> None:
        """role=img, labelled by its title and description, both escaped."""
        svg = self.chart()
        assert svg.startswith('<svg class="chart" role="img"')
        assert 'aria-labelledby="c1-t c1-d"' in svg
        assert '<title id="c1-t">Conversion &lt;by&gt; source</title>' in svg
        assert '<desc id="c1-d">See the table</desc>' in svg

    def test_values_and_names_written(self) -> None:
        """Each value beside its bar, category names escaped, a missing value a dash."""
        svg = self.chart()
        for text in ("30.0%", "10.0%", "5.0%", "a&amp;b", NO_VALUE):
            assert f">{text}</text>" in svg or f"{text}</text>" in svg
        assert svg.count("<rect") == 3 + 2  # three bars, two legend keys

    def test_intervals_drawn_as_whiskers(self) -> None:
        """A bar with an interval gets a whisker from its low to its high end."""
        svg = bar_chart("c2", "t", "d", ["x"], [Series("r", [Bar(0.2, 0.1, 0.3)])], percent)
        assert len(re.findall(r"<path d=\"M", svg)) == 1

    def test_long_names_cut_with_full_name_in_tooltip(self) -> None:
        """A name too long for its room is cut, and whole in its tooltip."""
        name = "a-very-long-campaign-name-that-goes-on-and-on-and-on"
        svg = bar_chart("c3", "t", "d", [name], [Series("r", [Bar(0.2)])], percent)
        assert f"<title>{name}</title>" in svg and "…</text>" in svg


class TestFunnelAndStacked:
    """The funnel writes its text in a wide bar and beside a narrow one; a stacked bar
    writes each part's share when it fits."""

    def test_funnel_text_placement(self) -> None:
        """White text in the wide bar, dark text beside the narrow one."""
        svg = funnel_chart("f", "t", "d", [("New", 1000, "1,000"), ("Customer", 10, "10 · 1.0%")])
        assert 'fill="#ffffff">1,000</text>' in svg
        assert 'fill="#1a1a1a">10 · 1.0%</text>' in svg

    def test_stacked_shares(self) -> None:
        """Parts are shares of the category's total."""
        series = [Series("yes", [Bar(3)]), Series("no", [Bar(1)])]
        svg = stacked_chart("s", "t", "d", ["rep"], series, percent)
        assert ">75.0%</text>" in svg and ">25.0%</text>" in svg


def contrast(colour: str, background: str = "#ffffff") -> float:
    """WCAG 2 contrast ratio."""

    def luminance(code: str) -> float:
        channels = [int(code[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(colour), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


class TestContrast:
    """Every series colour reads at least 4.5:1 on white, and white reads on it."""

    def test_palette(self) -> None:
        assert min(contrast(colour) for colour in PALETTE) >= 4.5

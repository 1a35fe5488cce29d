"""The statistics give the published values: quantiles as ``statistics.quantiles``
(inclusive), Wilson intervals as Newcombe (1998, table I), the z-test as worked by hand."""

from __future__ import annotations

import statistics

import pytest

from nurture.domain.reports.stats import quantile, two_proportion_p, wilson_interval


class TestQuantile:
    """Linear interpolation between the closest ranks."""

    def test_by_hand(self) -> None:
        """1, 2, 3, 10: the median sits halfway between 2 and 3; p75 at rank 0.75 * 3 = 2.25,
        a quarter of the way from 3 to 10: 4.75."""
        assert quantile([10, 1, 3, 2], 0.5) == 2.5
        assert quantile([10, 1, 3, 2], 0.75) == 4.75

    def test_as_the_standard_library(self) -> None:
        values = [5.0, 1.5, 9.0, 2.0, 7.25, 3.0, 8.0]
        assert [quantile(values, q) for q in (0.25, 0.5, 0.75)] == pytest.approx(
            statistics.quantiles(values, n=4, method="inclusive")
        )

    def test_one_value_and_none(self) -> None:
        assert quantile([7.0], 0.75) == 7.0
        assert quantile([], 0.5) is None


class TestWilson:
    """The 95% Wilson score interval of a proportion."""

    @pytest.mark.parametrize(
        ("successes", "trials", "low", "high"),
        [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
        ],
    )
    def test_newcombe_table(self, successes: int, trials: int, low: float, high: float) -> None:
        interval = wilson_interval(successes, trials)
        assert interval is not None
        assert (round(interval[0], 4), round(interval[1], 4)) == (low, high)

    def test_no_trial(self) -> None:
        assert wilson_interval(0, 0) is None


class TestTwoProportions:
    """The pooled two-proportion z-test, two-sided."""

    def test_by_hand(self) -> None:
        """14/40 against 4/40: pooled 18/80 = 0.225; standard error
        √(0.225 * 0.775 * (1/40 + 1/40)) = √0.00871875 = 0.093374; z = 0.25 / 0.093374
        = 2.6774; p = 2 * (1 - Φ(2.6774)) = 2 * 0.00371 = 0.0074."""
        p = two_proportion_p(14, 40, 4, 40)
        assert p is not None
        assert round(p, 4) == 0.0074

    def test_equal_proportions(self) -> None:
        assert two_proportion_p(4, 40, 4, 40) == 1.0
        assert two_proportion_p(0, 40, 0, 35) == 1.0

    def test_an_empty_arm(self) -> None:
        assert two_proportion_p(3, 10, 0, 0) is None

"""The statistics give the published values: quantiles as ``statistics.quantiles``
(inclusive), Wilson intervals as Newcombe (1998, table I), the z-test and Fisher's exact
test as worked by hand."""

from __future__ import annotations

import statistics

import pytest

from nurture.domain.reports.stats import (
    fisher_exact_p,
    normal_enough,
    quantile,
    two_proportion_p,
    wilson_interval,
)


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


class TestFisherExact:
    """Fisher's exact test, two-sided: every table with the observed margins no more
    likely than the observed one."""

    def test_rare_goals_by_hand(self) -> None:
        """0/30 against 5/30: 5 goals among 60, C(60,5) = 5,461,512 tables. k goals in the
        first arm weigh C(30,k)·C(30,5-k): k=0 and k=5 142,506 each, k=1 and k=4
        30·27,405 = 822,150, k=2 and k=3 435·4,060 = 1,766,100. No more likely than the
        observed k=0: k=0 and k=5, p = 2 · 142,506 / 5,461,512 = 0.05219."""
        p = fisher_exact_p(0, 30, 5, 30)
        assert p is not None
        assert round(p, 4) == 0.0522
        assert fisher_exact_p(5, 30, 0, 30) == p

    def test_tea_tasting(self) -> None:
        """Fisher's lady tasting tea: 3 of 4 cups right against 1 of 4: the tables k=1 and
        k=3 weigh 16 each, k=0 and k=4 1 each, of C(8,4) = 70: p = 34/70 = 0.4857."""
        assert fisher_exact_p(3, 4, 1, 4) == pytest.approx(34 / 70)

    def test_equal_and_empty(self) -> None:
        assert fisher_exact_p(4, 40, 4, 40) == 1.0
        assert fisher_exact_p(0, 10, 0, 12) == 1.0
        assert fisher_exact_p(1, 10, 0, 0) is None


class TestWhichTest:
    """The z-test only when each arm expects 5 successes and 5 failures at the pooled rate."""

    @pytest.mark.parametrize(
        ("samples", "normal"),
        [
            ((14, 40, 4, 40), True),  # pooled 0.225: 40 x 0.225 = 9 expected goals each
            ((0, 30, 5, 30), False),  # pooled 0.0833: 2.5 expected goals each
            ((4, 40, 4, 40), False),  # pooled 0.1: 4 expected goals each
            ((36, 40, 36, 40), False),  # pooled 0.9: 4 expected non-goals each
            ((5, 50, 5, 50), True),  # exactly 5 and 45
            ((3, 10, 0, 0), False),
        ],
    )
    def test_normal_enough(self, samples: tuple[int, int, int, int], normal: bool) -> None:
        assert normal_enough(*samples) is normal

"""The few statistics the reports use, written out so each is checked by hand in the tests.

Quantiles interpolate linearly between the closest ranks (the "inclusive" method of
``statistics.quantiles``, numpy's default): the median of 1, 2, 3, 10 is 2.5, its p75 is
4.75. Proportions get a Wilson score interval (it stays inside 0-1 and behaves on small
samples, where the normal approximation does not). Two proportions are compared with the
pooled two-proportion z-test, two-sided, when each sample expects at least 5 successes and
5 failures at the pooled rate (``normal_enough``); otherwise with Fisher's exact test,
two-sided, computed exactly on integers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "MIN_EXPECTED",
    "Z95",
    "fisher_exact_p",
    "normal_enough",
    "quantile",
    "two_proportion_p",
    "wilson_interval",
]

Z95 = 1.959963984540054
"""The standard normal quantile of 0.975: a two-sided 95% interval."""
MIN_EXPECTED = 5
"""The successes and failures each sample must expect for the z-test's normal
approximation to hold (the usual rule of thumb)."""


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0-1) of ``values``, or ``None`` when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of ``successes / trials``, or ``None`` with no trial."""
    if trials == 0:
        return None
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """The two-sided p-value that ``x1/n1`` and ``x2/n2`` differ (pooled z-test), or
    ``None`` when a sample is empty. Equal extremes (both 0% or both 100%) give 1.0."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / spread
    return math.erfc(abs(z) / math.sqrt(2))


def normal_enough(x1: int, n1: int, x2: int, n2: int) -> bool:
    """Whether each sample expects ``MIN_EXPECTED`` successes and failures at the pooled
    rate: n·p̂ ≥ 5 and n·(1 - p̂) ≥ 5, so that the z-test may be used."""
    if n1 == 0 or n2 == 0:
        return False
    pooled = (x1 + x2) / (n1 + n2)
    return all(n * pooled >= MIN_EXPECTED and n * (1 - pooled) >= MIN_EXPECTED for n in (n1, n2))


def fisher_exact_p(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """The two-sided p-value of Fisher's exact test that ``x1/n1`` and ``x2/n2`` differ, or
    ``None`` when a sample is empty: the probability, given the margins, of every table no
    more likely than the one observed. Counted in integers (binomial coefficients), so
    "no more likely" needs no tolerance."""
    if n1 == 0 or n2 == 0:
        return None
    successes = x1 + x2

    def weight(k: int) -> int:  # tables with k successes in the first sample
        return math.comb(n1, k) * math.comb(n2, successes - k)

    observed = weight(x1)
    first, last = max(0, successes - n2), min(n1, successes)
    extreme = sum(w for w in map(weight, range(first, last + 1)) if w <= observed)
    return min(1.0, extreme / math.comb(n1 + n2, successes))

"""The few statistics the reports use, written out so each is checked by hand in the tests.

Quantiles interpolate linearly between the closest ranks (the "inclusive" method of
``statistics.quantiles``, numpy's default): the median of 1, 2, 3, 10 is 2.5, its p75 is
4.75. Proportions get a Wilson score interval (it stays inside 0-1 and behaves on small
samples, where the normal approximation does not), and two proportions are compared with
the pooled two-proportion z-test, two-sided.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["Z95", "quantile", "two_proportion_p", "wilson_interval"]

Z95 = 1.959963984540054
"""The standard normal quantile of 0.975: a two-sided 95% interval."""


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

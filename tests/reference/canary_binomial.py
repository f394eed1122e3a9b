"""Reference p-values for the canary judge's error rule (src/checks/canary/statistics.rs).

The rule asks whether the new version's error rate is higher than the old version's beyond
chance, with the exact conditional binomial test: under equal error rates, and given the total
k = new_errors + old_errors, the new version's errors follow Binomial(k, q) with
q = new_requests / (new_requests + old_requests). The p-value is P(X >= new_errors), which is
what scipy.stats.binomtest(new_errors, k, q, alternative='greater').pvalue computes.

The Rust tests read the CSV this prints and compare every row, so a wrong formula fails there.
Regenerate (needs scipy) with:

    python3 tests/reference/canary_binomial.py > tests/reference/canary_binomial.csv
"""

import scipy
from scipy.stats import binomtest

# (new_errors, new_requests, old_errors, old_requests), grouped by what each row exercises.
CASES = [
    # The two cases from the product spec: a clear regression, and noise.
    (12, 300, 0, 2000),
    (1, 300, 4, 2000),
    # Degenerate rows, answered 1.0 without scipy (see p_value below).
    (0, 0, 0, 0),
    (0, 300, 0, 2000),
    (0, 300, 25, 2000),
    (5, 300, 0, 0),
    (5, 300, 7, 0),
    (3, 0, 4, 2000),
    # Errors above requests: clamped to the requests, as the function does.
    (500, 300, 0, 2000),
    (20, 10, 3, 2),
    (7, 300, 5000, 2000),
    # k = 1.
    (1, 1, 0, 1),
    (1, 1, 0, 1000),
    (1, 1000, 0, 1),
    (1, 300, 0, 2000),
    (0, 300, 1, 2000),
    # Small counts around the middle.
    (2, 100, 1, 100),
    (3, 100, 0, 100),
    (5, 1000, 5, 1000),
    (6, 1000, 4, 1000),
    (10, 1000, 0, 1000),
    (4, 300, 10, 2000),
    (8, 300, 10, 2000),
    (15, 300, 10, 2000),
    (30, 300, 10, 2000),
    # Equal rates: p-values near one half, from small to large k.
    (10, 1000, 10, 1000),
    (100, 10000, 100, 10000),
    (1000, 100000, 1000, 100000),
    (50, 5000, 200, 20000),
    (3000, 300000, 12000, 1200000),
    # The new version doing better: p-values near one.
    (1, 1000, 50, 1000),
    (10, 10000, 100, 10000),
    (100, 100000, 300, 100000),
    # A few thousand errors.
    (2000, 10000, 1500, 10000),
    (2300, 10000, 1500, 10000),
    (1900, 10000, 2100, 10000),
    (4000, 50000, 3500, 50000),
    (5000, 100000, 4900, 100000),
    # Very small p-values, 1e-50 down to 1e-300, and past what a double holds.
    (60, 300, 0, 2000),
    (100, 300, 2, 2000),
    (120, 1000, 0, 1000),
    (200, 1000, 10, 10000),
    (500, 2000, 0, 2000),
    (700, 2000, 0, 2000),
    (300, 1000, 5, 10000),
    (400, 1000, 20, 10000),
    # q near 0: the new version sees a sliver of the traffic.
    (1, 10, 0, 1000000),
    (1, 10, 5, 1000000),
    (2, 10, 5, 1000000),
    (3, 1000, 20, 100000000),
    (50, 1000, 100, 1000000000),
    (150, 1, 0, 1000000000),
    (10, 20, 100000, 1000000000),
    # q near 1: the old version sees a sliver of the traffic.
    (1, 1000000, 0, 10),
    (100, 1000000, 0, 10),
    (100, 1000000, 1, 10),
    (1000, 100000000, 5, 1000),
    (5000, 1000000000, 3, 1000),
    # Large k: 200,000 errors in total, and beyond.
    (100000, 1000000, 100000, 1000000),
    (100500, 1000000, 99500, 1000000),
    (101000, 1000000, 99000, 1000000),
    (105000, 1000000, 95000, 1000000),
    (107000, 1000000, 93000, 1000000),
    (108000, 1000000, 92000, 1000000),
    (110000, 1000000, 90000, 1000000),
    (99000, 1000000, 101000, 1000000),
    (40500, 2000000, 159500, 8000000),
    (20300, 500000, 180000, 4500000),
    (1001000, 10000000, 999000, 10000000),
    (1010000, 10000000, 990000, 10000000),
]


def p_value(new_errors, new_requests, old_errors, old_requests):
    # Errors above requests are treated as equal to the requests, as the function does.
    new_errors = min(new_errors, new_requests)
    old_errors = min(old_errors, old_requests)
    # The degenerate cases are 1.0 by definition, as the function documents: no new errors,
    # or no errors at all (k = 0), shows nothing; without old requests, q = 1 and
    # P(X >= new_errors) = 1; no requests on either side means nothing was seen. (With the
    # clamp, no new requests means no new errors.)
    if new_errors == 0 or old_requests == 0:
        return 1.0
    total_errors = new_errors + old_errors
    new_share = new_requests / (new_requests + old_requests)
    return binomtest(new_errors, total_errors, new_share, alternative="greater").pvalue


def main():
    print(f"# scipy {scipy.__version__}: scipy.stats.binomtest(new_errors, k, q, alternative='greater').pvalue")
    print("new_errors,new_requests,old_errors,old_requests,p_value")
    for new_errors, new_requests, old_errors, old_requests in CASES:
        p = p_value(new_errors, new_requests, old_errors, old_requests)
        print(f"{new_errors},{new_requests},{old_errors},{old_requests},{float(p):.17g}")


if __name__ == "__main__":
    main()

//! The exact one-sided test behind the error rule (pure).
//!
//! Is the new version's error rate higher than the old version's beyond chance? Under equal error
//! rates, and given the total number of errors `k`, each error falls on the new version's side with
//! the new version's share of the requests, `q`; so the new version's errors follow
//! Binomial(k, q), and the p-value is the chance of this many new errors or more.

/// The one-sided p-value that the new version's errors are this many or more by chance alone, if
/// both versions had the same error rate: the exact conditional binomial test. Given the total
/// `k = new_errors + old_errors`, the new version's errors follow Binomial(k, q) under that
/// hypothesis, with `q = new_requests / (new_requests + old_requests)`, and the answer is
/// P(X >= new_errors). A small value says the new version's errors are more than chance explains.
///
/// Errors above requests are treated as equal to the requests (the judge clamps them too). Then:
/// - No new errors (which includes no new requests, and `k = 0`): 1.0, nothing is shown.
/// - No requests on either side: 1.0, nothing seen, nothing shown.
/// - No old requests while the new version has some: `q = 1`, every error is the new version's by
///   necessity, and P(X >= new_errors) = 1.0.
///
/// Within about 1e-14 relative of exact rational arithmetic where that was checked (up to 2,000,000
/// errors, down to 1e-281), and within 1e-9 of every row of `tests/reference/canary_binomial.csv`;
/// p-values too small for an `f64` come out as 0. More than 2^36 errors in total (69 billion; no
/// canary window comes near) are first scaled down to 2^36 at the same ratio between the two
/// sides, which bounds the work to a few million steps. Always in [0, 1], never NaN, for any
/// inputs.
pub(crate) fn excess_errors_p_value(new_errors: u64, new_requests: u64, old_errors: u64, old_requests: u64) -> f64 {
    let new_errors = new_errors.min(new_requests);
    let old_errors = old_errors.min(old_requests);
    if new_errors == 0 || old_requests == 0 {
        return 1.0;
    }
    let (new_errors, old_errors) = within_work_bound(new_errors, old_errors);
    if new_errors == 0 {
        return 1.0;
    }
    let p_value = binomial_upper_tail(
        new_errors,
        new_errors + old_errors,
        new_requests as f64,
        old_requests as f64,
    );
    if p_value.is_nan() { 1.0 } else { p_value.clamp(0.0, 1.0) }
}

/// The most errors in total the tail is computed over; the work grows with its square root.
const MOST_WALKED_ERRORS: u64 = 1 << 36;

/// Both error counts scaled down at the same ratio when their total is above
/// [`MOST_WALKED_ERRORS`] (which also keeps the total, and the indexes as `f64`, exact).
fn within_work_bound(new_errors: u64, old_errors: u64) -> (u64, u64) {
    let total = u128::from(new_errors) + u128::from(old_errors);
    if total <= u128::from(MOST_WALKED_ERRORS) {
        return (new_errors, old_errors);
    }
    let scale = MOST_WALKED_ERRORS as f64 / total as f64;
    // `as` saturates, and the scaled counts are at most 2^36 each, so their sum cannot overflow.
    let scaled = |errors: u64| ((errors as f64 * scale).round() as u64).min(MOST_WALKED_ERRORS);
    (scaled(new_errors), scaled(old_errors))
}

/// A term this far below the largest one (in natural log) is too small to change a sum of terms
/// at least 1: e^-60 is 9e-27, and the terms past it fall at least geometrically (the pmf is
/// log-concave), by a ratio no closer to 1 than about 1 - 11 / sd, so all of them together add
/// less than 1e-20 even at 2^36 errors.
const NEGLIGIBLE_LOG_TERM: f64 = -60.0;

/// Below this natural log a positive number rounds to 0 as an `f64` (half the smallest subnormal,
/// 2.47e-324, is e^-745.13).
const LOG_ROUNDS_TO_ZERO: f64 = -745.2;

/// P(X >= at_least) for X ~ Binomial(total, q), q = new_requests / (new_requests + old_requests),
/// for 1 <= at_least <= total and both request counts positive.
///
/// Why this way: Rust has no `ln_gamma`, and the pmf's parts (binomial coefficients, powers of q)
/// over- and underflow for large counts.
/// But the ratio of neighbouring terms is simple, pmf(i + 1) / pmf(i) = (total - i) / (i + 1) *
/// q / (1 - q), so the log weights of all terms *relative to the mode* follow by adding up the
/// logs of those ratios, walking out from the mode. The p-value is then the tail's share of all
/// the weight, and no normalizing constant is needed. Only the terms within e^60 of the largest
/// (about 11 standard deviations around the mode, O(sqrt(total)) terms) change either sum; the
/// walk stops there, or earlier with 0 once even the tail's bound rounds to 0 (the log weights
/// fall at least quadratically from the mode, so that is O(sqrt(total)) steps as well).
///
/// Accuracy: the weights are summed as plain numbers, but scaled so that the largest term of each
/// sum is about 1 (the mode's for the sum of all weights; the tail's first term for a tail past
/// the mode), so neither sum underflows while it matters. The running log weight is summed with
/// compensation, so its rounding does not grow with the number of steps; each step's ratio is
/// computed from the counts (three roundings) rather than from a rounded q, whose error would add
/// up step after step.
fn binomial_upper_tail(at_least: u64, total: u64, new_requests: f64, old_requests: f64) -> f64 {
    let new_share = new_requests / (new_requests + old_requests);
    // `as` saturates; any index near the true mode would do, this is the mode.
    let mode = (((total + 1) as f64 * new_share).floor() as u64).min(total);
    let tail_holds_mode = at_least <= mode;

    // The sums, each relative to its own reference term.
    let mut all_weight = 1.0; // relative to the mode's weight, which is counted here
    let mut tail_weight = if tail_holds_mode { 1.0 } else { 0.0 };
    // The log of the tail's reference term relative to the mode's: the mode's own when the tail
    // holds the mode, otherwise the tail's first term, set once the walk reaches it.
    let mut tail_reference = 0.0;

    // Down from the mode: pmf(i - 1) / pmf(i) = i / (total - i + 1) * (1 - q) / q.
    let mut log_weight = CompensatedSum::default();
    let mut index = mode;
    while index > 0 {
        let ratio = (index as f64 * old_requests) / ((total - index + 1) as f64 * new_requests);
        log_weight.add(ratio.ln());
        index -= 1;
        let term = log_weight.value().exp();
        all_weight += term;
        if index >= at_least {
            tail_weight += term;
        }
        if log_weight.value() < NEGLIGIBLE_LOG_TERM {
            break;
        }
    }

    // Up from the mode: pmf(i + 1) / pmf(i) = (total - i) / (i + 1) * q / (1 - q).
    let mut log_weight = CompensatedSum::default();
    let log_terms_in_tail = ((total + 1) as f64).ln();
    let mut index = mode;
    while index < total {
        let ratio = ((total - index) as f64 * new_requests) / ((index + 1) as f64 * old_requests);
        log_weight.add(ratio.ln());
        index += 1;
        let log_term = log_weight.value();
        all_weight += log_term.exp();
        if index < at_least {
            // Past the mode the terms only fall, so the tail is at most (total + 1) times this
            // term, and the mode's term is part of all the weight.
            if log_term + log_terms_in_tail < LOG_ROUNDS_TO_ZERO {
                return 0.0;
            }
            continue;
        }
        if index == at_least && !tail_holds_mode {
            tail_reference = log_term;
        }
        tail_weight += (log_term - tail_reference).exp();
        if log_term - tail_reference < NEGLIGIBLE_LOG_TERM && log_term < NEGLIGIBLE_LOG_TERM {
            break;
        }
    }

    (tail_reference + (tail_weight / all_weight).ln()).exp()
}

/// A running sum that carries the rounding error of each addition (Neumaier's variant of Kahan
/// summation): the log weights are sums of up to millions of small steps onto a value of several
/// hundred, where plain addition would lose about 1e-13 a step.
#[derive(Default)]
struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    fn add(&mut self, value: f64) {
        let sum = self.sum + value;
        if self.sum.abs() >= value.abs() {
            self.compensation += (self.sum - sum) + value;
        } else {
            self.compensation += (value - sum) + self.sum;
        }
        self.sum = sum;
    }

    fn value(&self) -> f64 {
        self.sum + self.compensation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REFERENCE_TABLE: &str = include_str!("../../../tests/reference/canary_binomial.csv");

    struct ReferenceRow {
        new_errors: u64,
        new_requests: u64,
        old_errors: u64,
        old_requests: u64,
        p_value: f64,
    }

    fn reference_rows() -> Vec<ReferenceRow> {
        let mut lines = REFERENCE_TABLE
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty());
        assert_eq!(
            lines.next(),
            Some("new_errors,new_requests,old_errors,old_requests,p_value")
        );
        lines
            .map(|line| {
                let fields: Vec<&str> = line.split(',').collect();
                assert_eq!(fields.len(), 5, "row {line:?}");
                let count = |field: &str| field.parse::<u64>().unwrap_or_else(|_| panic!("row {line:?}"));
                ReferenceRow {
                    new_errors: count(fields[0]),
                    new_requests: count(fields[1]),
                    old_errors: count(fields[2]),
                    old_requests: count(fields[3]),
                    p_value: fields[4].parse().unwrap_or_else(|_| panic!("row {line:?}")),
                }
            })
            .collect()
    }

    /// Equal to 1e-9 relative, or to 1e-300 absolute for values that small.
    fn assert_close(actual: f64, expected: f64, context: &str) {
        let difference = (actual - expected).abs();
        assert!(
            difference <= 1e-9 * expected.abs() || difference <= 1e-300,
            "{context}: got {actual:e}, expected {expected:e}"
        );
    }

    #[test]
    fn matches_every_row_of_the_reference_table() {
        let rows = reference_rows();
        assert!(rows.len() >= 60, "only {} rows", rows.len());
        for row in rows {
            let actual = excess_errors_p_value(row.new_errors, row.new_requests, row.old_errors, row.old_requests);
            let context = format!(
                "{} errors in {} new requests, {} in {} old",
                row.new_errors, row.new_requests, row.old_errors, row.old_requests
            );
            assert_close(actual, row.p_value, &context);
        }
    }

    #[test]
    fn the_spec_regression_is_far_beyond_chance() {
        assert!(excess_errors_p_value(12, 300, 0, 2000) < 1e-6);
    }

    #[test]
    fn the_spec_noise_is_chance() {
        assert!(excess_errors_p_value(1, 300, 4, 2000) > 0.3);
    }

    #[test]
    fn degenerate_inputs_show_nothing() {
        assert_eq!(excess_errors_p_value(0, 0, 0, 0), 1.0);
        assert_eq!(excess_errors_p_value(0, 300, 0, 2000), 1.0);
        assert_eq!(excess_errors_p_value(0, 300, 9, 2000), 1.0);
        assert_eq!(excess_errors_p_value(5, 300, 0, 0), 1.0);
        assert_eq!(excess_errors_p_value(5, 0, 3, 2000), 1.0);
    }

    #[test]
    fn errors_above_requests_count_as_the_requests() {
        assert_eq!(
            excess_errors_p_value(500, 300, 7, 2000),
            excess_errors_p_value(300, 300, 7, 2000)
        );
        assert_eq!(
            excess_errors_p_value(3, 300, 9000, 2000),
            excess_errors_p_value(3, 300, 2000, 2000)
        );
    }

    #[test]
    fn the_largest_inputs_are_answered() {
        for (new_errors, new_requests, old_errors, old_requests) in [
            (u64::MAX, u64::MAX, u64::MAX, u64::MAX),
            (u64::MAX, u64::MAX, 0, u64::MAX),
            (u64::MAX / 2, u64::MAX, u64::MAX / 3, u64::MAX),
            (1, u64::MAX, u64::MAX, u64::MAX),
            (u64::MAX, u64::MAX, u64::MAX, 1),
            (1, 1, u64::MAX, u64::MAX),
        ] {
            let p_value = excess_errors_p_value(new_errors, new_requests, old_errors, old_requests);
            assert!((0.0..=1.0).contains(&p_value), "{p_value}");
        }
    }

    #[test]
    fn tiny_p_values_are_tiny_or_zero_never_nan() {
        for new_errors in [1_000, 5_000, 20_000, 100_000, 1_000_000] {
            let p_value = excess_errors_p_value(new_errors, 1_000_000, 0, 1_000_000);
            assert!((0.0..1e-300).contains(&p_value), "{new_errors}: {p_value:e}");
        }
    }

    /// P(X >= at_least) for X ~ Binomial(total, q) by summing the pmf directly, with the binomial
    /// coefficients from the multiplicative formula: a different route, for small totals only.
    fn direct_upper_tail(at_least: u64, total: u64, new_requests: u64, old_requests: u64) -> f64 {
        let new_share = new_requests as f64 / (new_requests + old_requests) as f64;
        let old_share = old_requests as f64 / (new_requests + old_requests) as f64;
        let exponent = |count: u64| i32::try_from(count).unwrap();
        (at_least..=total)
            .map(|errors| {
                let coefficient = (1..=errors).fold(1.0, |product, step| {
                    product * (total - errors + step) as f64 / step as f64
                });
                coefficient * new_share.powi(exponent(errors)) * old_share.powi(exponent(total - errors))
            })
            .sum()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn is_a_probability(
            new_errors in 0..=10_000_000u64,
            new_requests in 0..=10_000_000u64,
            old_errors in 0..=10_000_000u64,
            old_requests in 0..=10_000_000u64,
        ) {
            let p_value = excess_errors_p_value(new_errors, new_requests, old_errors, old_requests);
            prop_assert!((0.0..=1.0).contains(&p_value), "{p_value}");
        }

        #[test]
        fn one_more_new_error_never_raises_it(
            new_errors in 0..=100_000u64,
            new_requests in 1..=1_000_000u64,
            old_errors in 0..=100_000u64,
            old_requests in 1..=1_000_000u64,
        ) {
            let before = excess_errors_p_value(new_errors, new_requests, old_errors, old_requests);
            let after = excess_errors_p_value(new_errors + 1, new_requests, old_errors, old_requests);
            prop_assert!(after <= before * (1.0 + 1e-9), "{after:e} after {before:e}");
        }

        #[test]
        fn one_more_old_error_never_lowers_it(
            new_errors in 0..=100_000u64,
            new_requests in 1..=1_000_000u64,
            old_errors in 0..=100_000u64,
            old_requests in 1..=1_000_000u64,
        ) {
            let before = excess_errors_p_value(new_errors, new_requests, old_errors, old_requests);
            let after = excess_errors_p_value(new_errors, new_requests, old_errors + 1, old_requests);
            prop_assert!(after >= before * (1.0 - 1e-9), "{after:e} after {before:e}");
        }

        #[test]
        fn matches_direct_summation_for_small_totals(
            total in 1..=60u64,
            new_share_of_errors in 0.0..=1.0f64,
            new_requests in 1..=10_000u64,
            old_requests in 1..=10_000u64,
        ) {
            let new_errors = ((total as f64 * new_share_of_errors).round() as u64).clamp(1, total);
            let old_errors = total - new_errors;
            // Enough requests that the clamp leaves the errors alone.
            let (new_requests, old_requests) = (new_requests + new_errors, old_requests + old_errors);
            let expected = direct_upper_tail(new_errors, total, new_requests, old_requests);
            let actual = excess_errors_p_value(new_errors, new_requests, old_errors, old_requests);
            prop_assert!((actual - expected).abs() <= 1e-9 * expected, "got {actual:e}, expected {expected:e}");
        }

        /// With the sides swapped, the lower tail: P(X >= e) + P(k - X >= k - e + 1) = 1.
        #[test]
        fn the_swapped_sides_are_the_complement(
            new_errors in 1..=200_000u64,
            old_errors in 0..=200_000u64,
            new_requests in 0..=5_000_000u64,
            old_requests in 1..=5_000_000u64,
        ) {
            let (new_requests, old_requests) = (new_requests + new_errors, old_requests + old_errors + 1);
            let upper = excess_errors_p_value(new_errors, new_requests, old_errors, old_requests);
            let lower = excess_errors_p_value(old_errors + 1, old_requests, new_errors - 1, new_requests);
            prop_assert!((upper + lower - 1.0).abs() <= 1e-12, "{upper:e} + {lower:e}");
        }
    }
}

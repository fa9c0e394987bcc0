//! Backoff between attempts: exponential from a per-cause base, capped, with jitter, and never
//! past the command's deadline.

use std::time::{Duration, Instant};

/// The wait before attempt `attempt` (1 for the first retry): `base_ms` doubled per attempt,
/// capped at `max`, then spread over its upper half so that callers who failed together do not
/// retry together.
pub(crate) fn delay(attempt: u32, base_ms: u64, max: Duration) -> Duration {
    if base_ms == 0 {
        return Duration::ZERO;
    }
    let exp = attempt.saturating_sub(1).min(16);
    let nominal = Duration::from_millis(base_ms.saturating_mul(1 << exp)).min(max);
    let half = nominal / 2;
    half + half.mul_f64(fastrand::f64())
}

/// `wait`, shortened so that it ends before `deadline`.
pub(crate) fn within(wait: Duration, deadline: Instant) -> Duration {
    wait.min(deadline.saturating_duration_since(Instant::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_jitters() {
        let max = Duration::from_millis(500);
        for _ in 0..100 {
            let first = delay(1, 50, max);
            assert!(first >= Duration::from_millis(25) && first <= Duration::from_millis(50));
            let third = delay(3, 50, max);
            assert!(third >= Duration::from_millis(100) && third <= Duration::from_millis(200));
            let late = delay(30, 50, max);
            assert!(late >= Duration::from_millis(250) && late <= max);
        }
        assert_eq!(delay(5, 0, max), Duration::ZERO);
    }

    #[test]
    fn never_past_the_deadline() {
        let deadline = Instant::now() + Duration::from_millis(10);
        assert!(within(Duration::from_secs(5), deadline) <= Duration::from_millis(10));
        let passed = Instant::now() - Duration::from_millis(1);
        assert_eq!(within(Duration::from_secs(5), passed), Duration::ZERO);
    }
}

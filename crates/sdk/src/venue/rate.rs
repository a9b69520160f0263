//! The client-side rate budget: a token bucket in the venue's weight units.

use std::time::Duration;

use tokio::{sync::Mutex, time::Instant};

use super::RateBudget;

/// A token bucket shared by every request of one venue client.
///
/// The lock is held while a request waits for tokens. tokio's mutex is fair, so waiting requests
/// are served in arrival order and a heavy request cannot be starved by a stream of light ones.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    burst: f64,
    per_second: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(budget: RateBudget) -> Self {
        let burst = f64::from(budget.burst.max(1));
        Self {
            burst,
            per_second: f64::from(budget.per_minute.max(1)) / 60.0,
            state: Mutex::new(State {
                tokens: burst,
                refilled_at: Instant::now(),
            }),
        }
    }

    /// Whether a request of `weight` can ever pass (its weight fits in the bucket).
    pub(crate) fn admits(&self, weight: u32) -> bool {
        f64::from(weight) <= self.burst
    }

    /// Takes `weight` tokens, waiting for the refill when there are too few. Returns the time
    /// spent waiting. The caller checks [`admits`](Self::admits) first.
    pub(crate) async fn acquire(&self, weight: u32) -> Duration {
        let want = f64::from(weight).min(self.burst);
        let started = Instant::now();
        let mut state = self.state.lock().await;
        loop {
            let now = Instant::now();
            let elapsed = now.duration_since(state.refilled_at).as_secs_f64();
            state.tokens = (state.tokens + elapsed * self.per_second).min(self.burst);
            state.refilled_at = now;
            if state.tokens >= want {
                state.tokens -= want;
                return started.elapsed();
            }
            let missing = want - state.tokens;
            tokio::time::sleep(Duration::from_secs_f64(missing / self.per_second)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_the_refill_once_the_burst_is_spent() {
        // 10 units at once, 6000 per minute = 100 per second.
        let bucket = TokenBucket::new(RateBudget {
            burst: 10,
            per_minute: 6000,
        });
        assert!(bucket.acquire(10).await < Duration::from_millis(5));
        // 5 more units need 5 / 100 = 0.05 s of refill.
        let waited = bucket.acquire(5).await;
        assert!(
            waited >= Duration::from_millis(45) && waited < Duration::from_millis(500),
            "{waited:?}"
        );
        assert!(bucket.admits(10));
        assert!(!bucket.admits(11));
    }
}

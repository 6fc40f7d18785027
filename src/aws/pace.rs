//! Client-side pacing of calls under AWS quotas. KMS allows a few CreateKey, CreateAlias
//! and UpdateAlias calls per second per account and region, and that quota
//! is shared with production traffic; c3 stays below it by spacing its calls
//! of each operation evenly, per (account, region, operation).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Even spacing of calls per key.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    /// At most `rate` calls per second per key (0 is read as 1).
    pub fn per_second(rate: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / rate.max(1),
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for this key's next slot.
    pub async fn wait(&self, key: &str) {
        let slot = {
            let Ok(mut next) = self.next.lock() else {
                return;
            };
            let now = Instant::now();
            let slot = next.get(key).copied().filter(|t| *t > now).unwrap_or(now);
            next.insert(key.to_string(), slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_of_one_key_are_spaced_others_are_not() {
        let p = Pacer::per_second(4);
        let start = Instant::now();
        for _ in 0..5 {
            p.wait("a").await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        let t = Instant::now();
        p.wait("b").await;
        assert_eq!(t.elapsed(), Duration::ZERO);
    }
}

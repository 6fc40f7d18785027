//! What the unit tests of `live::kms` and `live::iam` share: in-memory
//! listings cut into pages, and a log of the calls a fake was asked to make.

use std::sync::{Mutex, MutexGuard};

use super::Page;

/// Page `marker` of `all`, `size` items a page; a marker is the offset of
/// its page's first item.
pub fn paged<T: Clone>(all: &[T], size: usize, marker: Option<String>) -> Page<T> {
    let start: usize = marker.map_or(0, |m| m.parse().unwrap());
    let end = (start + size).min(all.len());
    let truncated = end < all.len();
    Page {
        items: all[start..end].to_vec(),
        truncated,
        next_marker: truncated.then(|| end.to_string()),
    }
}

/// Every (operation, key or marker) call a fake was asked to make, in order.
#[derive(Debug, Default)]
pub struct FakeLog(Mutex<Vec<(String, String)>>);

impl FakeLog {
    /// Records a call of `operation` about `what`.
    pub fn record(&self, operation: &str, what: &str) {
        self.entries()
            .push((operation.to_string(), what.to_string()));
    }

    /// What each call of `operation` was about, in order.
    pub fn calls(&self, operation: &str) -> Vec<String> {
        self.entries()
            .iter()
            .filter(|(o, _)| o == operation)
            .map(|(_, w)| w.clone())
            .collect()
    }

    /// Every call, in order.
    pub fn all(&self) -> Vec<(String, String)> {
        self.entries().clone()
    }

    fn entries(&self) -> MutexGuard<'_, Vec<(String, String)>> {
        self.0.lock().unwrap()
    }
}

//! Progress on stderr, as the printer's mode says: one line redrawn in place
//! on a terminal (`Live`), or one line per account and region as it
//! finishes, for CI logs (`Plain`) — never one line per API call or write.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;
use std::time::Instant;

use super::printer::{Printer, ProgressMode};
use crate::apply::{Outcome, Progress, Status};
use crate::live::ReadProgress;
use crate::plan::Plan;

/// The counters of a read, with a per-target line in `Plain` mode.
pub fn read_progress(printer: &Printer) -> ReadProgress {
    if printer.progress != ProgressMode::Plain {
        return ReadProgress::new();
    }
    let lines = printer.stderr_lines();
    ReadProgress::observed(Box::new(move |account, region, ok| {
        lines.line(&format!(
            "read {account} {region}{}",
            if ok { "" } else { ": failed (see the errors)" }
        ));
    }))
}

/// The live line of a read in progress (`Live` mode; nothing otherwise).
pub fn draw_read(printer: &Printer, p: &ReadProgress, started: Instant, done: bool) {
    if printer.progress != ProgressMode::Live {
        return;
    }
    let line = format!(
        "{} {}/{} targets, {} API calls, {:.1} s{}",
        if done { "Read" } else { "Reading" },
        p.targets_done.load(Relaxed),
        p.targets.load(Relaxed),
        p.calls.load(Relaxed),
        started.elapsed().as_secs_f64(),
        if done { "." } else { "" }
    );
    printer.progress_line(&line, done);
}

/// Per (account, region or "IAM"): changes planned, done, not done.
type Tally = BTreeMap<(String, String), (usize, usize, usize)>;

/// Apply's progress: a redrawn count of writes (`Live`), or one line per
/// account and region once all its writes are done (`Plain`).
pub struct ApplyProgress<'a> {
    printer: &'a Printer,
    /// Per (account, region or "IAM"): writes planned, done, failed.
    targets: Mutex<Tally>,
}

impl<'a> ApplyProgress<'a> {
    /// Progress of the executable changes of `plan`.
    pub fn new(printer: &'a Printer, plan: &Plan) -> Self {
        let mut targets = Tally::new();
        for c in plan.executable() {
            targets
                .entry(place(&c.account, c.region.as_deref()))
                .or_default()
                .0 += 1;
        }
        Self {
            printer,
            targets: Mutex::new(targets),
        }
    }
}

fn place(account: &str, region: Option<&str>) -> (String, String) {
    (account.to_string(), region.unwrap_or("IAM").to_string())
}

impl Progress for ApplyProgress<'_> {
    fn outcome(&self, done: usize, total: usize, o: &Outcome) {
        match self.printer.progress {
            ProgressMode::Off => {}
            ProgressMode::Live => {
                let line = format!("Applying: {done}/{total} changes");
                self.printer.progress_line(&line, done == total);
            }
            ProgressMode::Plain => {
                let key = place(&o.change.account, o.change.region.as_deref());
                let finished = {
                    let mut targets = self
                        .targets
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    let entry = targets.entry(key.clone()).or_default();
                    entry.1 += 1;
                    if !matches!(o.status, Status::Done) {
                        entry.2 += 1;
                    }
                    (entry.1 == entry.0).then_some(*entry)
                };
                if let Some((n, _, failed)) = finished {
                    let verdict = if failed == 0 {
                        "done".to_string()
                    } else {
                        format!("{failed} not done (see the table)")
                    };
                    self.printer.progress_line(
                        &format!("applied {} {}: {n} change(s), {verdict}", key.0, key.1),
                        false,
                    );
                }
            }
        }
    }
}

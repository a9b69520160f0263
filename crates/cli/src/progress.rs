//! The progress bar of `unimargin profile`: one step per pin and per (adapter × account) read,
//! on stderr so that stdout stays the profile alone. indicatif draws nothing when stderr is not
//! a terminal, so scripts and CI logs see only the closing summary line.

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use unimargin_schema::ChainId;
use unimargin_server::ReadProgress;

/// A bar that grows as chains plan their reads and advances as reads finish.
pub(crate) struct ReadBar {
    bar: ProgressBar,
    failed: AtomicU64,
}

impl ReadBar {
    /// A bar on stderr.
    pub(crate) fn stderr() -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {elapsed:>3} [{bar:30}] {pos}/{len} reads {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        Self {
            bar,
            failed: AtomicU64::new(0),
        }
    }

    /// Steps that did not yield data.
    pub(crate) fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Removes the bar, leaving the terminal clean for the output.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl ReadProgress for ReadBar {
    fn planned(&self, chain: &ChainId, reads: usize) {
        self.bar
            .inc_length(u64::try_from(reads).unwrap_or(u64::MAX));
        self.bar.set_message(chain.to_string());
    }

    fn done(&self, chain: &ChainId, failed: bool) {
        if failed {
            let n = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
            self.bar.set_message(format!("{chain} ({n} failed)"));
        }
        self.bar.inc(1);
    }
}

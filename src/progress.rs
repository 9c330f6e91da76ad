//! Progress reporting: a bar on a terminal, plain lines in batch logs.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

enum Mode {
    Quiet,
    Bar(ProgressBar),
    /// A line every ~5 % or 30 s, for logs where a bar would be noise.
    Lines {
        last: Mutex<(Instant, u64)>,
    },
}

pub struct Progress {
    mode: Mode,
    total: u64,
    done: AtomicU64,
    bytes: AtomicU64,
    started: Instant,
    label: String,
    unit: &'static str,
}

impl Progress {
    pub fn new(total: u64, label: &str, quiet: bool) -> Progress {
        Self::counting(total, label, quiet, "chunks")
    }

    /// Like [`Progress::new`], counting `unit` (e.g. "traces") instead of chunks.
    pub fn counting(total: u64, label: &str, quiet: bool, unit: &'static str) -> Progress {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    &format!("{{prefix}} [{{bar:40.cyan/blue}}] {{pos}}/{{len}} {unit}  {{msg}}  ETA {{eta}}"),
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            Mode::Bar(bar)
        } else {
            Mode::Lines {
                last: Mutex::new((Instant::now(), 0)),
            }
        };
        Progress {
            mode,
            total,
            done: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            started: Instant::now(),
            label: label.to_string(),
            unit,
        }
    }

    /// `n` more units done, `bytes` more output bytes.
    pub fn advance(&self, n: u64, bytes: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        let b = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let mbs = b as f64 / 1e6 / self.started.elapsed().as_secs_f64().max(1e-9);
        match &self.mode {
            Mode::Quiet => {}
            Mode::Bar(bar) => {
                bar.set_position(done);
                bar.set_message(format!("{mbs:.0} MB/s"));
            }
            Mode::Lines { last } => {
                let mut last = last.lock().expect("progress lock");
                let step = (self.total / 20).max(1);
                if done >= last.1 + step
                    || last.0.elapsed() >= Duration::from_secs(30)
                    || done == self.total
                {
                    *last = (Instant::now(), done);
                    crate::noteln!(
                        "{}: {done}/{} {} ({:.0}%), {mbs:.0} MB/s, {:.1} s",
                        self.label,
                        self.total,
                        self.unit,
                        100.0 * done as f64 / self.total.max(1) as f64,
                        self.started.elapsed().as_secs_f64()
                    );
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}

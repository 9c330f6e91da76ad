//! Writing to the terminal without ever dying of it.
//!
//! `println!` and `eprintln!` panic when their stream is gone (a closed pipe
//! such as `| head`, a full disk, a closed descriptor). Here a closed stdout
//! ends a listing command quietly with status 0, as ripgrep does, and a run
//! ignores it; stderr failures are ignored everywhere: notes and progress
//! stop, the work goes on, and the exit status reflects the work.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by `attr run`: stdout failures must not stop the work.
static KEEP_GOING: AtomicBool = AtomicBool::new(false);

/// From now on, a failing stdout is ignored rather than ending the process.
pub fn keep_going() {
    KEEP_GOING.store(true, Ordering::Relaxed);
}

/// Write one line to stdout.
pub fn out(args: fmt::Arguments) {
    let mut o = std::io::stdout().lock();
    let result = o.write_fmt(args).and_then(|()| o.write_all(b"\n"));
    if let Err(e) = result {
        if KEEP_GOING.load(Ordering::Relaxed) {
            return;
        }
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        note(format_args!("error: cannot write to standard output: {e}"));
        std::process::exit(1);
    }
}

/// Write one line to stderr, ignoring failure.
pub fn note(args: fmt::Arguments) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_fmt(args).and_then(|()| e.write_all(b"\n"));
}

/// `println!` that never panics (see the module).
#[macro_export]
macro_rules! outln {
    () => { $crate::console::out(format_args!("")) };
    ($($t:tt)*) => { $crate::console::out(format_args!($($t)*)) };
}

/// `eprintln!` that never panics (see the module).
#[macro_export]
macro_rules! noteln {
    ($($t:tt)*) => { $crate::console::note(format_args!($($t)*)) };
}

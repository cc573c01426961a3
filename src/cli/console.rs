//! Printing that survives a closed reader: `capsim run … | head -1` must
//! not panic. `std`'s `println!` panics when a write fails; these macros
//! write through [`write_to`], which drops further output to a stream once
//! its reader is gone (`BrokenPipe`) and lets the command finish, so the
//! files it writes are still whole and the exit status is the command's.
//! Any other write failure (a full disk behind a redirect) is remembered
//! and turns a successful exit into a runtime error, see [`failure`].

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Standard output or standard error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

static OUT_CLOSED: AtomicBool = AtomicBool::new(false);
static ERR_CLOSED: AtomicBool = AtomicBool::new(false);
static FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// Prints to standard output, like `print!`.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::console::write_to($crate::cli::console::Stream::Out, format_args!($($arg)*)) };
}

/// Prints a line to standard output, like `println!`.
macro_rules! outln {
    () => { $crate::cli::console::out!("\n") };
    ($($arg:tt)*) => { $crate::cli::console::write_to($crate::cli::console::Stream::Out, format_args!("{}\n", format_args!($($arg)*))) };
}

/// Prints a line to standard error, like `eprintln!`.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::cli::console::write_to($crate::cli::console::Stream::Err, format_args!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {errln, out, outln};

/// Writes `args` to `stream`, unless its reader has gone.
pub fn write_to(stream: Stream, args: fmt::Arguments) {
    let result = match stream {
        Stream::Out if !OUT_CLOSED.load(Ordering::Relaxed) => io::stdout().lock().write_fmt(args),
        Stream::Err if !ERR_CLOSED.load(Ordering::Relaxed) => io::stderr().lock().write_fmt(args),
        _ => return,
    };
    if let Err(e) = result {
        settle(stream, &e);
    }
}

/// Flushes standard output (its buffered last line), settling a failure
/// the same way. Called once, before the process exits.
pub fn flush() {
    if !OUT_CLOSED.load(Ordering::Relaxed)
        && let Err(e) = io::stdout().lock().flush()
    {
        settle(Stream::Out, &e);
    }
}

/// The first write failure other than a closed reader, as a sentence.
pub fn failure() -> Option<String> {
    FAILURE.lock().map_or(None, |f| f.clone())
}

/// A failed write closes the stream; a cause other than a closed reader is
/// also remembered.
fn settle(stream: Stream, e: &io::Error) {
    let (closed, name) = match stream {
        Stream::Out => (&OUT_CLOSED, "standard output"),
        Stream::Err => (&ERR_CLOSED, "standard error"),
    };
    closed.store(true, Ordering::Relaxed);
    if e.kind() != io::ErrorKind::BrokenPipe
        && let Ok(mut first) = FAILURE.lock()
    {
        first.get_or_insert_with(|| format!("writing to {name}: {e}"));
    }
}

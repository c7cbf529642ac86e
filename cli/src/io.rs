//! The command line's own I/O: reads that are bounded in size and time, and
//! writes to standard output that end quietly when the reader went away.

use std::io::{self, Read, Write};
use std::path::Path;
use std::time::Duration;

/// Why a bounded read failed.
#[derive(Debug)]
pub enum ReadFailure {
    /// More than the allowed bytes were there.
    TooLarge,
    /// The source did not end in time (a FIFO, a terminal, a slow pipe).
    TimedOut,
    /// It could not be read.
    Io(io::Error),
}

/// Reads `path` (`-` for standard input) in full: at most `max` bytes, and
/// within `timeout`. The read runs on a thread of its own, so an open that
/// blocks (a FIFO without a writer) or a source that never ends cannot hang
/// the command: past the timeout it is abandoned and the process moves on.
pub async fn read_bounded(
    path: &Path,
    max: usize,
    timeout: Duration,
) -> Result<Vec<u8>, ReadFailure> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let path = path.to_owned();
    std::thread::Builder::new()
        .name("bounded-read".into())
        .spawn(move || {
            let read = || -> io::Result<Vec<u8>> {
                let source: Box<dyn Read> = if path.as_os_str() == "-" {
                    Box::new(io::stdin())
                } else {
                    Box::new(std::fs::File::open(&path)?)
                };
                let mut bytes = Vec::new();
                source.take(max as u64 + 1).read_to_end(&mut bytes)?;
                Ok(bytes)
            };
            let _ = tx.send(read());
        })
        .map_err(ReadFailure::Io)?;
    match tokio::time::timeout(timeout, rx).await {
        Err(_) => Err(ReadFailure::TimedOut),
        Ok(Err(_)) => Err(ReadFailure::Io(io::Error::other("the reading thread died"))),
        Ok(Ok(Err(e))) => Err(ReadFailure::Io(e)),
        Ok(Ok(Ok(bytes))) if bytes.len() > max => Err(ReadFailure::TooLarge),
        Ok(Ok(Ok(bytes))) => Ok(bytes),
    }
}

/// Standard output for the command's results. Every write reports its
/// failure instead of panicking as `println!` does (a closed pipe, a full
/// disk); `main` then ends quietly or reports on stderr.
pub struct Out {
    stdout: io::Stdout,
    failed: Option<io::Error>,
}

impl Out {
    /// Standard output.
    pub fn new() -> Self {
        Out {
            stdout: io::stdout(),
            failed: None,
        }
    }

    /// Writes `text` and a newline, and flushes, so a full disk is noticed
    /// here and not at exit. After a failure, further lines are dropped.
    pub fn line(&mut self, text: impl std::fmt::Display) -> io::Result<()> {
        if let Some(e) = &self.failed {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        let mut lock = self.stdout.lock();
        let written = writeln!(lock, "{text}").and_then(|()| lock.flush());
        if let Err(e) = &written {
            self.failed = Some(io::Error::new(e.kind(), e.to_string()));
        }
        written
    }
}

/// Whether `e` comes from writing to a reader that went away (`| head`).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

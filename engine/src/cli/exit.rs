//! Exit codes, a documented contract (docs/cli.md).

/// The command did what was asked (a run finished, a file is valid, a plan was printed).
pub const DONE: u8 = 0;
/// A run failed (a task failed after its retries).
pub const FAILED: u8 = 1;
/// Bad input: a file, parameter or argument is wrong; nothing was run.
pub const BAD_INPUT: u8 = 2;
/// A run paused: it awaits an approval or its maintenance window.
pub const PAUSED: u8 = 3;
/// The cluster is locked by another unfinished run.
pub const LOCKED: u8 = 4;
/// The state directory cannot be used: unreadable, not a directory, damaged, or written by
/// a newer quorate. Not bad input: the files and arguments may be right.
pub const UNUSABLE_STATE: u8 = 5;

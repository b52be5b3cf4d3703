//! Node log lines `level|time|[MODULE] content`, appended to `log/node.log`.

use std::fmt::Display;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::clock;

/// A cheap handle shared by the node's threads; `discard` writes nowhere (unit tests).
#[derive(Clone)]
pub struct Logger {
    file: Option<Arc<Mutex<File>>>,
}

impl Logger {
    /// Appends to `dir/node.log`, creating the directory if needed.
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("node.log"))?;
        Ok(Self {
            file: Some(Arc::new(Mutex::new(file))),
        })
    }

    #[cfg(test)]
    pub fn discard() -> Self {
        Self { file: None }
    }

    pub fn info(&self, module: &str, content: impl Display) {
        self.write("info", module, &content);
    }

    pub fn warn(&self, module: &str, content: impl Display) {
        self.write("warning", module, &content);
    }

    pub fn error(&self, module: &str, content: impl Display) {
        self.write("error", module, &content);
    }

    fn write(&self, level: &str, module: &str, content: &dyn Display) {
        let Some(file) = &self.file else { return };
        let line = format!(
            "{level}|{}|[{module}] {content}\n",
            clock::format_utc(clock::now_ms())
        );
        // A log line that cannot be written is not worth stopping consensus for.
        if let Ok(mut file) = file.lock() {
            let _ = file.write_all(line.as_bytes());
        }
    }
}

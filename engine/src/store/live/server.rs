//! The controller's side: a listener thread on `DIR/live.sock` that answers reads from the
//! store handle the controller writes through. Reads run on their own threads, never on
//! the executor; sled takes its commit lock against a read only while it reads one record,
//! so a reader delays a commit by microseconds, never by its connection.

use std::fs;
use std::io::{BufRead as _, BufReader, ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::protocol::{answer, ErrorKind as WireErrorKind, Response, MAX_REQUEST};
use super::SOCKET_FILE;
use crate::store::RunReader;

/// The connections being served, each with the thread serving it.
type Served = Mutex<Vec<(UnixStream, JoinHandle<()>)>>;

/// Readers served at once; one more is told the server is busy (it retries).
const MAX_READERS: usize = 16;

/// A reader that sends nothing for this long is dropped, so a stuck reader does not keep a
/// thread of the controller forever.
const IDLE: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{} is there and is not a socket; remove it to let readers watch runs", .0.display())]
    NotASocket(PathBuf),
    #[error("cannot listen on {}: {error}", .path.display())]
    Listen {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Serves reads until dropped; dropping it closes the socket and removes its file before
/// the store can be closed (the server holds the store until then).
pub struct LiveServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
    readers: Arc<Served>,
}

impl std::fmt::Debug for LiveServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveServer")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Starts answering reads on `dir/live.sock` from `store`, for the controller that drives
/// run `driving`. The caller must hold the store's
/// process lock: then no other controller serves this directory, and a socket file already
/// there was left by one that was killed, so it is removed.
///
/// The socket is made 0600 right after it is bound; before that, the state directory
/// (0700) keeps others out.
pub fn serve_readers<R>(dir: &Path, store: Arc<R>, driving: &str) -> Result<LiveServer, ServeError>
where
    R: RunReader + Send + Sync + 'static,
{
    let path = dir.join(SOCKET_FILE);
    remove_stale(&path)?;
    let listener = UnixListener::bind(&path).map_err(|e| listen(&path, e))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).map_err(|e| listen(&path, e))?;
    let driving = driving.to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Arc<Served> = Arc::default();
    let acceptor = {
        let stop = Arc::clone(&stop);
        let readers = Arc::clone(&readers);
        std::thread::Builder::new()
            .name("live-reads".to_owned())
            .spawn(move || accept_loop(&listener, &store, &driving, &stop, &readers))
            .map_err(|e| listen(&path, e))?
    };
    Ok(LiveServer {
        path,
        stop,
        acceptor: Some(acceptor),
        readers,
    })
}

fn listen(path: &Path, error: std::io::Error) -> ServeError {
    ServeError::Listen {
        path: path.to_path_buf(),
        error,
    }
}

/// Removes a socket left by a killed controller; refuses to remove anything else.
pub(crate) fn remove_stale(path: &Path) -> Result<(), ServeError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            fs::remove_file(path).map_err(|e| listen(path, e))
        }
        Ok(_) => Err(ServeError::NotASocket(path.to_path_buf())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(listen(path, e)),
    }
}

fn accept_loop<R>(
    listener: &UnixListener,
    store: &Arc<R>,
    driving: &str,
    stop: &AtomicBool,
    readers: &Served,
) where
    R: RunReader + Send + Sync + 'static,
{
    for stream in listener.incoming() {
        if stop.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut stream) = stream else {
            // Out of file descriptors, most likely: let the reads in flight end first.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let mut list = readers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        list.retain(|(_, handle)| !handle.is_finished());
        if list.len() >= MAX_READERS {
            let _ = send(
                &mut stream,
                &Response::error(WireErrorKind::Busy, "too many readers at once; try again"),
            );
            continue;
        }
        let Ok(kept) = stream.try_clone() else {
            continue;
        };
        let store = Arc::clone(store);
        let driving = driving.to_owned();
        let spawned = std::thread::Builder::new()
            .name("live-reader".to_owned())
            .spawn(move || serve(stream, &*store, &driving));
        if let Ok(handle) = spawned {
            list.push((kept, handle));
        }
    }
}

/// Answers requests on one connection until the reader closes it, goes idle, or sends
/// something that is not a request.
fn serve(stream: UnixStream, store: &dyn RunReader, driving: &str) {
    let _ = stream.set_read_timeout(Some(IDLE));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut lines = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut lines).take(MAX_REQUEST).read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if !line.ends_with('\n') {
            let _ = send(
                &mut writer,
                &Response::error(WireErrorKind::BadRequest, "request line too long"),
            );
            return;
        }
        if send_line(&mut writer, answer(store, Some(driving), line.trim_end())).is_err() {
            return;
        }
    }
}

fn send(stream: &mut UnixStream, response: &Response) -> std::io::Result<()> {
    send_line(stream, response.to_line())
}

fn send_line(stream: &mut UnixStream, mut line: Vec<u8>) -> std::io::Result<()> {
    line.push(b'\n');
    stream.write_all(&line)?;
    stream.flush()
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wakes the acceptor blocked in accept(), which then sees the stop flag. If the
        // socket file was removed by hand, nothing can wake it: it is left to end with the
        // process rather than hold up the end of the run.
        let woken = UnixStream::connect(&self.path).is_ok();
        if let Some(acceptor) = self.acceptor.take().filter(|_| woken) {
            let _ = acceptor.join();
        }
        let _ = fs::remove_file(&self.path);
        let readers = std::mem::take(
            &mut *self
                .readers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for (stream, handle) in readers {
            let _ = stream.shutdown(std::net::Shutdown::Both);
            let _ = handle.join();
        }
    }
}

//! An upload's bytes on their way from the connection to the conversion.
//!
//! The upload is always read as fast as the client sends it, whatever the
//! conversion does meanwhile: bytes the conversion has not taken yet wait
//! in memory (up to [`MEMORY_BYTES`]) and then in an unnamed file on the
//! data disk. A client that sends its whole body before it reads the answer
//! (Python's `requests.post(url, data=f)`, curl with a file) therefore gets
//! its complete result: without the spool, the conversion would stop when
//! the unread answer fills the socket, stop reading the upload, and both
//! sides would wait for ever.
//!
//! Order is kept: once bytes go to the file, later bytes follow them there
//! until the reader has caught up. The file is truncated whenever the
//! reader has caught up, and removed by the kernel when the spool is dropped.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

use axum::body::Bytes;

use super::jobs;

/// Bytes an upload may hold in memory before it spools to disk.
pub(crate) const MEMORY_BYTES: usize = 1024 * 1024;

/// Where spooled bytes go, and how much disk they must leave free.
#[derive(Debug, Clone)]
pub(crate) struct SpoolDisk {
    /// The folder of the unnamed files.
    pub folder: PathBuf,
    /// Free bytes the disk must keep; spooling stops with an error below.
    pub min_free_bytes: u64,
}

/// The writing end (the task reading the upload).
pub(crate) struct SpoolWriter {
    shared: Arc<Shared>,
    disk: SpoolDisk,
}

/// The reading end (the conversion's decoder), a blocking [`Read`].
pub(crate) struct SpoolReader {
    shared: Arc<Shared>,
    current: Bytes,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    memory: VecDeque<Bytes>,
    memory_bytes: usize,
    file: Option<Arc<File>>,
    /// Bytes written to and read from the file.
    written: u64,
    read: u64,
    /// The writer is appending to the file (outside the lock): the reader
    /// must not swap the file meanwhile.
    writing: bool,
    /// How the upload ended, once it has: `Ok` or the error the reader gets
    /// after the bytes before it.
    end: Option<Result<(), String>>,
    /// The conversion must stop now, whatever is left: the reader's error.
    aborted: Option<String>,
    /// The reader is gone: the conversion stopped, later bytes are not wanted.
    reader_gone: bool,
}

impl State {
    fn file_behind(&self) -> bool {
        self.written > self.read
    }
}

/// A new spool: its writing and reading ends.
pub(crate) fn spool(disk: SpoolDisk) -> (SpoolWriter, SpoolReader) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        changed: Condvar::new(),
    });
    (
        SpoolWriter {
            shared: shared.clone(),
            disk,
        },
        SpoolReader {
            shared,
            current: Bytes::new(),
        },
    )
}

/// Why a chunk was not taken.
#[derive(Debug)]
pub(crate) enum PushError {
    /// The conversion stopped reading; stop reading the upload.
    ReaderGone,
    /// The disk cannot take the bytes.
    Disk(io::Error),
}

/// Stops a spool's reader at its next read, whatever is left in the spool.
#[derive(Clone)]
pub(crate) struct SpoolAbort(Arc<Shared>);

impl SpoolAbort {
    /// The reader's next read fails with `message`.
    pub fn abort(&self, message: &str) {
        let released = {
            let mut state = self.0.lock();
            state.aborted = Some(message.to_string());
            state.memory.clear();
            state.memory_bytes = 0;
            self.0.changed.notify_all();
            if state.writing {
                None
            } else {
                state.file.take()
            }
        };
        drop(released);
    }
}

impl SpoolWriter {
    /// A handle that stops the reader (the server's shutdown deadline).
    pub fn abort_handle(&self) -> SpoolAbort {
        SpoolAbort(self.shared.clone())
    }

    /// Hands a chunk to the conversion: in memory if there is room and
    /// nothing is waiting on disk, else appended to the file (on a blocking
    /// thread).
    pub async fn push(&self, chunk: Bytes) -> Result<(), PushError> {
        {
            let mut state = self.shared.lock();
            if state.reader_gone || state.aborted.is_some() {
                return Err(PushError::ReaderGone);
            }
            if !state.file_behind() && state.memory_bytes + chunk.len() <= MEMORY_BYTES {
                state.memory_bytes += chunk.len();
                state.memory.push_back(chunk);
                self.shared.changed.notify_all();
                return Ok(());
            }
        }
        let (shared, disk) = (self.shared.clone(), self.disk.clone());
        tokio::task::spawn_blocking(move || shared.append_to_file(&disk, &chunk))
            .await
            .map_err(|e| PushError::Disk(io::Error::other(e.to_string())))?
    }

    /// Ends the upload: the reader gets the rest and then the end, or the
    /// error after the bytes before it.
    pub fn finish(self, outcome: Result<(), String>) {
        let mut state = self.shared.lock();
        state.end = Some(outcome);
        self.shared.changed.notify_all();
    }
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if state.end.is_none() {
            state.end = Some(Err("the upload was broken off".into()));
            self.shared.changed.notify_all();
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("not poisoned")
    }

    /// Appends `chunk` to the file, made on first use. The disk I/O runs
    /// outside the lock: `writing` keeps the reader from swapping the file
    /// meanwhile, and only this writer moves `written`.
    fn append_to_file(&self, disk: &SpoolDisk, chunk: &[u8]) -> Result<(), PushError> {
        let (file, at) = {
            let mut state = self.lock();
            if state.reader_gone || state.aborted.is_some() {
                return Err(PushError::ReaderGone);
            }
            state.writing = true;
            (state.file.clone(), state.written)
        };
        let appended = append_at(disk, file, at, chunk);
        let mut state = self.lock();
        state.writing = false;
        let file = appended.map_err(PushError::Disk)?;
        if state.aborted.is_some() || state.reader_gone {
            return Err(PushError::ReaderGone);
        }
        state.file.get_or_insert(file);
        state.written += chunk.len() as u64;
        self.changed.notify_all();
        Ok(())
    }
}

/// Writes `chunk` at `at` of `file` (made if `None`), checking the disk
/// floor when the file is made and at every [`jobs::DISK_CHECK_BYTES`] it
/// grows by.
fn append_at(
    disk: &SpoolDisk,
    file: Option<Arc<File>>,
    at: u64,
    chunk: &[u8],
) -> io::Result<Arc<File>> {
    let crosses = jobs::crosses_disk_check(at, at + chunk.len() as u64);
    if (file.is_none() || crosses) && !jobs::room_above_floor(&disk.folder, disk.min_free_bytes)? {
        return Err(io::Error::new(
            io::ErrorKind::StorageFull,
            "the server's disk is nearly full",
        ));
    }
    let file = match file {
        Some(file) => file,
        None => Arc::new(tempfile::tempfile_in(&disk.folder)?),
    };
    file.write_all_at(chunk, at)?;
    Ok(file)
}

impl SpoolReader {
    /// The next bytes: memory first (it is older), then the file; waits
    /// while there are none and the upload goes on. The disk I/O runs
    /// outside the lock, and so does giving a drained file back.
    fn next_chunk(&mut self, want: usize) -> io::Result<Option<Bytes>> {
        let mut state = self.shared.lock();
        loop {
            if let Some(message) = &state.aborted {
                return Err(io::Error::other(message.clone()));
            }
            if let Some(chunk) = state.memory.pop_front() {
                state.memory_bytes -= chunk.len();
                return Ok(Some(chunk));
            }
            if state.file_behind() {
                let len = (state.written - state.read).min(want.max(64 * 1024) as u64) as usize;
                let (file, at) = (
                    state.file.clone().expect("bytes were written to it"),
                    state.read,
                );
                drop(state);
                let mut buf = vec![0; len];
                file.read_exact_at(&mut buf, at)?;
                drop(file);
                let released = {
                    let mut state = self.shared.lock();
                    state.read += len as u64;
                    if !state.file_behind() && !state.writing {
                        // Caught up: the next spill starts a new file, and
                        // this one's disk space goes back.
                        state.written = 0;
                        state.read = 0;
                        state.file.take()
                    } else {
                        None
                    }
                };
                drop(released);
                return Ok(Some(Bytes::from(buf)));
            }
            match &state.end {
                Some(Ok(())) => return Ok(None),
                Some(Err(message)) => return Err(io::Error::other(message.clone())),
                None => state = self.shared.changed.wait(state).expect("not poisoned"),
            }
        }
    }
}

impl Read for SpoolReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.current.is_empty() {
            match self.next_chunk(buf.len())? {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

impl Drop for SpoolReader {
    fn drop(&mut self) {
        let released = {
            let mut state = self.shared.lock();
            state.reader_gone = true;
            state.memory.clear();
            if state.writing {
                None
            } else {
                state.file.take()
            }
        };
        drop(released);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(dir: &tempfile::TempDir) -> SpoolDisk {
        SpoolDisk {
            folder: dir.path().to_path_buf(),
            min_free_bytes: 0,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bytes_arrive_in_order_through_memory_and_disk_while_the_reader_is_away() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, mut reader) = spool(disk(&dir));
        // Three times what memory holds, all written before anything is
        // read: the half-duplex client.
        let chunks: Vec<Bytes> = (0..48u32)
            .map(|i| Bytes::from(vec![(i % 251) as u8; 64 * 1024 + i as usize]))
            .collect();
        for chunk in &chunks {
            writer.push(chunk.clone()).await.unwrap();
        }
        writer.finish(Ok(()));
        let read = tokio::task::spawn_blocking(move || {
            let mut all = Vec::new();
            reader.read_to_end(&mut all).unwrap();
            all
        })
        .await
        .unwrap();
        assert_eq!(read, chunks.concat());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spooling_stops_before_the_disk_floor() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, _reader) = spool(SpoolDisk {
            folder: dir.path().to_path_buf(),
            min_free_bytes: u64::MAX / 2,
        });
        writer
            .push(Bytes::from(vec![0; MEMORY_BYTES]))
            .await
            .unwrap();
        let full = writer.push(Bytes::from_static(b"more")).await;
        assert!(
            matches!(full, Err(PushError::Disk(ref e)) if e.kind() == io::ErrorKind::StorageFull),
            "{full:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_error_reaches_the_reader_after_the_bytes_before_it_an_abort_at_once_and_a_gone_reader_stops_the_writer(
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (writer, mut reader) = spool(disk(&dir));
        writer.push(Bytes::from_static(b"a,b\n")).await.unwrap();
        writer.finish(Err("too slow".into()));
        let mut buf = [0u8; 16];
        assert_eq!(reader.read(&mut buf).unwrap(), 4);
        assert_eq!(reader.read(&mut buf).unwrap_err().to_string(), "too slow");

        let (writer, mut reader) = spool(disk(&dir));
        writer.push(Bytes::from_static(b"left")).await.unwrap();
        writer.abort_handle().abort("shutting down");
        assert_eq!(
            reader.read(&mut buf).unwrap_err().to_string(),
            "shutting down"
        );
        drop(reader);
        assert!(matches!(
            writer.push(Bytes::from_static(b"x")).await,
            Err(PushError::ReaderGone)
        ));
    }
}

//! Reading a workbook in a child process whose data memory and CPU time
//! are capped (`RLIMIT_DATA`, `RLIMIT_CPU`): calamine allocates from what
//! a file declares in more places than a measure can follow, so the
//! measure refuses the usual bombs with a clear message and the child's
//! caps bound the rest. A child over its caps is killed by the kernel; the
//! file is refused, and the asking process goes on.
//!
//! The parent writes the workbook to the child's stdin; the child spools,
//! measures and reads it as [`super::read_sheet`] does in process and
//! writes one JSON line per message to its stdout: first
//! `{"sheet": NAME}` or `{"error": MESSAGE}`, then `{"row": SheetRow}`
//! per non-empty row, `{"error": …}` if the file stops. The parent turns
//! the lines back into the rows of [`super::SheetRows`].

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::sync_channel;

use conform_model::plugin::SheetRef;
use serde::{Deserialize, Serialize};

use super::{RowReceiver, SheetRow, MAX_WORKBOOK_BYTES, ROWS_IN_FLIGHT};
use crate::{DecodeError, DecodeLimits};

/// What to read of a workbook.
pub(super) struct Request<'a> {
    pub(super) zip: bool,
    pub(super) wanted: Option<&'a SheetRef>,
    pub(super) limits: DecodeLimits,
}

/// The child and its caps.
pub(super) struct Caps<'a> {
    pub(super) spool_dir: Option<&'a Path>,
    pub(super) program: &'a Path,
    pub(super) args: &'a [String],
    pub(super) memory_mib: u64,
    pub(super) cpu_seconds: u64,
}

/// One line of the child's output.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Message {
    Sheet(String),
    Row(SheetRow),
    Error(String),
}

/// The child's arguments, as the `conform` binary's workbook command
/// takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildArgs {
    /// The child's data memory, in MiB.
    pub memory_mib: u64,
    /// The child's CPU time, in seconds.
    pub cpu_seconds: u64,
    /// The workbook is a ZIP archive (.xlsx, .ods), else an OLE file (.xls).
    pub zip: bool,
    /// The sheet, as the manifest names it.
    pub sheet: Option<SheetRef>,
    /// The largest record, in bytes.
    pub max_record_bytes: usize,
    /// Where the child spools a workbook over 8 MiB.
    pub spool_dir: Option<std::path::PathBuf>,
}

impl ChildArgs {
    /// The arguments as one command-line word (JSON).
    fn to_word(&self) -> String {
        serde_json::to_string(self).expect("plain data serializes")
    }

    /// The arguments from [`ChildArgs::to_word`]'s word.
    pub fn from_word(word: &str) -> Result<ChildArgs, String> {
        serde_json::from_str(word).map_err(|e| format!("bad workbook arguments: {e}"))
    }
}

/// The longest line the parent reads: a row of the largest record, as JSON.
fn max_line(limits: DecodeLimits) -> u64 {
    (limits.max_record_bytes as u64).saturating_mul(6) + (1 << 20)
}

/// Reads the sheet in a child: its name, and its rows as they come.
pub(super) fn read_sheet(
    input: impl Read + Send + 'static,
    request: Request<'_>,
    caps: Caps<'_>,
) -> Result<(String, RowReceiver), DecodeError> {
    let args = ChildArgs {
        memory_mib: caps.memory_mib,
        cpu_seconds: caps.cpu_seconds,
        zip: request.zip,
        sheet: request.wanted.cloned(),
        max_record_bytes: request.limits.max_record_bytes,
        spool_dir: caps.spool_dir.map(Path::to_path_buf),
    };
    let mut child = Command::new(caps.program)
        .args(caps.args)
        .arg(args.to_word())
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| DecodeError::Structure(format!("cannot start the workbook reader: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped");
    std::thread::Builder::new()
        .name("conform-workbook-in".into())
        .spawn(move || {
            // The child stops reading at its own limit; a broken pipe then
            // is expected.
            let _ = std::io::copy(&mut input.take(MAX_WORKBOOK_BYTES + 1), &mut stdin);
        })
        .expect("a thread can be started");
    let mut lines = BufReader::new(child.stdout.take().expect("piped"));
    let line_cap = max_line(request.limits);
    let refused = |child: &mut Child| over_caps(child, caps.memory_mib, caps.cpu_seconds);
    let name = match next_message(&mut lines, line_cap) {
        Ok(Some(Message::Sheet(name))) => name,
        Ok(Some(Message::Error(message))) => {
            let _ = child.wait();
            return Err(DecodeError::Structure(message));
        }
        _ => return Err(refused(&mut child)),
    };
    let (sender, receiver) = sync_channel(ROWS_IN_FLIGHT);
    let (memory_mib, cpu_seconds) = (caps.memory_mib, caps.cpu_seconds);
    std::thread::Builder::new()
        .name("conform-workbook-out".into())
        .spawn(move || {
            loop {
                let item = match next_message(&mut lines, line_cap) {
                    Ok(Some(Message::Row(row))) => Ok(row),
                    Ok(Some(Message::Error(message))) => Err(DecodeError::Structure(message)),
                    Ok(Some(Message::Sheet(_))) | Err(()) => {
                        Err(over_caps(&mut child, memory_mib, cpu_seconds))
                    }
                    Ok(None) => match child.wait() {
                        Ok(status) if status.success() => return,
                        _ => Err(over_caps(&mut child, memory_mib, cpu_seconds)),
                    },
                };
                let stop = item.is_err();
                if sender.send(item).is_err() || stop {
                    // Nobody reads on, or the file stopped: end the child.
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
            }
        })
        .expect("a thread can be started");
    Ok((name, receiver))
}

/// The next message; `None` at the end; `Err` for a line that is not one
/// (cut off by a killed child, or over the cap).
fn next_message(lines: &mut impl BufRead, cap: u64) -> Result<Option<Message>, ()> {
    let mut line = String::new();
    match lines.take(cap + 1).read_line(&mut line) {
        Ok(0) => Ok(None),
        Ok(n) if n as u64 > cap || !line.ends_with('\n') => Err(()),
        Ok(_) => serde_json::from_str(&line).map(Some).map_err(|_| ()),
        Err(_) => Err(()),
    }
}

/// The refusal of a workbook whose child did not finish: killed by its
/// caps (or crashed).
fn over_caps(child: &mut Child, memory_mib: u64, cpu_seconds: u64) -> DecodeError {
    let _ = child.kill();
    let _ = child.wait();
    DecodeError::Structure(format!(
        "the workbook is refused: reading it needed more than {memory_mib} MiB of memory or {cpu_seconds} s; save the sheet as CSV"
    ))
}

/// The child's side: caps its own memory and CPU time, reads a workbook on
/// stdin and writes its sheet's rows to stdout as JSON lines. Returns the
/// process's exit code.
pub fn read_workbook_main(args: &ChildArgs) -> i32 {
    // Dies with its parent: a reading nobody waits for stops.
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets this process's signal.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let cap = |resource, value: u64| {
        let limit = libc::rlimit {
            rlim_cur: value as libc::rlim_t,
            rlim_max: value as libc::rlim_t,
        };
        // SAFETY: setrlimit only reads the struct passed.
        unsafe { libc::setrlimit(resource, &limit) == 0 }
    };
    if !cap(libc::RLIMIT_DATA, args.memory_mib.saturating_mul(1 << 20))
        || !cap(libc::RLIMIT_CPU, args.cpu_seconds)
    {
        return 1;
    }
    let limits = DecodeLimits {
        max_record_bytes: args.max_record_bytes,
        ..DecodeLimits::default()
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut write = |message: &Message| -> bool {
        serde_json::to_writer(&mut out, message).is_ok() && out.write_all(b"\n").is_ok()
    };
    let read = super::read_sheet(
        std::io::stdin().lock(),
        args.zip,
        args.sheet.as_ref(),
        limits,
        args.spool_dir.as_deref(),
    );
    let rows = match read {
        Ok((name, rows)) => {
            if !write(&Message::Sheet(name)) {
                return 1;
            }
            rows
        }
        Err(e) => {
            write(&Message::Error(e.to_string()));
            return i32::from(out.flush().is_err());
        }
    };
    for row in rows {
        let message = match row {
            Ok(row) => Message::Row(row),
            Err(e) => Message::Error(e.to_string()),
        };
        if !write(&message) {
            return 1;
        }
    }
    i32::from(out.flush().is_err())
}

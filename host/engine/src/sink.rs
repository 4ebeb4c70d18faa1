//! Where converted records and rejections go.

use std::io::{self, BufWriter, Write};

use conform_model::Rejection;

/// Receives a conversion's output in input order.
pub trait Sink {
    /// One output line: a serialized `OutputLine` as UTF-8 JSON text,
    /// without the newline.
    fn record(&mut self, line: &[u8]) -> io::Result<()>;
    /// One rejection of the error report.
    fn rejection(&mut self, rejection: &Rejection) -> io::Result<()>;
    /// Makes everything written so far durable to the next reader.
    fn flush(&mut self) -> io::Result<()>;
}

/// Writes records and rejections as NDJSON to two writers.
pub struct NdjsonSink<R: Write, E: Write> {
    records: BufWriter<R>,
    errors: BufWriter<E>,
}

impl<R: Write, E: Write> NdjsonSink<R, E> {
    /// A sink over a records writer and an error-report writer.
    pub fn new(records: R, errors: E) -> Self {
        NdjsonSink {
            records: BufWriter::with_capacity(256 * 1024, records),
            errors: BufWriter::new(errors),
        }
    }
}

impl<R: Write, E: Write> Sink for NdjsonSink<R, E> {
    fn record(&mut self, line: &[u8]) -> io::Result<()> {
        self.records.write_all(line)?;
        self.records.write_all(b"\n")
    }

    fn rejection(&mut self, rejection: &Rejection) -> io::Result<()> {
        serde_json::to_writer(&mut self.errors, rejection)?;
        self.errors.write_all(b"\n")
    }

    fn flush(&mut self) -> io::Result<()> {
        self.records.flush()?;
        self.errors.flush()
    }
}

/// Keeps everything in memory: for tests and small conversions.
#[derive(Debug, Default, Clone)]
pub struct MemorySink {
    /// Output lines, in order.
    pub records: Vec<String>,
    /// Rejections, in order.
    pub rejections: Vec<Rejection>,
}

impl Sink for MemorySink {
    fn record(&mut self, line: &[u8]) -> io::Result<()> {
        let line =
            std::str::from_utf8(line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.records.push(line.to_string());
        Ok(())
    }

    fn rejection(&mut self, rejection: &Rejection) -> io::Result<()> {
        self.rejections.push(rejection.clone());
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

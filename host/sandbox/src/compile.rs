//! Compiling components, bounded in size, time and memory.
//!
//! Compiling is the costliest thing an untrusted upload can make the host
//! do: a 22 MB module of a million tiny functions took minutes and
//! gigabytes. With [`Compiler::Subprocess`] each compilation runs in a child
//! process (the `conform` binary's hidden `compile-component` command) with a
//! cap on its data memory (`RLIMIT_DATA`) and a wall-clock timeout; the
//! child writes the machine code to its stdout and the parent checks it
//! before anything runs. [`Compiler::InProcess`] compiles in the calling
//! thread, for tests and tools that trust their input.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wasmtime::Engine;

/// Caps on compiling one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileLimits {
    /// The largest component accepted, in bytes.
    pub max_component_bytes: u64,
    /// Wall-clock seconds one compilation may take (subprocess only).
    pub seconds: u64,
    /// Data memory one compilation may use, in MiB (subprocess only).
    pub memory_mib: u64,
}

impl Default for CompileLimits {
    fn default() -> Self {
        CompileLimits {
            max_component_bytes: 32 << 20,
            seconds: 60,
            memory_mib: 2048,
        }
    }
}

/// Compilations running at once: each takes every core it can, so more
/// would only make each slower. Beyond them, a compilation waits for a slot
/// at most as long as one may take, then is refused as busy.
pub(crate) struct Slots {
    free: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

impl Slots {
    /// `n` slots (at least one).
    pub(crate) fn new(n: usize) -> Slots {
        Slots {
            free: std::sync::Mutex::new(n.max(1)),
            freed: std::sync::Condvar::new(),
        }
    }

    /// Waits up to `patience` for a slot; `None` if none was freed.
    pub(crate) fn take(&self, patience: Duration) -> Option<SlotGuard<'_>> {
        let deadline = Instant::now() + patience;
        let mut free = self.free.lock().expect("not poisoned");
        while *free == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            free = self.freed.wait_timeout(free, left).expect("not poisoned").0;
        }
        *free -= 1;
        Some(SlotGuard { slots: self })
    }
}

/// A compilation slot, given back when dropped.
pub(crate) struct SlotGuard<'a> {
    slots: &'a Slots,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self.slots.free.lock().expect("not poisoned") += 1;
        self.slots.freed.notify_one();
    }
}

/// How components are compiled.
#[derive(Debug, Clone, Default)]
pub enum Compiler {
    /// In the calling thread, without time or memory caps.
    #[default]
    InProcess,
    /// In a child process: `program args…`, which must run
    /// [`compile_component_main`] (same engine settings as this sandbox).
    Subprocess {
        /// The program (usually `std::env::current_exe()`).
        program: PathBuf,
        /// Arguments that select its compile command.
        args: Vec<String>,
    },
}

/// Why a component did not compile.
#[derive(Debug)]
pub(crate) enum CompileError {
    /// Over a cap: what was exceeded, for a person.
    TooComplex(String),
    /// Not a valid component, or the compiler failed: its message.
    Invalid(String),
}

/// Compiles `wasm` into machine code for `engine`.
pub(crate) fn precompile(
    engine: &Engine,
    compiler: &Compiler,
    limits: CompileLimits,
    wasm: &[u8],
) -> Result<Vec<u8>, CompileError> {
    if wasm.len() as u64 > limits.max_component_bytes {
        return Err(CompileError::TooComplex(format!(
            "the component is {} bytes, more than the {} bytes accepted",
            wasm.len(),
            limits.max_component_bytes
        )));
    }
    match compiler {
        Compiler::InProcess => engine
            .precompile_component(wasm)
            .map_err(|e| CompileError::Invalid(format!("{e:#}"))),
        Compiler::Subprocess { program, args } => in_child(program, args, limits, wasm),
    }
}

fn in_child(
    program: &PathBuf,
    args: &[String],
    limits: CompileLimits,
    wasm: &[u8],
) -> Result<Vec<u8>, CompileError> {
    let failed =
        |e: std::io::Error| CompileError::Invalid(format!("cannot start the compiler: {e}"));
    let mut child = Command::new(program)
        .args(args)
        .arg(limits.memory_mib.to_string())
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(failed)?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    // Machine code is a few times the size of the wasm; far more is refused
    // rather than held.
    let output_cap = limits
        .memory_mib
        .saturating_mul(1 << 20)
        .min((wasm.len() as u64).saturating_mul(64).max(64 << 20));
    let overflow = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let _ = stdin.write_all(wasm);
        });
        let overflow = &overflow;
        let code = scope.spawn(move || {
            let mut code = Vec::new();
            let _ = (&mut stdout).take(output_cap + 1).read_to_end(&mut code);
            if code.len() as u64 > output_cap {
                overflow.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            code
        });
        let message = scope.spawn(move || {
            let mut text = String::new();
            let _ = (&mut stderr).take(64 * 1024).read_to_string(&mut text);
            text
        });
        let status = wait_within(&mut child, limits.seconds, overflow);
        let code = code.join().unwrap_or_default();
        let message = message.join().unwrap_or_default();
        verdict(status, code, &message, output_cap, limits)
    })
}

/// Waits for the compiler child until `seconds` have passed or its output
/// overflowed; `None` if it had to be killed.
fn wait_within(
    child: &mut std::process::Child,
    seconds: u64,
    overflow: &std::sync::atomic::AtomicBool,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None)
                if Instant::now() >= deadline
                    || overflow.load(std::sync::atomic::Ordering::Relaxed) => {}
            Ok(None) => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            Err(_) => {}
        }
        let _ = child.kill();
        let _ = child.wait();
        return None;
    }
}

/// What a compilation came to: the machine code, or why the component is
/// refused (too slow, too large, too hungry, or invalid).
fn verdict(
    status: Option<std::process::ExitStatus>,
    code: Vec<u8>,
    message: &str,
    output_cap: u64,
    limits: CompileLimits,
) -> Result<Vec<u8>, CompileError> {
    match status {
        None if code.len() as u64 > output_cap => Err(CompileError::TooComplex(format!(
            "its machine code is larger than {output_cap} bytes"
        ))),
        None => Err(CompileError::TooComplex(format!(
            "compiling it took longer than {} s",
            limits.seconds
        ))),
        Some(status) if status.success() && code.len() as u64 > output_cap => {
            Err(CompileError::TooComplex(format!(
                "its machine code is larger than {output_cap} bytes"
            )))
        }
        Some(status) if status.success() => Ok(code),
        Some(_) if message.contains("memory allocation") || message.contains("out of memory") => {
            Err(CompileError::TooComplex(format!(
                "compiling it needed more than {} MiB of memory",
                limits.memory_mib
            )))
        }
        Some(status) => {
            use std::os::unix::process::ExitStatusExt;
            if status.signal().is_some() {
                Err(CompileError::TooComplex(format!(
                    "the compiler stopped on it ({status}); it may need more than {} MiB of memory",
                    limits.memory_mib
                )))
            } else {
                Err(CompileError::Invalid(message.trim().to_string()))
            }
        }
    }
}

/// The child's side: reads a component on stdin, compiles it for an engine
/// made by `engine`, writes the machine code to stdout. `memory_mib` caps
/// the process's data memory first. Returns the process's exit code.
pub fn compile_component_main(engine: &Engine, memory_mib: u64) -> i32 {
    // Dies with its parent: a compilation nobody waits for stops.
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets this process's signal.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let bytes = memory_mib.saturating_mul(1 << 20);
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit only reads the struct passed.
    if unsafe { libc::setrlimit(libc::RLIMIT_DATA, &limit) } != 0 {
        eprintln!("cannot cap the compiler's memory");
        return 1;
    }
    let mut wasm = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut wasm) {
        eprintln!("cannot read the component: {e}");
        return 1;
    }
    match engine.precompile_component(&wasm) {
        Ok(code) => match std::io::stdout().lock().write_all(&code) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("cannot write the machine code: {e}");
                1
            }
        },
        Err(e) => {
            eprintln!("{e:#}");
            1
        }
    }
}

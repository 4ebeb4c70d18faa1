//! A mapping run as a plugin: the mapping interpreter (a first-party
//! component) loaded with one mapping's program, under the mapping's
//! limits capped by the host's, declaring the mapping's record type.

use conform_mapping::{MappingFile, Program};
use conform_model::plugin::{ComponentRef, PluginLimits, PluginManifest};
use conform_sandbox::{LoadedPlugin, Sandbox, SandboxError};

use crate::registry::HOST_MAX_LIMITS;

/// The file name the interpreter's component goes by in a mapping's
/// manifest.
pub const INTERPRETER_FILE: &str = "mapping-interpreter.wasm";

/// A mapping ready to convert: the manifest it runs as and the
/// interpreter holding its program.
#[derive(Clone)]
pub struct MappedPlugin {
    /// The mapping as a plugin manifest (its component the interpreter's).
    pub manifest: PluginManifest,
    /// The interpreter with the mapping's program.
    pub plugin: LoadedPlugin,
}

impl MappedPlugin {
    /// Loads `interpreter` (the component's bytes) in `sandbox` to run
    /// `program`, the compiled `mapping`.
    pub fn load(
        mapping: &MappingFile,
        program: &Program,
        interpreter: &[u8],
        sandbox: &Sandbox,
    ) -> Result<MappedPlugin, SandboxError> {
        let manifest = mapping.plugin_manifest(ComponentRef {
            file: INTERPRETER_FILE.into(),
            sha256: conform_sandbox::sha256_hex(interpreter),
        });
        let limits = manifest.limits.capped_by(HOST_MAX_LIMITS);
        let plugin = interpreter_running(sandbox, interpreter, &manifest, program, limits)?;
        Ok(MappedPlugin { manifest, plugin })
    }
}

/// The interpreter (`wasm`) running `program` as the plugin `manifest`
/// describes, under `limits`: what a mapping is, run.
pub(crate) fn interpreter_running(
    sandbox: &Sandbox,
    wasm: &[u8],
    manifest: &PluginManifest,
    program: &Program,
    limits: PluginLimits,
) -> Result<LoadedPlugin, SandboxError> {
    Ok(sandbox.load_interpreter(wasm)?.for_mapping(
        &manifest.name,
        &program.to_json(),
        limits,
        manifest.target.record_types.clone(),
    ))
}

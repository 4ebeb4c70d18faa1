//! What an uploader pins: `plugin=NAME@VERSION` and `pack=ID@VERSION`.

use std::sync::Arc;

use semver::Version;

use super::error::ApiError;
use super::state::{AppState, Resolved};

/// Resolves the plugin (newest, or the pinned version) and the pack (the
/// newest the plugin accepts, or the pinned version, which it must accept).
pub(crate) async fn resolve_pinned(
    state: &Arc<AppState>,
    plugin: &str,
    pack: Option<&str>,
) -> Result<Resolved, ApiError> {
    let bad = |message: String| ApiError::new(super::error::ApiCode::BadQuery, message);
    let (name, version) = conform_engine::registry::parse_reference(plugin).map_err(bad)?;
    let pack_version = match pack {
        None => None,
        Some(pin) => Some(parse_pack_pin(pin).map_err(bad)?),
    };
    let resolved = state
        .resolve_async(
            name.to_string(),
            version,
            pack_version.as_ref().map(|(_, v)| v.clone()),
        )
        .await?;
    if let Some((id, version)) = pack_version {
        let target = &resolved.manifest.target.pack;
        if &id != target {
            return Err(ApiError::new(super::error::ApiCode::NoMatchingPack, format!(
                    "plugin `{}` converts to pack `{target}`, not `{id}`; pin `pack={target}@{version}` or leave `pack` out",
                    resolved.manifest.name
                ),
            ));
        }
    }
    Ok(resolved)
}

/// `ID@VERSION` → (id, version).
fn parse_pack_pin(pin: &str) -> Result<(String, Version), String> {
    let (id, version) = pin.split_once('@').ok_or_else(|| {
        format!("`pack={pin}`: write `pack=ID@VERSION`, e.g. `pack=sample-regional@1.0.0`")
    })?;
    let version = Version::parse(version)
        .map_err(|e| format!("`pack={pin}`: `{version}` is not a version ({e})"))?;
    Ok((id.to_string(), version))
}

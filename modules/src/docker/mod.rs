//! Docker: the daemon client (Engine API on its socket, `docker` CLI as the fallback), the
//! description of a container and its comparison with `docker inspect`, and the modules built
//! on them (`docker_container`, `docker_image`, `docker_network`, `docker_volume`,
//! `docker_login`, `docker_services`).

pub mod cli;
pub mod client;
pub mod compare;
pub mod container;
pub mod context;
pub mod converge_container;
pub mod http;
pub mod image;
pub mod login;
pub mod network;
pub mod spec;

use crate::contract::ModuleError;
use crate::target::Target;
use base64::Engine as _;
use serde_json::Value;

/// Docker Hub's key in `~/.docker/config.json`.
pub const DOCKER_HUB: &str = "https://index.docker.io/v1/";

/// The registry an image reference names (`reg.example.com:5000/app:1` → `reg.example.com:5000`),
/// Docker Hub for plain names.
pub fn registry_of(reference: &str) -> String {
    match reference.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_string()
        }
        _ => DOCKER_HUB.to_string(),
    }
}

/// The login user's Docker config file on the host.
pub fn config_path(target: &dyn Target) -> String {
    match target.user().as_str() {
        "root" => "/root/.docker/config.json".to_string(),
        u => format!("/home/{u}/.docker/config.json"),
    }
}

/// The `X-Registry-Auth` header for pulling `reference`, from the credentials `docker_login`
/// (or `docker login`) stored on the host; `None` when there are none.
pub fn registry_auth(target: &dyn Target, reference: &str) -> Result<Option<String>, ModuleError> {
    let Some(bytes) = target.read_file(&config_path(target))? else {
        return Ok(None);
    };
    let Ok(config) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(None);
    };
    let registry = registry_of(reference);
    let Some(auths) = config.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    let bare = |k: &str| {
        k.trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string()
    };
    let entry = auths
        .iter()
        .find(|(k, _)| *k == &registry || bare(k) == bare(&registry));
    let Some((key, entry)) = entry else {
        return Ok(None);
    };
    let Some(auth) = entry.get("auth").and_then(Value::as_str) else {
        return Ok(None);
    };
    let Ok(decoded) = crate::common::b64_decode(auth) else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&decoded);
    let Some((user, pass)) = text.split_once(':') else {
        return Ok(None);
    };
    let header =
        serde_json::json!({"username": user, "password": pass, "serveraddress": key}).to_string();
    Ok(Some(
        base64::engine::general_purpose::URL_SAFE.encode(header),
    ))
}
pub mod compose;
pub mod services;

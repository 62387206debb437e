//! `docker_image`: an image present (pulled, built, loaded, or required to be there) or absent.
//!
//! The image is tracked by ID, so a tag that moved is noticed and reported with both IDs.
//! Builds are decided in check mode too: the context (a directory on the controller, tarred
//! deterministically by `context.rs`), the Dockerfile and the build args are hashed into the
//! label `converge.context`; an image whose label matches is current and is not rebuilt.
//!
//! Internal arguments the engine adds: `_context_dir` (the build directory, resolved on the
//! controller like `copy`'s `src`), `_load_src` (the controller file of `load_src`),
//! `_import_src` (the controller directory or tarball of `import_src`, for `source: import`:
//! an image made from a root filesystem, as `docker import` does).

use super::client::{BuildOptions, Docker};
use super::container::docker_for;
use super::context::tar_dir;
use super::converge_container::short_id;
use super::registry_auth;
use crate::args::{value_to_string, ArgError, ArgKind, ArgSpec, Args, Params};
use crate::common::sha256_hex;
use crate::contract::{Diff, Module, ModuleError, Outcome, RunMode};
use crate::target::Target;
use serde_json::{json, Map, Value};

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str).required(),
    ArgSpec::new("tag", ArgKind::Str),
    ArgSpec::new("source", ArgKind::Str).choices(&["pull", "build", "load", "import", "local"]),
    ArgSpec::new("force_source", ArgKind::Bool),
    ArgSpec::new("force_tag", ArgKind::Bool),
    ArgSpec::new("state", ArgKind::Str).choices(&["present", "absent"]),
    ArgSpec::new("build", ArgKind::Dict),
    ArgSpec::new("load_path", ArgKind::Str),
    ArgSpec::new("load_src", ArgKind::Str),
    ArgSpec::new("import_src", ArgKind::Str),
    ArgSpec::new("import_changes", ArgKind::List),
    ArgSpec::new("force_absent", ArgKind::Bool),
    ArgSpec::new("docker_host", ArgKind::Str),
    ArgSpec::new("timeout", ArgKind::Int),
    ArgSpec::new("api_version", ArgKind::Str),
];

/// The label that records what an image was built from.
pub const CONTEXT_LABEL: &str = "converge.context";

/// `name` + `tag` → `name:tag` (a tag or digest in `name` wins).
pub fn reference(name: &str, tag: Option<&str>) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:{}", tag.unwrap_or("latest"))
    }
}

/// What a build needs, and the hash that says whether an image is current.
pub struct Build {
    pub context: Vec<u8>,
    pub opts: BuildOptions,
    pub hash: String,
}

/// Prepare a build of `reference` from `dir` (on the controller) with the `build:` options
/// (`dockerfile`, `args`, `nocache`, `pull`).
pub fn prepare_build(
    b: &Map<String, Value>,
    dir: &std::path::Path,
    reference: &str,
) -> Result<Build, ModuleError> {
    let context = tar_dir(dir)
        .map_err(|e| ModuleError::Failed(format!("build context {}: {e}", dir.display())))?;
    let dockerfile = b
        .get("dockerfile")
        .map(value_to_string)
        .unwrap_or_else(|| "Dockerfile".into());
    let build_args: Map<String, Value> = b
        .get("args")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), Value::String(value_to_string(v))))
                .collect()
        })
        .unwrap_or_default();
    let mut material = context.clone();
    material.extend_from_slice(dockerfile.as_bytes());
    material.extend_from_slice(Value::Object(build_args.clone()).to_string().as_bytes());
    let hash = sha256_hex(&material);
    let mut labels = Map::new();
    labels.insert(CONTEXT_LABEL.into(), Value::String(hash.clone()));
    Ok(Build {
        context,
        hash,
        opts: BuildOptions {
            tag: reference.to_string(),
            dockerfile,
            build_args,
            labels,
            nocache: b
                .get("nocache")
                .and_then(crate::args::to_bool)
                .unwrap_or(false),
            pull: b
                .get("pull")
                .and_then(crate::args::to_bool)
                .unwrap_or(false),
        },
    })
}

/// Was `image` built from exactly this context (its `converge.context` label)?
pub fn is_current(image: Option<&Value>, build: &Build) -> bool {
    image
        .and_then(|i| i.pointer("/Config/Labels"))
        .and_then(|l| l.get(CONTEXT_LABEL))
        .and_then(Value::as_str)
        == Some(build.hash.as_str())
}

fn build_of(p: &Params, args: &Args, reference: &str) -> Result<Build, ModuleError> {
    let b = p
        .dict("build")
        .ok_or_else(|| ArgError::new(Some("build"), "is required with source: build"))?;
    let dir = args
        .get("_context_dir")
        .and_then(Value::as_str)
        .ok_or_else(|| ModuleError::Failed("docker_image: the build directory was not resolved on the controller (internal argument _context_dir)".into()))?;
    prepare_build(b, std::path::Path::new(dir), reference)
}

fn id_of(image: &Option<Value>) -> Option<String> {
    image
        .as_ref()
        .and_then(|i| i.get("Id"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn image_data(image: &Option<Value>) -> Value {
    match image {
        Some(i) => {
            json!({"Id": i.get("Id"), "RepoTags": i.get("RepoTags"), "RepoDigests": i.get("RepoDigests"),
                          "Created": i.get("Created"), "Labels": i.pointer("/Config/Labels")})
        }
        None => Value::Null,
    }
}

/// The `docker_image` module.
pub struct DockerImageModule;

impl Module for DockerImageModule {
    fn name(&self) -> &'static str {
        "docker_image"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, target: &dyn Target, args: &Args, mode: RunMode) -> Result<Outcome, ModuleError> {
        let p = Params::new(SPEC, args)?;
        let reference = reference(&p.req_str("name")?, p.str("tag").as_deref());
        let state = p.str_or("state", "present");
        let force = p.bool_or("force_source", false);
        let source = match p.str("source") {
            Some(s) => s,
            None if p.has("build") => "build".into(),
            None if p.has("load_path") || p.has("load_src") => "load".into(),
            None if p.has("import_src") => "import".into(),
            None => "pull".into(),
        };
        let docker = docker_for(&p, target)?;
        let before = docker.inspect_image(&reference)?;
        let before_id = id_of(&before);
        let mut out = Outcome::ok().with_data("docker_api", docker.describe());
        let header = format!("image {reference}");
        let diff = |out: &mut Outcome, b: String, a: String| {
            if mode.diff {
                out.diffs.push(Diff {
                    before_header: header.clone(),
                    after_header: header.clone(),
                    before: b,
                    after: a,
                });
            }
        };
        if state == "absent" {
            if let Some(id) = &before_id {
                out =
                    Outcome::changed().with_msg(format!("removed {reference} ({})", short_id(id)));
                diff(
                    &mut out,
                    format!("{reference} ({})\n", short_id(id)),
                    String::new(),
                );
                if !mode.check {
                    docker.remove_image(&reference, p.bool_or("force_absent", false))?;
                }
            }
            return Ok(out.with_data("image", Value::Null));
        }
        // What to do, and whether it is known before doing it.
        let action: Option<&str> = match source.as_str() {
            "local" => {
                if before.is_none() {
                    return Err(ModuleError::Failed(format!(
                        "image {reference} is not on the host (source: local)"
                    )));
                }
                None
            }
            "pull" if before.is_none() => Some("pull"),
            "pull" if force => Some("pull-check"),
            "load" if before.is_none() => Some("load"),
            "load" if force => Some("load-check"),
            "import" if before.is_none() => Some("import"),
            "import" if force => Some("import-check"),
            "build" => {
                let b = build_of(&p, args, &reference)?;
                if force || !is_current(before.as_ref(), &b) {
                    Some("build")
                } else {
                    None
                }
            }
            _ => None,
        };
        let Some(action) = action else {
            return Ok(out.with_data("image", image_data(&before)));
        };
        if mode.check {
            // A forced pull or load may or may not change the image: check mode cannot know.
            if action.ends_with("-check") {
                return Ok(Outcome::skipped(format!(
                    "{reference}: a forced {} may or may not bring a new image; check mode cannot tell",
                    action.trim_end_matches("-check")
                ))
                .with_data("image", image_data(&before)));
            }
            let mut o = Outcome::changed().with_msg(format!("would {action} {reference}"));
            o.data = out.data.clone();
            diff(
                &mut o,
                before_id
                    .as_ref()
                    .map(|i| format!("{reference} ({})\n", short_id(i)))
                    .unwrap_or_default(),
                format!("{reference} ({action})\n"),
            );
            return Ok(o);
        }
        let log = match action.trim_end_matches("-check") {
            "pull" => {
                let auth = registry_auth(target, &reference)?;
                docker.pull(&reference, auth.as_deref())?;
                String::new()
            }
            "load" => load(&docker, &p, args)?,
            "import" => import(&docker, &p, args, &reference)?,
            _ => {
                let b = build_of(&p, args, &reference)?;
                docker.build(b.context, &b.opts)?
            }
        };
        let after = docker.inspect_image(&reference)?;
        let after_id = id_of(&after);
        let Some(new_id) = &after_id else {
            return Err(ModuleError::Failed(format!(
                "{action} ran but {reference} is still not on the host:\n{}",
                log.trim()
            )));
        };
        if after_id != before_id {
            out.status = crate::contract::Status::Changed;
            out.msg = Some(match &before_id {
                Some(old) => format!(
                    "{reference}: {} → {} ({action})",
                    short_id(old),
                    short_id(new_id)
                ),
                None => format!("{reference}: {} ({action})", short_id(new_id)),
            });
            diff(
                &mut out,
                before_id
                    .as_ref()
                    .map(|i| format!("{reference} ({})\n", short_id(i)))
                    .unwrap_or_default(),
                format!("{reference} ({})\n", short_id(new_id)),
            );
        }
        Ok(out.with_data("image", image_data(&after)))
    }
}

/// `docker import` of a root filesystem on the controller: a directory (tarred by the
/// controller's `tar`, owners and modes kept) or a tarball.
fn import(
    docker: &Docker,
    p: &Params,
    args: &Args,
    reference: &str,
) -> Result<String, ModuleError> {
    let src = p.req_str("import_src")?;
    let path = args
        .get("_import_src")
        .and_then(Value::as_str)
        .unwrap_or(&src);
    let bytes = if std::path::Path::new(path).is_dir() {
        let out = std::process::Command::new("tar")
            .args(["--numeric-owner", "-C", path, "-cf", "-", "."])
            .output()
            .map_err(|e| ModuleError::Failed(format!("cannot run tar on the controller: {e}")))?;
        if !out.status.success() {
            return Err(ModuleError::Failed(format!(
                "tar of {path} on the controller failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        out.stdout
    } else {
        std::fs::read(path).map_err(|e| {
            ModuleError::Failed(format!("cannot read {path} on the controller: {e}"))
        })?
    };
    docker.import(
        bytes,
        reference,
        &p.list("import_changes").unwrap_or_default(),
    )
}

/// Load from the host (`load_path`) or from the controller (`load_src`, sent over the stream).
fn load(docker: &Docker, p: &Params, args: &Args) -> Result<String, ModuleError> {
    if let Some(src) = p.str("load_src") {
        let path = args
            .get("_load_src")
            .and_then(Value::as_str)
            .unwrap_or(&src);
        let bytes = std::fs::read(path).map_err(|e| {
            ModuleError::Failed(format!("cannot read {path} on the controller: {e}"))
        })?;
        return docker.load(bytes);
    }
    let path = p.req_str("load_path")?;
    // The archive is already on the host: the daemon's own CLI reads it there.
    let out = docker.cli_raw(&["load", "-q", "-i", &path], None)?;
    if !out.success() {
        return Err(ModuleError::Failed(format!(
            "docker load -i {path}: {}",
            out.stderr_str().trim()
        )));
    }
    Ok(out.stdout_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(reference("app", None), "app:latest");
        assert_eq!(reference("app", Some("2")), "app:2");
        assert_eq!(reference("app:1", Some("2")), "app:1");
        assert_eq!(reference("reg:5000/app", Some("3")), "reg:5000/app:3");
        assert_eq!(reference("app@sha256:ab", None), "app@sha256:ab");
    }
}

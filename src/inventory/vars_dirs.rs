//! `group_vars/` and `host_vars/` directories, read like Ansible's `host_group_vars` plugin: for a
//! group or host NAME the first of `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json` that exists is
//! used; when it is a directory, every file in it (recursively, in lexical order, skipping hidden
//! files and backups `~`, only `.yml`/`.yaml`/`.json` or extension-less files) is merged in turn.
//! Only files for groups and hosts that exist are read, as in Ansible.

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::source::{SourceFile, Span};
use crate::yaml::{self, Yaml};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Extensions a vars file may have (Ansible's `YAML_FILENAME_EXTENSIONS`), besides none at all.
const EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];
/// Deepest directory nesting followed inside `group_vars/NAME/` (guards against symlink loops).
const MAX_DIR_DEPTH: usize = 32;

/// The variables found beside one inventory source or playbook.
#[derive(Debug, Default)]
pub struct VarsDir {
    groups: HashMap<String, Map<String, Value>>,
    hosts: HashMap<String, Map<String, Value>>,
}

impl VarsDir {
    /// Read `base/group_vars/<group>` and `base/host_vars/<host>` for the names given. Problems
    /// that Ansible only warns about are added to `warnings`.
    pub fn load<'a>(
        base: &Path,
        groups: impl IntoIterator<Item = &'a str>,
        hosts: impl IntoIterator<Item = &'a str>,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<VarsDir, Diagnostics> {
        let mut diags = Diagnostics::default();
        let groups = load_entities(&base.join("group_vars"), groups, warnings, &mut diags);
        let hosts = load_entities(&base.join("host_vars"), hosts, warnings, &mut diags);
        diags.finish(VarsDir { groups, hosts })
    }

    pub fn group(&self, name: &str) -> Option<&Map<String, Value>> {
        self.groups.get(name)
    }

    pub fn host(&self, name: &str) -> Option<&Map<String, Value>> {
        self.hosts.get(name)
    }
}

fn load_entities<'a>(
    dir: &Path,
    names: impl IntoIterator<Item = &'a str>,
    warnings: &mut Vec<Diagnostic>,
    diags: &mut Diagnostics,
) -> HashMap<String, Map<String, Value>> {
    let mut out = HashMap::new();
    if !dir.exists() {
        return out;
    }
    if !dir.is_dir() {
        warnings.push(Diagnostic::new(
            format!(
                "Found {} that is not a directory, skipping: {}",
                dir.file_name().unwrap_or_default().to_string_lossy(),
                dir.display()
            ),
            None,
        ));
        return out;
    }
    let listing: HashSet<OsString> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect(),
        Err(e) => {
            diags.push(Diagnostic::new(
                format!("cannot read {}: {e}", dir.display()),
                None,
            ));
            return out;
        }
    };
    for name in names {
        // Ansible skips names that are absolute paths ('chroot' style inventory hostnames).
        if name.is_empty() || name.starts_with('/') || name.split('/').any(|c| c == "..") {
            continue;
        }
        let mut merged = Map::new();
        for file in find_vars_files(dir, name, &listing) {
            match load_vars_file(&file) {
                Ok(Some(vars)) => merged.extend(vars),
                Ok(None) => {}
                Err(d) => diags.push(d),
            }
        }
        if !merged.is_empty() {
            out.insert(name.to_string(), merged);
        }
    }
    out
}

/// `DataLoader.find_vars_files`: the files holding NAME's variables, in merge order.
fn find_vars_files(dir: &Path, name: &str, listing: &HashSet<OsString>) -> Vec<PathBuf> {
    for ext in std::iter::once("").chain(EXTENSIONS) {
        let file_name = if ext.is_empty() {
            name.to_string()
        } else {
            format!("{name}.{ext}")
        };
        let exists = if name.contains('/') {
            dir.join(&file_name).exists()
        } else {
            listing.contains(&OsString::from(&file_name))
        };
        if !exists {
            continue;
        }
        let path = dir.join(&file_name);
        return if path.is_dir() {
            let mut found = Vec::new();
            dir_vars_files(&path, 0, &mut found);
            found
        } else {
            vec![path]
        };
    }
    Vec::new()
}

fn dir_vars_files(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    if depth > MAX_DIR_DEPTH {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<OsString> = rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect();
    names.sort();
    for n in names {
        let s = n.to_string_lossy();
        if s.starts_with('.') || s.ends_with('~') {
            continue;
        }
        let path = dir.join(&n);
        let ext = path.extension().map(|e| e.to_string_lossy().into_owned());
        if path.is_dir() && ext.is_none() {
            dir_vars_files(&path, depth + 1, found);
        } else if path.is_file() && ext.as_deref().is_none_or(|e| EXTENSIONS.contains(&e)) {
            found.push(path);
        }
    }
}

/// One vars file: a mapping (or nothing: empty files are ignored).
pub fn load_vars_file(path: &Path) -> Result<Option<Map<String, Value>>, Diagnostic> {
    let file = SourceFile::read(path).map_err(|m| Diagnostic::new(m, None))?;
    if file.text.starts_with("$ANSIBLE_VAULT") {
        return Err(Diagnostic::at(
            &Span::new(&file, 0, file.text.find('\n').unwrap_or(file.text.len())),
            format!(
                "{} is encrypted with Ansible Vault, which converge does not support",
                path.display()
            ),
        )
        .with_hint("decrypt it (`ansible-vault decrypt`) or provide the secret another way"));
    }
    let node = yaml::load(&file)?;
    let empty = match &node.value {
        Yaml::Null => true,
        Yaml::Bool(b) => !b,
        Yaml::Int(i) => *i == 0,
        Yaml::Str(s) => s.is_empty(),
        Yaml::Seq(s) => s.is_empty(),
        Yaml::Map(m) => m.is_empty(),
        Yaml::Float(f) => *f == 0.0,
    };
    if empty {
        return Ok(None);
    }
    if !matches!(node.value, Yaml::Map(_)) {
        return Err(Diagnostic::at(
            &node.span,
            format!(
                "{} must contain a mapping of variable names to values, found {}",
                path.display(),
                node.kind_name()
            ),
        )
        .with_hint("write variables as `name: value` lines at the top level of the file"));
    }
    let entries = node.string_keys("a variables file")?;
    Ok(Some(
        entries
            .into_iter()
            .map(|(k, _, v)| (k, v.to_json()))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(p: &Path, text: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn file_forms_and_directories() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        write(&d.join("group_vars/web.yml"), "a: 1\n");
        write(&d.join("group_vars/web.json"), "{\"a\": 2}\n"); // shadowed by web.yml
        write(&d.join("group_vars/db"), "b: 1\n");
        write(&d.join("group_vars/all/01.yml"), "x: 1\ny: 1\n");
        write(&d.join("group_vars/all/02.yaml"), "y: 2\n");
        write(&d.join("group_vars/all/sub/03.json"), "{\"z\": 3}\n");
        write(&d.join("group_vars/all/.hidden.yml"), "x: hidden\n");
        write(&d.join("group_vars/all/04.yml~"), "x: backup\n");
        write(&d.join("group_vars/all/05.txt"), "x: text\n");
        write(&d.join("group_vars/ghost.yml"), "g: 1\n");
        write(&d.join("host_vars/h1.yaml"), "");
        let mut w = Vec::new();
        let v = VarsDir::load(d, ["all", "web", "db"], ["h1"], &mut w).unwrap();
        assert_eq!(v.group("web").unwrap()["a"], json!(1));
        assert_eq!(v.group("db").unwrap()["b"], json!(1));
        let all = v.group("all").unwrap();
        assert_eq!(all.get("x"), Some(&json!(1)));
        assert_eq!(all.get("y"), Some(&json!(2)));
        assert_eq!(all.get("z"), Some(&json!(3)));
        assert!(v.group("ghost").is_none());
        assert!(v.host("h1").is_none());
    }

    #[test]
    fn errors_carry_positions() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        write(&d.join("group_vars/web.yml"), "a: 1\nb: [1, 2\n");
        write(&d.join("host_vars/h1.yml"), "- a\n- b\n");
        let e = VarsDir::load(d, ["web"], ["h1"], &mut Vec::new()).unwrap_err();
        assert_eq!(e.0.len(), 2);
        assert!(e.0[0]
            .span
            .as_ref()
            .unwrap()
            .location()
            .contains("web.yml:"));
        assert!(
            e.0[1].message.contains("must contain a mapping"),
            "{}",
            e.0[1].message
        );
        assert_eq!(e.0[1].span.as_ref().unwrap().line, 1);
    }
}

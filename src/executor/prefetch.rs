//! Fewer round trips: before a play's tasks run on a host, one command reports the state of
//! every path the play's file-like tasks will inspect (`dest`, `path`, `creates`, ...): lstat,
//! symlink target and, for small regular files, the content. Modules then inspect through
//! [`CachedTarget`], which answers `stat` and `read_file` from that report, so a task that finds
//! nothing to change costs no round trip at all. Any command or write drops what it may have
//! made stale. Over SSH a round trip is the cost that matters (docs/round-trips.md).

use crate::connection::shell_ops::parse_stat;
use crate::playbook::{Action, Task};
use base64::Engine as _;
use converge_modules::{Command, Endpoint, FileAttrs, Output, Stat, Target, TargetError};
use std::collections::HashMap;
use std::sync::Mutex;

/// Files larger than this are not prefetched (their content is read when needed).
pub const MAX_CONTENT: u64 = 256 * 1024;

/// What one path looked like when it was prefetched.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub stat: Option<Stat>,
    /// `Some` only for regular files no larger than [`MAX_CONTENT`].
    pub content: Option<Vec<u8>>,
}

/// Per host: the prefetched paths, valid until something may have changed them.
#[derive(Debug, Default)]
pub struct Cache {
    pub entries: Mutex<HashMap<String, Entry>>,
}

impl Cache {
    pub fn clear(&self) {
        if let Ok(mut m) = self.entries.lock() {
            m.clear();
        }
    }
    fn get(&self, path: &str) -> Option<Entry> {
        self.entries.lock().ok()?.get(path).cloned()
    }
    fn forget(&self, path: &str) {
        if let Ok(mut m) = self.entries.lock() {
            m.remove(path);
            if let Some((parent, _)) = path.rsplit_once('/') {
                m.remove(if parent.is_empty() { "/" } else { parent });
            }
        }
    }
    pub fn fill(&self, entries: HashMap<String, Entry>) {
        if let Ok(mut m) = self.entries.lock() {
            *m = entries;
        }
    }
}

/// The paths a task will inspect, by argument name, for the modules whose inspection is made of
/// `stat` and `read_file` calls.
pub fn path_args(task: &Task) -> Vec<&'static str> {
    let Action::Module { module, .. } = &task.action else {
        return Vec::new();
    };
    match module.as_str() {
        "copy" | "template" => vec!["dest"],
        "file" | "stat" | "lineinfile" | "blockinfile" | "replace" => vec!["path", "dest", "name"],
        "slurp" => vec!["src", "path"],
        "command" | "shell" => vec!["creates", "removes"],
        _ => Vec::new(),
    }
}

/// The shell script reporting every path given as a positional parameter.
const SCRIPT: &str = r#"LC_ALL=C; export LC_ALL
for p do
  printf '\036%s\n' "$p"
  if s=$(stat -c '%f:%u:%g:%s:%Y:%h:%i:%U:%G' -- "$p" 2>/dev/null); then
    printf 'S%s\n' "$s"
    if [ -L "$p" ]; then
      printf 'L%s\n' "$(readlink -- "$p")"
    elif [ -f "$p" ] && [ "$(stat -c %s -- "$p")" -le "$MAX" ] && [ -r "$p" ]; then
      printf 'C'; base64 -w0 -- "$p"; printf '\n'
    fi
  else
    echo M
  fi
done"#;

pub fn command(paths: &[String]) -> Command {
    let mut argv = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        format!("MAX={MAX_CONTENT}\n{SCRIPT}"),
        "converge-prefetch".to_string(),
    ];
    argv.extend(paths.iter().cloned());
    Command::argv(argv)
}

/// Parse the script's output; records that cannot be parsed are left out (and then read
/// directly when a module asks).
pub fn parse(out: &[u8]) -> HashMap<String, Entry> {
    let text = String::from_utf8_lossy(out);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut result = HashMap::new();
    for record in text.split('\u{1e}').skip(1) {
        let mut lines = record.lines();
        let Some(path) = lines.next() else { continue };
        let mut stat_line = None;
        let mut link = None;
        let mut content = None;
        let mut missing = false;
        for l in lines {
            match l.split_at(l.len().min(1)) {
                ("S", rest) => stat_line = Some(rest.to_string()),
                ("L", rest) => link = Some(rest.to_string()),
                ("C", rest) => content = b64.decode(rest.trim()).ok(),
                ("M", _) => missing = true,
                _ => {}
            }
        }
        let entry = if missing {
            Entry {
                stat: None,
                content: None,
            }
        } else {
            let Some(s) = stat_line else { continue };
            let raw = match &link {
                Some(t) => format!("{s}\n{t}\n"),
                None => format!("{s}\n"),
            };
            match parse_stat(raw.as_bytes()) {
                Ok(st) => Entry {
                    stat: Some(st),
                    content,
                },
                Err(_) => continue,
            }
        };
        result.insert(path.to_string(), entry);
    }
    result
}

/// A target that answers `stat` and `read_file` from the prefetched report.
pub struct CachedTarget<'a> {
    pub inner: &'a dyn Target,
    pub cache: &'a Cache,
}

impl Target for CachedTarget<'_> {
    fn run(&self, cmd: &Command) -> Result<Output, TargetError> {
        // A command may change anything.
        self.cache.clear();
        self.inner.run(cmd)
    }

    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, TargetError> {
        match self.cache.get(path) {
            Some(Entry { stat: None, .. }) => Ok(None),
            Some(Entry {
                content: Some(c), ..
            }) => Ok(Some(c)),
            _ => self.inner.read_file(path),
        }
    }

    fn write_file(&self, path: &str, content: &[u8], attrs: &FileAttrs) -> Result<(), TargetError> {
        self.cache.forget(path);
        self.inner.write_file(path, content, attrs)
    }

    fn stat(&self, path: &str) -> Result<Option<Stat>, TargetError> {
        match self.cache.get(path) {
            Some(e) => Ok(e.stat),
            None => self.inner.stat(path),
        }
    }

    fn user(&self) -> String {
        self.inner.user()
    }

    fn exchange(
        &self,
        to: &Endpoint,
        request: &[u8],
        timeout: std::time::Duration,
    ) -> Result<Vec<u8>, TargetError> {
        self.inner.exchange(to, request, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_files_links_dirs_and_missing_paths() {
        let out = b"\x1e/etc/a\nS81a4:0:0:6:1700000000:1:12:root:root\nCaGVsbG8K\n\x1e/l\nSa1ff:0:0:4:1700000000:1:13:root:root\nL/etc/a\n\x1e/d\nS41ed:0:0:4096:1700000000:2:14:root:root\n\x1e/nope\nM\n";
        let m = parse(out);
        assert_eq!(m["/etc/a"].content.as_deref(), Some(&b"hello\n"[..]));
        assert_eq!(m["/etc/a"].stat.as_ref().map(|s| s.mode), Some(0o644));
        assert_eq!(
            m["/l"]
                .stat
                .as_ref()
                .and_then(|s| s.link_target.clone())
                .as_deref(),
            Some("/etc/a")
        );
        assert!(m["/d"].content.is_none());
        assert_eq!(
            m["/nope"],
            Entry {
                stat: None,
                content: None
            }
        );
    }

    #[test]
    fn the_script_works_on_this_machine() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "x\n").unwrap();
        let paths = vec![
            f.display().to_string(),
            dir.path().join("missing").display().to_string(),
        ];
        let out = converge_modules::local::LocalTarget::new()
            .run(&command(&paths))
            .unwrap();
        let m = parse(&out.stdout);
        assert_eq!(m[&paths[0]].content.as_deref(), Some(&b"x\n"[..]));
        assert!(m[&paths[1]].stat.is_none());
    }
}

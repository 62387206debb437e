//! The frame `lineinfile`, `blockinfile` and `replace` share: each is a pure text transform
//! (content in → content out, message, extra data) wrapped in the same inspect → plan → apply.
//!
//! Inspect follows symlinks (as Ansible writes to the real path) and reads the file; plan runs
//! the transform and hands the result to [`crate::filewrite`], so these modules get attributes,
//! `backup`, `validate`, diffs and the atomic write from the one shared write path.

use crate::common::strip_ends;
use crate::contract::{ModuleError, Plan};
use crate::filewrite::{plan_write, DestState, WriteAction, WriteArgs};
use serde_json::{Map, Value};

/// What a transform decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edit {
    /// The new content; `None` leaves the file alone (e.g. nothing to remove from a missing file).
    pub content: Option<String>,
    pub msg: String,
    /// Extra registered data (`found`).
    pub data: Map<String, Value>,
}

/// The current content as text; a directory, or a file that is not UTF-8, is refused rather
/// than mangled.
pub fn current_text(st: &DestState) -> Result<Option<String>, ModuleError> {
    if st.is_dir() {
        return Err(ModuleError::Failed(format!(
            "Path {} is a directory !",
            st.path
        )));
    }
    match &st.content {
        None => Ok(None),
        Some(bytes) => String::from_utf8(bytes.clone())
            .map(Some)
            .map_err(|_| ModuleError::Failed(format!("{} is not a UTF-8 text file", st.path))),
    }
}

/// Turn an [`Edit`] into a plan through the shared write path. `backup_key` is where the
/// module registers the backup's name (`backup` for lineinfile, `backup_file` for the others).
pub fn plan_edit(
    write: &WriteArgs,
    st: &DestState,
    edit: Edit,
    backup_key: &str,
) -> Result<Plan<WriteAction>, ModuleError> {
    let mut plan = Plan::nothing();
    let mut msg = edit.msg;
    if let Some(new) = &edit.content {
        let wp = plan_write(write, st, new.as_bytes(), &mut plan)?;
        // Only the keys these modules register in Ansible.
        plan.data = Map::new();
        if let Some(b) = wp.backup_file {
            plan.data.insert(backup_key.into(), b.into());
        }
        if wp.attrs_changed || (wp.content_changed && plan.diffs.len() > 1) {
            msg = if msg.is_empty() {
                "ownership, perms or SE linux context changed".to_string()
            } else {
                format!("{msg} and ownership, perms or SE linux context changed")
            };
        }
    }
    plan.data.extend(edit.data);
    plan.msg = Some(strip_ends(&msg)).filter(|m| !m.is_empty());
    Ok(plan)
}

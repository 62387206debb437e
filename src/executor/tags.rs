//! `--tags` / `--skip-tags` selection with Ansible's special tags (`always`, `never`, `all`,
//! `tagged`, `untagged`).

#[derive(Debug, Clone, Default)]
pub struct TagFilter {
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl TagFilter {
    pub fn new(only: &[String], skip: &[String]) -> Self {
        let split = |v: &[String]| -> Vec<String> {
            v.iter()
                .flat_map(|s| s.split(','))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        TagFilter {
            only: split(only),
            skip: split(skip),
        }
    }

    /// Whether a task with these tags runs.
    pub fn selects(&self, tags: &[String]) -> bool {
        let has = |t: &str| tags.iter().any(|x| x == t);
        let matches = |set: &[String]| {
            set.iter().any(|s| match s.as_str() {
                "all" => !has("never"),
                "tagged" => !tags.is_empty() && !has("never"),
                "untagged" => tags.is_empty(),
                other => has(other),
            })
        };
        if !self.skip.is_empty() && matches(&self.skip) {
            return false;
        }
        if has("always") && !self.skip.iter().any(|s| s == "always") {
            return true;
        }
        if self.only.is_empty() {
            return !has("never");
        }
        matches(&self.only)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ansible_tag_rules() {
        let none = TagFilter::new(&[], &[]);
        assert!(none.selects(&t(&[])));
        assert!(none.selects(&t(&["web"])));
        assert!(!none.selects(&t(&["never"])));
        let web = TagFilter::new(&t(&["web"]), &[]);
        assert!(web.selects(&t(&["web", "x"])));
        assert!(!web.selects(&t(&["db"])));
        assert!(web.selects(&t(&["always"])));
        assert!(!web.selects(&t(&[])));
        let never_req = TagFilter::new(&t(&["never"]), &[]);
        assert!(never_req.selects(&t(&["never"])));
        let skip = TagFilter::new(&[], &t(&["db,always"]));
        assert!(!skip.selects(&t(&["db"])));
        assert!(!skip.selects(&t(&["always"])));
        let untagged = TagFilter::new(&t(&["untagged"]), &[]);
        assert!(untagged.selects(&t(&[])));
        assert!(!untagged.selects(&t(&["x"])));
    }
}

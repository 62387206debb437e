//! `lookup('csvfile', key, file=..., delimiter=..., col=1, keycol=0, default=None)`: the value in
//! column `col` of the first row whose column `keycol` equals `key`, read with Python's `csv`
//! rules (excel dialect). Options also come inline, the old way: `'key file=x.csv col=2'` (the
//! words without `=` form the key, quotes in it kept literally).

use super::convert::require_defined;
use super::filters::err;
use super::lookups::find_file;
use crate::playbook::kv::{decode_escapes, split_args};
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, State};

/// The options of one search.
#[derive(Clone)]
struct Opts {
    file: String,
    delimiter: String,
    col: Value,
    keycol: Value,
    default: Option<Value>,
}

impl Opts {
    fn from_kwargs(kwargs: &Kwargs) -> Result<Opts, Error> {
        let text = |v: Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
        let _encoding = kwargs.get::<Option<Value>>("encoding")?;
        Ok(Opts {
            file: kwargs
                .get::<Option<Value>>("file")?
                .map_or_else(|| "ansible.csv".into(), text),
            delimiter: kwargs
                .get::<Option<Value>>("delimiter")?
                .map_or_else(|| "TAB".into(), text),
            col: kwargs
                .get::<Option<Value>>("col")?
                .unwrap_or(Value::from(1)),
            keycol: kwargs
                .get::<Option<Value>>("keycol")?
                .unwrap_or(Value::from(0)),
            default: kwargs
                .get::<Option<Value>>("default")?
                .filter(|d| !d.is_none()),
        })
    }

    fn set(&mut self, name: &str, value: String) -> Result<(), Error> {
        match name {
            "file" => self.file = value,
            "delimiter" => self.delimiter = value,
            "col" => self.col = Value::from(value),
            "keycol" => self.keycol = Value::from(value),
            "default" => self.default = Some(Value::from(value)),
            "encoding" => {}
            _ => return Err(err(format!("'{name}' is not a valid option"))),
        }
        Ok(())
    }
}

/// An `int` option: a number, or a string holding one.
fn int_option(name: &str, v: &Value) -> Result<usize, Error> {
    let parsed = match v.kind() {
        ValueKind::Number => usize::try_from(v.clone()).ok(),
        _ => v.as_str().and_then(|s| s.trim().parse::<usize>().ok()),
    };
    parsed.ok_or_else(|| {
        err(format!(
            "Invalid type for configuration option 'col': option '{name}' has an invalid value '{v}' (must be an int)"
        ))
    })
}

/// Ansible's `parse_kv` on a term: (the key from the free-form words, the `k=v` options).
fn parse_term(term: &str) -> (Option<String>, Vec<(String, String)>) {
    let mut raw = Vec::new();
    let mut options = Vec::new();
    for word in split_args(term) {
        let decoded = decode_escapes(&word);
        let pos = decoded
            .char_indices()
            .skip(1)
            .find(|&(i, c)| c == '=' && !decoded[..i].ends_with('\\'))
            .map(|(i, _)| i);
        match pos {
            Some(i) => {
                let v = decoded[i + 1..].trim();
                options.push((decoded[..i].trim().to_string(), unquote(v)));
            }
            None if decoded.contains('=') => raw.push(decoded.replace("\\=", "=")),
            None => raw.push(word),
        }
    }
    ((!raw.is_empty()).then(|| raw.join(" ")), options)
}

fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && matches!(b[0], b'"' | b'\'') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

pub(super) fn lookup_csvfile(
    state: &State,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, Error> {
    let base = Opts::from_kwargs(kwargs)?;
    if terms.is_empty() {
        return Err(err("Search key is required but was not found"));
    }
    let mut out = Vec::new();
    for term in terms {
        require_defined(term)?;
        let text = term
            .as_str()
            .map_or_else(|| term.to_string(), str::to_string);
        let (key, inline) = parse_term(&text);
        let key = key.ok_or_else(|| err("Search key is required but was not found"))?;
        let mut opts = base.clone();
        for (name, value) in inline {
            opts.set(&name, value)?;
        }
        match search(state, &key, &opts)? {
            Some(v) if v.kind() == ValueKind::Seq => out.extend(v.try_iter()?),
            Some(v) => out.push(v),
            None => {}
        }
    }
    Ok(out)
}

fn search(state: &State, key: &str, opts: &Opts) -> Result<Option<Value>, Error> {
    let col = int_option("col", &opts.col)?;
    let keycol = int_option("keycol", &opts.keycol)?;
    let delimiter = match opts.delimiter.as_str() {
        "TAB" => '\t',
        d => {
            let mut chars = d.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => return Err(err("csvfile: \"delimiter\" must be a 1-character string")),
            }
        }
    };
    let path = find_file(state, &opts.file, "files").ok_or_else(|| {
        err(format!(
            "csvfile: could not read {}: No such file or directory",
            opts.file
        ))
    })?;
    let bytes = std::fs::read(&path)
        .map_err(|e| err(format!("csvfile: could not read {}: {e}", path.display())))?;
    let text = String::from_utf8_lossy(&bytes);
    for row in parse_csv(&text, delimiter) {
        if row.get(keycol).is_some_and(|k| k == key) {
            return match row.get(col) {
                Some(v) => Ok(Some(Value::from(v.as_str()))),
                None => Err(err(format!("csvfile: list index out of range (col {col})"))),
            };
        }
    }
    Ok(opts.default.clone())
}

/// Rows of a CSV text as Python's `csv.reader` (excel dialect, non-strict) reads them.
pub(crate) fn parse_csv(text: &str, delimiter: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut at_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_start => in_quotes = true,
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                if !row.is_empty() || !field.is_empty() || !at_start {
                    row.push(std::mem::take(&mut field));
                }
                rows.push(std::mem::take(&mut row));
                at_start = true;
                continue;
            }
            c if c == delimiter => {
                row.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            _ => field.push(c),
        }
        at_start = false;
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_like_python() {
        let rows = parse_csv(
            "a,b\r\n\"\"\"The Rock\"\" Johnson\",Dwayne\nEx,\"crazy email\"@ex.com\n\n\"x,y\",z",
            ',',
        );
        assert_eq!(rows[0], vec!["a", "b"]);
        assert_eq!(rows[1], vec!["\"The Rock\" Johnson", "Dwayne"]);
        assert_eq!(rows[2], vec!["Ex", "crazy email@ex.com"]);
        assert!(rows[3].is_empty());
        assert_eq!(rows[4], vec!["x,y", "z"]);
    }

    #[test]
    fn inline_terms() {
        let (key, opts) = parse_term("German von Lastname file=people.csv delimiter=, col=1");
        assert_eq!(key.as_deref(), Some("German von Lastname"));
        assert_eq!(opts[0], ("file".into(), "people.csv".into()));
        assert_eq!(opts[1], ("delimiter".into(), ",".into()));
        let (key, opts) = parse_term("maybe file=\"cool list.csv\" delimiter=\\x1a");
        assert_eq!(key.as_deref(), Some("maybe"));
        assert_eq!(opts[0].1, "cool list.csv");
        assert_eq!(opts[1].1, "\u{1a}");
        let (key, _) = parse_term("\"The Rock\" Johnson file=p.csv");
        assert_eq!(key.as_deref(), Some("\"The Rock\" Johnson"));
        assert_eq!(parse_term("file=p.csv, delimiter=, col=1").0, None);
    }

    #[test]
    fn lookup_in_a_file() {
        use super::super::tests::{eval, eval_err};
        use serde_json::json;
        let dir = std::env::temp_dir().join(format!("converge-csv-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("files")).ok();
        std::fs::write(dir.join("files/p.csv"), "Smith,Jane,1\nfruit\tbananas\n").ok();
        let vars = json!({"__converge_search_path": [dir.display().to_string()]});
        let e = |x: &str| eval(x, vars.clone());
        assert_eq!(
            e("lookup('csvfile', 'Smith', file='p.csv', delimiter=',', col=1)"),
            json!("Jane")
        );
        assert_eq!(
            e("lookup('csvfile', 'Jane', file='p.csv', delimiter=',', col=0, keycol=1)"),
            json!("Smith")
        );
        assert_eq!(
            e("lookup('csvfile', 'fruit file=p.csv delimiter=TAB col=1')"),
            json!("bananas")
        );
        assert_eq!(
            e("lookup('csvfile', 'no file=p.csv delimiter=, col=2')"),
            json!([])
        );
        assert_eq!(
            e("lookup('csvfile', 'no file=p.csv delimiter=, default=what?')"),
            json!("what?")
        );
        assert_eq!(
            e("lookup('csvfile', 'no', file='p.csv', delimiter=',', default=['a', 'b'])"),
            json!("a,b")
        );
        let msg = |x: &str| eval_err(x, vars.clone()).message;
        assert!(msg("lookup('csvfile', 'file=p.csv, col=1')").contains("Search key is required"));
        assert!(
            msg("lookup('csvfile', 'x file=p.csv bad=1')").contains("'bad' is not a valid option")
        );
        assert!(msg("lookup('csvfile', 'x file=p.csv col=2,')").contains("has an invalid value"));
        assert!(msg("lookup('csvfile', 'x', file='nope')").contains("No such file or directory"));
        std::fs::remove_dir_all(&dir).ok();
    }
}

//! Ansible's URL filters and tests: `urldecode` (Python's `unquote_plus`), `urlsplit` (Python's
//! `urllib.parse.urlsplit` as a dict, or one component of it) and the `uri`/`url`/`urn` tests.
//! `urlencode` is Jinja2's (strings quoted keeping `/`, dicts and lists of pairs as a query).

use super::convert::require_defined;
use super::filters::err;
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("urldecode", urldecode);
    env.add_filter("urlsplit", urlsplit);
    env.add_filter("urlencode", urlencode);
    env.add_test("uri", |v: &Value, kw: Kwargs| is_uri(v, kw, false));
    env.add_test("url", |v: &Value, kw: Kwargs| is_uri(v, kw, true));
    env.add_test("urn", |v: &Value| {
        Ok::<_, Error>(text(v).is_ok_and(|s| split(&s).scheme == "urn"))
    });
}

fn text(v: &Value) -> Result<String, Error> {
    require_defined(v)?;
    Ok(match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string(),
    })
}

/// Python's `unquote_plus`: `+` is a space, `%XX` escapes are bytes of UTF-8 (invalid
/// sequences become U+FFFD), malformed escapes stay as they are.
pub(crate) fn unquote_plus(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match hex_pair(bytes[i + 1], bytes[i + 2]) {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_pair(a: u8, b: u8) -> Option<u8> {
    let hi = (a as char).to_digit(16)?;
    let lo = (b as char).to_digit(16)?;
    u8::try_from(hi * 16 + lo).ok()
}

fn urldecode(v: &Value) -> Result<String, Error> {
    Ok(unquote_plus(&text(v)?))
}

/// Python's `quote`: everything but ASCII letters, digits, `_.-~` and `safe` is `%XX`-escaped.
fn quote(s: &str, safe: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || safe.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Jinja2's `url_quote(value, for_qs)`: a query string part also escapes `/`, spaces are `+`.
fn url_quote(v: &Value, for_qs: bool) -> String {
    let s = v.as_str().map_or_else(|| v.to_string(), str::to_string);
    if for_qs {
        quote(&s, b"").replace("%20", "+")
    } else {
        quote(&s, b"/")
    }
}

/// Jinja2's `urlencode`: a string is quoted; a dict (or a list of pairs) becomes `k=v&k=v`.
fn urlencode(v: &Value) -> Result<String, Error> {
    require_defined(v)?;
    let pairs: Vec<(Value, Value)> = match v.kind() {
        ValueKind::String | ValueKind::Number | ValueKind::Bool | ValueKind::None => {
            return Ok(url_quote(v, false))
        }
        ValueKind::Map => v
            .try_iter()?
            .map(|k| v.get_item(&k).map(|item| (k, item)))
            .collect::<Result<_, _>>()?,
        _ => v
            .try_iter()?
            .map(|pair| {
                Ok((
                    pair.get_item(&Value::from(0))?,
                    pair.get_item(&Value::from(1))?,
                ))
            })
            .collect::<Result<_, Error>>()?,
    };
    Ok(pairs
        .iter()
        .map(|(k, v)| format!("{}={}", url_quote(k, true), url_quote(v, true)))
        .collect::<Vec<_>>()
        .join("&"))
}

/// The parts of a URL, as Python's `urlsplit` finds them.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct UrlParts {
    pub scheme: String,
    pub netloc: String,
    pub path: String,
    pub query: String,
    pub fragment: String,
}

fn valid_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

pub(crate) fn split(url: &str) -> UrlParts {
    let url = url.trim_start_matches(|c: char| c <= ' ');
    let url: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut parts = UrlParts::default();
    let mut rest = url.as_str();
    if let Some((scheme, after)) = rest.split_once(':') {
        if valid_scheme(scheme) {
            parts.scheme = scheme.to_ascii_lowercase();
            rest = after;
        }
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        parts.netloc = after[..end].to_string();
        rest = &after[end..];
    }
    if let Some((before, frag)) = rest.split_once('#') {
        parts.fragment = frag.to_string();
        rest = before;
    }
    if let Some((before, query)) = rest.split_once('?') {
        parts.query = query.to_string();
        rest = before;
    }
    parts.path = rest.to_string();
    parts
}

impl UrlParts {
    fn userinfo(&self) -> Option<&str> {
        self.netloc.rsplit_once('@').map(|(u, _)| u)
    }

    fn hostinfo(&self) -> &str {
        self.netloc
            .rsplit_once('@')
            .map_or(self.netloc.as_str(), |(_, h)| h)
    }

    fn username(&self) -> Option<String> {
        self.userinfo()
            .map(|u| u.split_once(':').map_or(u, |(n, _)| n).to_string())
    }

    fn password(&self) -> Option<String> {
        self.userinfo()
            .and_then(|u| u.split_once(':'))
            .map(|(_, p)| p.to_string())
    }

    /// (hostname, port text) of the host part; `[v6]` brackets are removed.
    fn host_port(&self) -> (&str, &str) {
        let h = self.hostinfo();
        if let Some(inner) = h.strip_prefix('[') {
            let (host, after) = inner.split_once(']').unwrap_or((inner, ""));
            return (host, after.strip_prefix(':').unwrap_or(""));
        }
        h.split_once(':').unwrap_or((h, ""))
    }

    fn hostname(&self) -> Option<String> {
        let (host, _) = self.host_port();
        (!host.is_empty()).then(|| host.to_lowercase())
    }

    fn port(&self) -> Result<Option<u16>, Error> {
        let (_, port) = self.host_port();
        if port.is_empty() {
            return Ok(None);
        }
        match port.parse::<u16>() {
            Ok(p) if port.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(p)),
            Ok(_) => Err(err(format!(
                "Port could not be cast to integer value as {port:?}"
            ))),
            Err(_) => Err(err(format!(
                "Port out of range 0-65535 or not an integer: {port:?}"
            ))),
        }
    }

    /// The components in the order Ansible's dict has them (alphabetical).
    fn components(&self) -> Result<Vec<(&'static str, Value)>, Error> {
        let opt = |o: Option<String>| o.map_or(Value::from(()), Value::from);
        Ok(vec![
            ("fragment", Value::from(self.fragment.as_str())),
            ("hostname", opt(self.hostname())),
            ("netloc", Value::from(self.netloc.as_str())),
            ("password", opt(self.password())),
            ("path", Value::from(self.path.as_str())),
            ("port", self.port()?.map_or(Value::from(()), Value::from)),
            ("query", Value::from(self.query.as_str())),
            ("scheme", Value::from(self.scheme.as_str())),
            ("username", opt(self.username())),
        ])
    }
}

/// `urlsplit(query='')`: the whole dict, or the one component named.
fn urlsplit(v: &Value, query: Option<String>) -> Result<Value, Error> {
    let parts = split(&text(v)?);
    let components = parts.components()?;
    match query.filter(|q| !q.is_empty()) {
        None => Ok(Value::from_pairs(
            components.into_iter().map(|(k, v)| (Value::from(k), v)),
        )),
        Some(q) => components
            .into_iter()
            .find(|(k, _)| *k == q)
            .map(|(_, v)| v)
            .ok_or_else(|| err(format!("urlsplit: unknown URL component: {q}"))),
    }
}

/// `uri(schemes=None)` / `url(schemes=None)`: a URL also needs a netloc (or the `file` scheme).
fn is_uri(v: &Value, kwargs: Kwargs, url: bool) -> Result<bool, Error> {
    let schemes: Option<Vec<String>> = kwargs.get("schemes")?;
    kwargs.assert_all_used()?;
    let Ok(s) = text(v) else { return Ok(false) };
    let parts = split(&s);
    if schemes.is_some_and(|list| !list.contains(&parts.scheme)) {
        return Ok(false);
    }
    Ok(!url || !parts.netloc.is_empty() || parts.scheme == "file")
}

#[cfg(test)]
mod tests {
    use super::super::tests::eval;
    use super::*;
    use serde_json::json;

    const URL: &str = "http://mary:MySecret@www.acme.com:9000/dir/index.html?query=term#fragment";

    #[test]
    fn urldecode_is_unquote_plus() {
        assert_eq!(unquote_plus("a+b%20c%C3%A9%zz%"), "a b cé%zz%");
        assert_eq!(
            eval("'key%3D%22%40%7B%7D%C3%A9' | urldecode", json!({})),
            json!("key=\"@{}é")
        );
    }

    #[test]
    fn urlencode_matches_jinja2() {
        let s = "key=\"@{}é&%£ foo bar '(;\\<>\"\"°)";
        assert_eq!(
            eval("s | urlencode", json!({"s": s})),
            json!("key%3D%22%40%7B%7D%C3%A9%26%25%C2%A3%20foo%20bar%20%27%28%3B%5C%3C%3E%22%22%C2%B0%29")
        );
        assert_eq!(
            eval("{'foo': 'bar', 'baz': 'buz'} | urlencode", json!({})),
            json!("foo=bar&baz=buz")
        );
        assert_eq!(eval("() | urlencode", json!({})), json!(""));
        assert_eq!(eval("'a b/c~' | urlencode", json!({})), json!("a%20b/c~"));
        assert_eq!(
            eval("{'a b': 'c/d'} | urlencode", json!({})),
            json!("a+b=c%2Fd")
        );
        assert_eq!(eval("[('a', 1)] | urlencode", json!({})), json!("a=1"));
    }

    #[test]
    fn urlsplit_whole_and_parts() {
        let all = eval("u | urlsplit", json!({"u": URL}));
        assert_eq!(
            all,
            json!({"fragment": "fragment", "hostname": "www.acme.com",
                "netloc": "mary:MySecret@www.acme.com:9000", "password": "MySecret",
                "path": "/dir/index.html", "port": 9000, "query": "query=term",
                "scheme": "http", "username": "mary"})
        );
        assert_eq!(eval("u | urlsplit('port')", json!({"u": URL})), json!(9000));
        let bare = eval("'/x?y' | urlsplit", json!({}));
        assert_eq!(bare["hostname"], json!(null));
        assert_eq!(bare["path"], json!("/x"));
        assert_eq!(bare["query"], json!("y"));
        let e = super::super::tests::eval_err("u | urlsplit('bad')", json!({"u": URL}));
        assert!(e.message.contains("unknown URL component: bad"), "{e}");
    }

    #[test]
    fn uri_tests() {
        assert_eq!(eval("'http://a/b' is url", json!({})), json!(true));
        assert_eq!(eval("'mailto:x' is url", json!({})), json!(false));
        assert_eq!(eval("'mailto:x' is uri", json!({})), json!(true));
        assert_eq!(eval("'urn:isbn:1' is urn", json!({})), json!(true));
        assert_eq!(
            eval("'ftp://a' is uri(schemes=['http'])", json!({})),
            json!(false)
        );
    }
}

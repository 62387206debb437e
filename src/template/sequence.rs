//! `lookup('sequence', ...)` / `with_sequence:` as Ansible's `sequence.py`: the `key=value`
//! form (`start=0 end=32 stride=4 format=testuser%02x`, `count=`) and the shortcut
//! `[start-]end[/stride][:format]`; keyword arguments apply to every term, a term's own values
//! win. Numbers are decimal; the format is Python's `%` with one integer.

use super::filters::err;
use super::lookups::term_text;
use minijinja::value::{Kwargs, Value};
use minijinja::Error;

#[derive(Clone, Default)]
struct Opts {
    start: Option<String>,
    end: Option<String>,
    stride: Option<String>,
    count: Option<String>,
    format: Option<String>,
}

impl Opts {
    fn set(&mut self, key: &str, value: String) -> bool {
        let slot = match key {
            "start" => &mut self.start,
            "end" => &mut self.end,
            "stride" => &mut self.stride,
            "count" => &mut self.count,
            "format" => &mut self.format,
            _ => return false,
        };
        *slot = Some(value);
        true
    }
}

pub(super) fn lookup_sequence(terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let mut base = Opts::default();
    for key in ["start", "end", "stride", "count", "format"] {
        if let Some(v) = kwargs.get::<Option<Value>>(key)? {
            base.set(key, term_text(&v)?);
        }
    }
    let any_kwarg = base.start.is_some()
        || base.end.is_some()
        || base.stride.is_some()
        || base.count.is_some()
        || base.format.is_some();
    let terms: Vec<String> = if terms.is_empty() && any_kwarg {
        vec![String::new()]
    } else {
        terms.iter().map(term_text).collect::<Result<_, _>>()?
    };
    let mut out = Vec::new();
    for term in terms {
        let mut o = base.clone();
        if !parse_shortcut(&term, &mut o) {
            parse_kv_args(&term, &mut o)?;
        }
        generate(&o, &mut out)?;
    }
    Ok(out)
}

/// `[start-]end[/stride][:format]`, numbers matching `0?x?[0-9a-f]+` (case-insensitive).
fn parse_shortcut(term: &str, o: &mut Opts) -> bool {
    let (body, format) = match term.split_once(':') {
        Some((b, f)) if !f.is_empty() => (b, Some(f)),
        Some(_) => return false,
        None => (term, None),
    };
    let (range, stride) = match body.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (body, None),
    };
    let (start, end) = match range.split_once('-') {
        Some((s, e)) => (Some(s), e),
        None => (None, range),
    };
    let num = |s: &str| {
        let rest = s.strip_prefix('0').unwrap_or(s);
        let rest = rest.strip_prefix(['x', 'X']).unwrap_or(rest);
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit())
    };
    if !num(end) || !start.is_none_or(num) || !stride.is_none_or(num) {
        return false;
    }
    for (k, v) in [
        ("start", start),
        ("end", Some(end)),
        ("stride", stride),
        ("format", format),
    ] {
        if let Some(v) = v {
            o.set(k, v.to_string());
        }
    }
    true
}

fn parse_kv_args(term: &str, o: &mut Opts) -> Result<(), Error> {
    let mut unknown = Vec::new();
    for word in crate::playbook::kv::split_args(term) {
        match word.split_once('=') {
            Some((k, v)) if o.set(k, unquote(v)) => {}
            Some((k, _)) => unknown.push(format!("'{k}'")),
            None => unknown.push("'_raw_params'".to_string()),
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    Err(err(format!(
        "unrecognized arguments to with_sequence: [{}]",
        unknown.join(", ")
    )))
}

fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

fn int_opt(name: &str, v: &Option<String>, default: Option<i64>) -> Result<Option<i64>, Error> {
    match v {
        None => Ok(default),
        Some(s) => s.trim().parse::<i64>().map(Some).map_err(|_| {
            err(format!(
                "Config '{name}' for 'sequence' lookup plugin from 'Direct' has an invalid value: Invalid value provided for 'integer': '{s}'"
            ))
        }),
    }
}

/// Ansible's `sanity_check` and `generate_sequence`.
fn generate(o: &Opts, out: &mut Vec<Value>) -> Result<(), Error> {
    let start = int_opt("start", &o.start, Some(1))?.unwrap_or(1);
    let end = int_opt("end", &o.end, None)?;
    let stride = int_opt("stride", &o.stride, Some(1))?.unwrap_or(1);
    let count = int_opt("count", &o.count, None)?;
    let format = o.format.clone().unwrap_or_else(|| "%d".to_string());
    let end = match (count, end) {
        (None, None) => return Err(err("must specify count or end in with_sequence")),
        (Some(_), Some(_)) => return Err(err("can't specify both count and end in with_sequence")),
        (Some(0), None) => return Ok(()),
        (Some(c), None) => start + c * stride - 1,
        (None, Some(e)) => e,
    };
    if stride > 0 && end < start {
        return Err(err("to count backwards make stride negative"));
    }
    if stride < 0 && end > start {
        return Err(err("to count forward don't make stride negative"));
    }
    if stride == 0 {
        return Ok(());
    }
    if format.matches('%').count() != 1 {
        return Err(err(format!("bad formatting string: {format}")));
    }
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        let s = py_format_int(&format, i)
            .ok_or_else(|| err(format!("problem formatting {i} with '{format}'")))?;
        out.push(Value::from(s));
        if out.len() > 1_000_000 {
            return Err(err("sequence: too many items"));
        }
        i += stride;
    }
    Ok(())
}

/// Python's `format % n` for a format with exactly one `%` conversion: flags `-+ 0#`, width,
/// precision, and `d i u x X o s r c f F e E g G`. `None` for anything Python rejects.
pub(super) fn py_format_int(format: &str, n: i64) -> Option<String> {
    let at = format.find('%')?;
    let (head, spec) = (&format[..at], &format[at + 1..]);
    let flags: String = spec.chars().take_while(|c| "-+ 0#".contains(*c)).collect();
    let rest = &spec[flags.len()..];
    let width_s: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let rest = &rest[width_s.len()..];
    let (precision, rest) = match rest.strip_prefix('.') {
        Some(r) => {
            let p: String = r.chars().take_while(char::is_ascii_digit).collect();
            (Some(p.parse::<usize>().unwrap_or(0)), &r[p.len()..])
        }
        None => (None, rest),
    };
    let mut chars = rest.chars();
    let conv = chars.next()?;
    let tail = chars.as_str();
    let alt = flags.contains('#');
    let (neg, mag) = (n < 0, n.unsigned_abs());
    let digits = match conv {
        'd' | 'i' | 'u' => mag.to_string(),
        'x' => format!("{}{mag:x}", if alt { "0x" } else { "" }),
        'X' => format!("{}{mag:X}", if alt { "0X" } else { "" }),
        'o' => format!("{}{mag:o}", if alt { "0o" } else { "" }),
        's' | 'r' => {
            let s = n.to_string();
            return Some(format!("{head}{}{tail}", pad(&s, &flags, &width_s, false)));
        }
        'c' => {
            let c = char::from_u32(u32::try_from(n).ok()?)?;
            return Some(format!(
                "{head}{}{tail}",
                pad(&c.to_string(), &flags, &width_s, false)
            ));
        }
        'f' | 'F' => format!("{:.*}", precision.unwrap_or(6), mag as f64),
        'e' | 'E' => {
            let s = py_exp(mag as f64, precision.unwrap_or(6));
            if conv == 'E' {
                s.to_uppercase()
            } else {
                s
            }
        }
        'g' | 'G' => mag.to_string(),
        _ => return None,
    };
    let digits = match (conv, precision) {
        ('d' | 'i' | 'u' | 'x' | 'X' | 'o', Some(p)) if digits.len() < p => {
            format!("{}{digits}", "0".repeat(p - digits.len()))
        }
        _ => digits,
    };
    let sign = if neg {
        "-"
    } else if flags.contains('+') {
        "+"
    } else if flags.contains(' ') {
        " "
    } else {
        ""
    };
    Some(format!(
        "{head}{}{tail}",
        pad_number(sign, &digits, &flags, &width_s)
    ))
}

fn py_exp(x: f64, precision: usize) -> String {
    let s = format!("{x:.precision$e}");
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, e) = match e.strip_prefix('-') {
                Some(e) => ('-', e),
                None => ('+', e),
            };
            format!("{m}e{sign}{e:0>2}")
        }
        None => s,
    }
}

fn pad(s: &str, flags: &str, width: &str, _num: bool) -> String {
    let width: usize = width.parse().unwrap_or(0);
    if flags.contains('-') {
        format!("{s:<width$}")
    } else {
        format!("{s:>width$}")
    }
}

fn pad_number(sign: &str, digits: &str, flags: &str, width: &str) -> String {
    let width: usize = width.parse().unwrap_or(0);
    let len = sign.len() + digits.len();
    if flags.contains('-') {
        return format!("{sign}{digits}{}", " ".repeat(width.saturating_sub(len)));
    }
    if flags.contains('0') {
        return format!("{sign}{}{digits}", "0".repeat(width.saturating_sub(len)));
    }
    format!("{}{sign}{digits}", " ".repeat(width.saturating_sub(len)))
}

#[cfg(test)]
mod tests {
    use super::py_format_int;
    use crate::template::tests::{eval, eval_err};
    use serde_json::json;

    fn q(expr: &str) -> serde_json::Value {
        eval(expr, json!({}))
    }

    #[test]
    fn forms_ansible_accepts() {
        assert_eq!(
            q("query('sequence', 'start=1 end=3')"),
            json!(["1", "2", "3"])
        );
        assert_eq!(
            q("query('sequence', 'start=0 end=32 stride=4 format=testuser%02x')"),
            json!([
                "testuser00",
                "testuser04",
                "testuser08",
                "testuser0c",
                "testuser10",
                "testuser14",
                "testuser18",
                "testuser1c",
                "testuser20"
            ])
        );
        assert_eq!(
            q("query('sequence', '4:host%02d')"),
            json!(["host01", "host02", "host03", "host04"])
        );
        assert_eq!(q("query('sequence', '2-6/2')"), json!(["2", "4", "6"]));
        assert_eq!(
            q("query('sequence', '7-8:host%02d')"),
            json!(["host07", "host08"])
        );
        assert_eq!(
            q("query('sequence', 'start=3 end=0 stride=-1')"),
            json!(["3", "2", "1", "0"])
        );
        assert_eq!(q("query('sequence', 'count=0')"), json!([]));
        assert_eq!(
            q("query('sequence', 'count=3 start=5 stride=-1')"),
            json!(["5", "4", "3", "2", "1"])
        );
        assert_eq!(
            q("query('sequence', count=5, start=10)"),
            json!(["10", "11", "12", "13", "14"])
        );
        assert_eq!(
            q("query('sequence', 'count=5 start=1', 'count=3 start=10 stride=2')"),
            json!(["1", "2", "3", "4", "5", "10", "12", "14"])
        );
        assert_eq!(
            q("query('sequence', 'count=5 start=0', 'count=5 start=20', stride=2)"),
            json!(["0", "2", "4", "6", "8", "20", "22", "24", "26", "28"])
        );
        assert_eq!(
            q("query('sequence', 'count=5 start=0', stride=0)"),
            json!([])
        );
        assert_eq!(
            q("query('sequence', 'count=5 start=0', stride=-1)"),
            json!(["0", "-1", "-2", "-3", "-4", "-5", "-6"])
        );
        assert_eq!(
            q("query('sequence', 'count=5 start=0', 'count=5', start=20)"),
            json!(["0", "1", "2", "3", "4", "20", "21", "22", "23", "24"])
        );
        assert_eq!(q("query('sequence')"), json!([]));
    }

    #[test]
    fn errors_name_the_problem() {
        let e = |s: &str| eval_err(&format!("query('sequence', '{s}')"), json!({})).message;
        assert!(e("start=0 junk=3").contains("unrecognized arguments to with_sequence: ['junk']"));
        assert!(e("start=A end=3").contains("has an invalid value"));
        assert!(e("A-4/2").contains("has an invalid value"));
        assert!(
            e("1-B/2").contains("unrecognized arguments")
                || e("1-B/2").contains("has an invalid value")
        );
        assert!(e("1-4/C").contains("has an invalid value"));
        assert!(e("start=1").contains("must specify count or end in with_sequence"));
        assert!(e("start=1 end=4 count=2")
            .contains("can't specify both count and end in with_sequence"));
        assert!(e("start=4 end=1 stride=2").contains("to count backwards make stride negative"));
        assert!(
            e("start=1 end=4 stride=-2").contains("to count forward don't make stride negative")
        );
        assert!(e("start=1 end=4 format=d").contains("bad formatting string: d"));
    }

    #[test]
    fn python_percent_format() {
        assert_eq!(py_format_int("%d", -5).as_deref(), Some("-5"));
        assert_eq!(py_format_int("h%03d!", 7).as_deref(), Some("h007!"));
        assert_eq!(py_format_int("%-4d|", 7).as_deref(), Some("7   |"));
        assert_eq!(py_format_int("%#x", 255).as_deref(), Some("0xff"));
        assert_eq!(py_format_int("%5.2f", 1).as_deref(), Some(" 1.00"));
        assert_eq!(py_format_int("%e", 1).as_deref(), Some("1.000000e+00"));
        assert_eq!(py_format_int("%q", 1), None);
    }
}

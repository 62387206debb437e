//! Python's `ast.literal_eval`, as Ansible's INI inventory plugin applies it to every `key=value`
//! value: `22` becomes an integer, `True` a boolean, `'x'` a string without its quotes,
//! `[1, 2]` a list; anything that is not a Python literal (`yes`, `0644`, `hello world`) stays the
//! string it was written as.
//!
//! Only literal syntax is accepted, exactly like Python: numbers, strings (with prefixes and
//! escapes, adjacent ones concatenated), `True`/`False`/`None`, lists, tuples, sets, dicts,
//! `set()`, unary signs on numbers and `real ± imaginary`. Tuples and sets become lists, complex
//! numbers and `...` become strings (as Ansible converts them).

use serde_json::{Map, Number, Value};

/// Deepest nesting of brackets accepted; deeper input stays a string instead of recursing.
const MAX_DEPTH: usize = 64;

/// The value Ansible's INI plugin gives `text`: the Python literal it spells, or the text itself.
pub fn parse_value(text: &str) -> Value {
    literal_eval(text).unwrap_or_else(|| Value::String(text.to_string()))
}

/// `ast.literal_eval(text)` converted to JSON, or `None` where Python raises.
pub fn literal_eval(text: &str) -> Option<Value> {
    if text.contains('\0') {
        return None;
    }
    let mut p = Parser {
        s: text.trim_start_matches([' ', '\t']).as_bytes(),
        src: text.trim_start_matches([' ', '\t']),
        i: 0,
        depth: 0,
    };
    let ast = p.top()?;
    convert(&ast)
}

#[derive(Debug, Clone)]
enum Const {
    Int(Value),
    Float(f64),
    Imag(f64),
    Str(String),
    Bytes(Vec<u8>),
    Bool(bool),
    None,
    Ellipsis,
}

#[derive(Debug, Clone)]
enum Ast {
    Const(Const),
    List(Vec<Ast>),
    Tuple(Vec<Ast>),
    Set(Vec<Ast>),
    Dict(Vec<(Ast, Ast)>),
    EmptySetCall,
    Unary(u8, Box<Ast>),
    Bin(Box<Ast>, u8, Box<Ast>),
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skip blanks; inside brackets newlines too. Comments run to the end of the line.
    fn ws(&mut self, in_brackets: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\x0c' => self.i += 1,
                b'\n' | b'\r' if in_brackets => self.i += 1,
                b'#' => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn top(&mut self) -> Option<Ast> {
        self.ws(false);
        let first = self.expr(false)?;
        self.ws(false);
        let ast = if self.peek() == Some(b',') {
            // A bare tuple: `1, 2`.
            let mut items = vec![first];
            while self.peek() == Some(b',') {
                self.i += 1;
                self.ws(false);
                if self.at_end_of_top() {
                    break;
                }
                items.push(self.expr(false)?);
                self.ws(false);
            }
            Ast::Tuple(items)
        } else {
            first
        };
        self.ws(false);
        // A trailing newline is fine in eval mode; anything else is a syntax error.
        while matches!(self.peek(), Some(b'\n' | b'\r')) {
            self.i += 1;
            self.ws(false);
        }
        (self.i == self.s.len()).then_some(ast)
    }

    fn at_end_of_top(&self) -> bool {
        self.s[self.i..].iter().all(|c| matches!(c, b'\n' | b'\r'))
    }

    /// `a (+|-) b (+|-) c ...`, left-associative, over unary expressions.
    fn expr(&mut self, nested: bool) -> Option<Ast> {
        let mut left = self.unary(nested)?;
        loop {
            self.ws(nested);
            match self.peek() {
                Some(op @ (b'+' | b'-')) => {
                    self.i += 1;
                    self.ws(nested);
                    let right = self.unary(nested)?;
                    left = Ast::Bin(Box::new(left), op, Box::new(right));
                }
                _ => return Some(left),
            }
        }
    }

    fn unary(&mut self, nested: bool) -> Option<Ast> {
        match self.peek()? {
            op @ (b'+' | b'-') => {
                self.i += 1;
                self.ws(nested);
                self.enter()?;
                let operand = self.unary(nested);
                self.depth -= 1;
                Some(Ast::Unary(op, Box::new(operand?)))
            }
            _ => self.atom(),
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn atom(&mut self) -> Option<Ast> {
        let c = self.peek()?;
        match c {
            b'[' => {
                self.i += 1;
                self.enter()?;
                let items = self.items(b']');
                self.depth -= 1;
                Some(Ast::List(items?))
            }
            b'(' => {
                self.i += 1;
                self.enter()?;
                let r = self.paren();
                self.depth -= 1;
                r
            }
            b'{' => {
                self.i += 1;
                self.enter()?;
                let r = self.brace();
                self.depth -= 1;
                r
            }
            b'\'' | b'"' => self.strings(),
            b'0'..=b'9' => self.number(),
            b'.' => {
                if self.s[self.i..].starts_with(b"...") {
                    self.i += 3;
                    Some(Ast::Const(Const::Ellipsis))
                } else {
                    self.number()
                }
            }
            c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => self.name_or_string(),
            _ => None,
        }
    }

    /// Comma-separated expressions up to `close`, trailing comma allowed.
    fn items(&mut self, close: u8) -> Option<Vec<Ast>> {
        let mut items = Vec::new();
        loop {
            self.ws(true);
            if self.peek() == Some(close) {
                self.i += 1;
                return Some(items);
            }
            items.push(self.expr(true)?);
            self.ws(true);
            match self.peek()? {
                b',' => self.i += 1,
                c if c == close => {
                    self.i += 1;
                    return Some(items);
                }
                _ => return None,
            }
        }
    }

    fn paren(&mut self) -> Option<Ast> {
        self.ws(true);
        if self.peek() == Some(b')') {
            self.i += 1;
            return Some(Ast::Tuple(Vec::new()));
        }
        let first = self.expr(true)?;
        self.ws(true);
        match self.peek()? {
            b')' => {
                self.i += 1;
                Some(first) // parentheses only group
            }
            b',' => {
                self.i += 1;
                let mut rest = self.items(b')')?;
                rest.insert(0, first);
                Some(Ast::Tuple(rest))
            }
            _ => None,
        }
    }

    fn brace(&mut self) -> Option<Ast> {
        self.ws(true);
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(Ast::Dict(Vec::new()));
        }
        let first = self.expr(true)?;
        self.ws(true);
        if self.peek() == Some(b':') {
            let mut entries = Vec::new();
            let mut key = first;
            loop {
                // at ':'
                self.i += 1;
                self.ws(true);
                let value = self.expr(true)?;
                entries.push((key, value));
                self.ws(true);
                match self.peek()? {
                    b'}' => {
                        self.i += 1;
                        return Some(Ast::Dict(entries));
                    }
                    b',' => {
                        self.i += 1;
                        self.ws(true);
                        if self.peek() == Some(b'}') {
                            self.i += 1;
                            return Some(Ast::Dict(entries));
                        }
                        key = self.expr(true)?;
                        self.ws(true);
                        if self.peek() != Some(b':') {
                            return None;
                        }
                    }
                    _ => return None,
                }
            }
        }
        match self.peek()? {
            b'}' => {
                self.i += 1;
                Some(Ast::Set(vec![first]))
            }
            b',' => {
                self.i += 1;
                let mut rest = self.items(b'}')?;
                rest.insert(0, first);
                Some(Ast::Set(rest))
            }
            _ => None,
        }
    }

    fn ident(&mut self) -> &str {
        let start = self.i;
        let rest = &self.src[start..];
        let len = rest
            .char_indices()
            .find(|&(_, ch)| !(ch == '_' || ch.is_alphanumeric()))
            .map_or(rest.len(), |(i, _)| i);
        self.i += len;
        &self.src[start..start + len]
    }

    fn name_or_string(&mut self) -> Option<Ast> {
        let start = self.i;
        let name = self.ident().to_string();
        if matches!(self.peek(), Some(b'\'' | b'"')) {
            self.i = start;
            return self.strings();
        }
        match name.as_str() {
            "True" => Some(Ast::Const(Const::Bool(true))),
            "False" => Some(Ast::Const(Const::Bool(false))),
            "None" => Some(Ast::Const(Const::None)),
            "set" => {
                self.ws(false);
                if self.peek() != Some(b'(') {
                    return None;
                }
                self.i += 1;
                self.ws(true);
                if self.peek() != Some(b')') {
                    return None;
                }
                self.i += 1;
                Some(Ast::EmptySetCall)
            }
            _ => None,
        }
    }

    /// One or more adjacent string literals, concatenated (all text or all bytes).
    fn strings(&mut self) -> Option<Ast> {
        let mut text: Option<String> = None;
        let mut bytes: Option<Vec<u8>> = None;
        loop {
            let start = self.i;
            let prefix = self.ident().to_ascii_lowercase();
            let (raw, is_bytes) = match prefix.as_str() {
                "" | "u" => (false, false),
                "r" => (true, false),
                "b" => (false, true),
                "br" | "rb" => (true, true),
                _ => {
                    self.i = start;
                    return None;
                }
            };
            let quote = match self.peek() {
                Some(q @ (b'\'' | b'"')) => q,
                _ => return None,
            };
            let body = self.string_body(quote, raw, is_bytes)?;
            if is_bytes {
                if text.is_some() {
                    return None;
                }
                bytes.get_or_insert_with(Vec::new).extend(body);
            } else {
                if bytes.is_some() {
                    return None;
                }
                let s = String::from_utf8(body).ok()?;
                text.get_or_insert_with(String::new).push_str(&s);
            }
            // Another literal may follow (`'a' 'b'`).
            let save = self.i;
            self.ws(self.depth > 0);
            let next_is_string = {
                let rest = &self.s[self.i..];
                let plen = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
                let p = std::str::from_utf8(&rest[..plen])
                    .unwrap_or("")
                    .to_ascii_lowercase();
                matches!(rest.get(plen), Some(b'\'' | b'"'))
                    && matches!(p.as_str(), "" | "u" | "r" | "b" | "br" | "rb")
            };
            if !next_is_string {
                self.i = save;
                break;
            }
        }
        Some(Ast::Const(match (text, bytes) {
            (Some(t), None) => Const::Str(t),
            (None, Some(b)) => Const::Bytes(b),
            _ => return None,
        }))
    }

    /// The body of one quoted literal starting at its opening quote, unescaped, as UTF-8 bytes
    /// (raw bytes for `b''`).
    fn string_body(&mut self, quote: u8, raw: bool, is_bytes: bool) -> Option<Vec<u8>> {
        let triple = self.s[self.i..].starts_with(&[quote, quote, quote]);
        self.i += if triple { 3 } else { 1 };
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek()?;
            if c == quote {
                if !triple {
                    self.i += 1;
                    return Some(out);
                }
                if self.s[self.i..].starts_with(&[quote, quote, quote]) {
                    self.i += 3;
                    return Some(out);
                }
                out.push(c);
                self.i += 1;
                continue;
            }
            if (c == b'\n' || c == b'\r') && !triple {
                return None;
            }
            if is_bytes && c >= 0x80 {
                return None; // bytes literals may only hold ASCII
            }
            if c != b'\\' {
                // Copy one whole UTF-8 character.
                let ch = self.src[self.i..].chars().next()?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                self.i += ch.len_utf8();
                continue;
            }
            // A backslash.
            let next = *self.s.get(self.i + 1)?;
            if raw {
                // Raw strings keep the backslash, but `\'` does not end the string.
                out.push(b'\\');
                self.i += 1;
                if next == quote || next == b'\\' {
                    out.push(next);
                    self.i += 1;
                }
                continue;
            }
            self.i += 2;
            let simple = match next {
                b'\n' => Some(None),
                b'\\' => Some(Some(b'\\')),
                b'\'' => Some(Some(b'\'')),
                b'"' => Some(Some(b'"')),
                b'a' => Some(Some(7)),
                b'b' => Some(Some(8)),
                b'f' => Some(Some(12)),
                b'n' => Some(Some(b'\n')),
                b'r' => Some(Some(b'\r')),
                b't' => Some(Some(b'\t')),
                b'v' => Some(Some(11)),
                _ => None,
            };
            if let Some(byte) = simple {
                out.extend(byte);
                continue;
            }
            match next {
                b'0'..=b'7' => {
                    let mut v = u32::from(next - b'0');
                    for _ in 0..2 {
                        match self.peek() {
                            Some(d @ b'0'..=b'7') => {
                                v = v * 8 + u32::from(d - b'0');
                                self.i += 1;
                            }
                            _ => break,
                        }
                    }
                    push_code(&mut out, if is_bytes { v & 0xff } else { v }, is_bytes)?;
                }
                b'x' => {
                    let v = self.hex_digits(2)?;
                    push_code(&mut out, v, is_bytes)?;
                }
                b'u' | b'U' if !is_bytes => {
                    let v = self.hex_digits(if next == b'u' { 4 } else { 8 })?;
                    push_code(&mut out, v, false)?;
                }
                b'N' if !is_bytes => return None, // named escapes need Unicode's name table
                _ => {
                    // Unknown escapes keep their backslash.
                    out.push(b'\\');
                    self.i -= 1;
                }
            }
        }
    }

    fn hex_digits(&mut self, n: usize) -> Option<u32> {
        let digits = self.s.get(self.i..self.i + n)?;
        let text = std::str::from_utf8(digits).ok()?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.i += n;
        u32::from_str_radix(text, 16).ok()
    }

    fn number(&mut self) -> Option<Ast> {
        let start = self.i;
        let is_hex = self.s[start..].len() > 1
            && self.s[start] == b'0'
            && matches!(self.s[start + 1], b'x' | b'X');
        while let Some(c) = self.peek() {
            let prev = if self.i > start {
                Some(self.s[self.i - 1])
            } else {
                None
            };
            let sign_in_exponent =
                (c == b'+' || c == b'-') && matches!(prev, Some(b'e' | b'E')) && !is_hex;
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || sign_in_exponent {
                self.i += 1;
            } else {
                break;
            }
        }
        let tok = &self.src[start..self.i];
        number_literal(tok).map(Ast::Const)
    }
}

fn push_code(out: &mut Vec<u8>, v: u32, is_bytes: bool) -> Option<()> {
    if is_bytes {
        out.push(u8::try_from(v).ok()?);
    } else {
        let ch = char::from_u32(v)?;
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    Some(())
}

/// Digits with single underscores between them (`1_000`).
fn digit_part(s: &str, radix: u32) -> bool {
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.chars().all(|c| c == '_' || c.is_digit(radix))
}

fn number_literal(tok: &str) -> Option<Const> {
    let lower = tok.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(body) = lower.strip_prefix(prefix) {
            // Python allows one underscore right after the prefix: `0x_ff`.
            let body = body.strip_prefix('_').unwrap_or(body);
            if !digit_part(body, radix) {
                return None;
            }
            return Some(Const::Int(int_value(&body.replace('_', ""), radix, tok)));
        }
    }
    if let Some(body) = lower.strip_suffix('j') {
        return float_syntax(body)
            .or_else(|| digit_part(body, 10).then_some(()))
            .and_then(|_| {
                let v: f64 = body.replace('_', "").parse().ok()?;
                Some(Const::Imag(v))
            });
    }
    if digit_part(&lower, 10) {
        let clean = lower.replace('_', "");
        // Leading zeros are a syntax error in Python 3 (`0644`), except for zero itself.
        if clean.len() > 1 && clean.starts_with('0') && clean.bytes().any(|b| b != b'0') {
            return None;
        }
        return Some(Const::Int(int_value(&clean, 10, tok)));
    }
    float_syntax(&lower)?;
    let v: f64 = lower.replace('_', "").parse().ok()?;
    Some(Const::Float(v))
}

/// Whether `s` is a Python float literal (`1.5`, `.5`, `5.`, `1e3`, `1_0.2e-1`).
fn float_syntax(s: &str) -> Option<()> {
    let (mantissa, exponent) = match s.find('e') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    if let Some(exp) = exponent {
        let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if !digit_part(exp, 10) {
            return None;
        }
    }
    let ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (int.is_empty() && digit_part(frac, 10))
                || (digit_part(int, 10) && (frac.is_empty() || digit_part(frac, 10)))
        }
        None => exponent.is_some() && digit_part(mantissa, 10),
    };
    ok.then_some(())
}

/// An integer as JSON; integers beyond 64 bits (Python has no limit) stay the text written.
fn int_value(digits: &str, radix: u32, original: &str) -> Value {
    if let Ok(v) = i64::from_str_radix(digits, radix) {
        Value::from(v)
    } else if let Ok(v) = u64::from_str_radix(digits, radix) {
        Value::from(v)
    } else {
        Value::String(original.to_string())
    }
}

/// Python's `float.__repr__` for the cases that matter here (used for complex numbers and
/// float dict keys).
fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{f:?}");
    s
}

fn complex_str(re: f64, im: f64) -> String {
    let num = |f: f64| {
        if f.fract() == 0.0 && f.abs() < 1e16 {
            format!("{}", f as i64)
        } else {
            py_float(f)
        }
    };
    if re == 0.0 && re.is_sign_positive() {
        return format!("{}j", num(im));
    }
    let sign = if im < 0.0 || (im == 0.0 && im.is_sign_negative()) {
        '-'
    } else {
        '+'
    };
    format!("({}{}{}j)", num(re), sign, num(im.abs()))
}

fn number_value(c: &Const) -> Option<Num> {
    match c {
        Const::Int(Value::Number(n)) => Some(Num::Int(n.clone())),
        Const::Float(f) => Some(Num::Float(*f)),
        Const::Imag(f) => Some(Num::Complex(0.0, *f)),
        _ => None,
    }
}

enum Num {
    Int(Number),
    Float(f64),
    Complex(f64, f64),
}

impl Num {
    fn as_f64(&self) -> f64 {
        match self {
            Num::Int(n) => n.as_f64().unwrap_or(0.0),
            Num::Float(f) => *f,
            Num::Complex(re, _) => *re,
        }
    }

    fn to_value(&self) -> Option<Value> {
        match self {
            Num::Int(n) => Some(Value::Number(n.clone())),
            Num::Float(f) => Number::from_f64(*f)
                .map(Value::Number)
                .or_else(|| Some(Value::String(py_float(*f)))),
            Num::Complex(re, im) => Some(Value::String(complex_str(*re, *im))),
        }
    }

    fn neg(self) -> Option<Num> {
        Some(match self {
            Num::Int(n) => {
                if let Some(i) = n.as_i64() {
                    Num::Int(Number::from(i.checked_neg()?))
                } else {
                    let u = n.as_u64()?;
                    if u == 1u64 << 63 {
                        Num::Int(Number::from(i64::MIN))
                    } else {
                        return None;
                    }
                }
            }
            Num::Float(f) => Num::Float(-f),
            Num::Complex(re, im) => Num::Complex(-re, -im),
        })
    }
}

/// `_convert_num`: a numeric constant (not a boolean), parentheses being transparent.
fn convert_num(ast: &Ast) -> Option<Num> {
    match ast {
        Ast::Const(c) => number_value(c),
        _ => None,
    }
}

/// `_convert_signed_num`: a number with at most one unary sign.
fn convert_signed_num(ast: &Ast) -> Option<Num> {
    match ast {
        Ast::Unary(op, operand) => {
            let n = convert_num(operand)?;
            if *op == b'-' {
                n.neg()
            } else {
                Some(n)
            }
        }
        _ => convert_num(ast),
    }
}

fn key_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn convert(ast: &Ast) -> Option<Value> {
    Some(match ast {
        Ast::Const(c) => match c {
            Const::Int(v) => v.clone(),
            Const::Float(_) | Const::Imag(_) => number_value(c)?.to_value()?,
            Const::Str(s) => Value::String(s.clone()),
            Const::Bytes(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
            Const::Bool(b) => Value::Bool(*b),
            Const::None => Value::Null,
            Const::Ellipsis => Value::String("...".into()),
        },
        Ast::List(items) | Ast::Tuple(items) => {
            Value::Array(items.iter().map(convert).collect::<Option<_>>()?)
        }
        Ast::Set(items) => {
            let mut out: Vec<Value> = Vec::new();
            for item in items {
                let v = convert(item)?;
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Value::Array(out)
        }
        Ast::EmptySetCall => Value::Array(Vec::new()),
        Ast::Dict(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                m.insert(key_string(&convert(k)?), convert(v)?);
            }
            Value::Object(m)
        }
        Ast::Bin(left, op, right) => {
            let l = convert_signed_num(left)?;
            let r = convert_num(right)?;
            match (&l, r) {
                (Num::Int(_) | Num::Float(_), Num::Complex(_, im)) => {
                    let im = if *op == b'-' { -im } else { im };
                    Value::String(complex_str(l.as_f64(), im))
                }
                _ => return None,
            }
        }
        Ast::Unary(..) => convert_signed_num(ast)?.to_value()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_literals() {
        assert_eq!(parse_value("22"), json!(22));
        assert_eq!(parse_value("-3"), json!(-3));
        assert_eq!(parse_value("1_000"), json!(1000));
        assert_eq!(parse_value("0x1f"), json!(31));
        assert_eq!(parse_value("1.5"), json!(1.5));
        assert_eq!(parse_value("True"), json!(true));
        assert_eq!(parse_value("False"), json!(false));
        assert_eq!(parse_value("None"), Value::Null);
        assert_eq!(parse_value("'quoted'"), json!("quoted"));
        assert_eq!(parse_value("\"a\" 'b'"), json!("ab"));
        assert_eq!(parse_value("'tab\\there'"), json!("tab\there"));
        assert_eq!(parse_value("r'a\\d'"), json!("a\\d"));
        assert_eq!(parse_value("[1, 'a', [True]]"), json!([1, "a", [true]]));
        assert_eq!(parse_value("(1,)"), json!([1]));
        assert_eq!(parse_value("1, 2"), json!([1, 2]));
        assert_eq!(parse_value("{'a': 1, 'b': [2]}"), json!({"a": 1, "b": [2]}));
        assert_eq!(parse_value("{1, 2, 1}"), json!([1, 2]));
        assert_eq!(parse_value("set()"), json!([]));
        assert_eq!(parse_value("1 # a comment"), json!(1));
        assert_eq!(parse_value("  7"), json!(7));
        assert_eq!(parse_value("1+2j"), json!("(1+2j)"));
        assert_eq!(parse_value("3j"), json!("3j"));
        assert_eq!(parse_value("..."), json!("..."));
        assert_eq!(parse_value("-(1)"), json!(-1));
    }

    #[test]
    fn non_literals_stay_strings() {
        for s in [
            "yes",
            "true",
            "FALSE",
            "0644",
            "hello world",
            "a=b",
            "1+2",
            "--1",
            "-True",
            "[a]",
            "f'x'",
            "1.2.3",
            "10.0.0.1",
            "web-01",
            "",
            "'unterminated",
            "{'a' 1}",
            "1_",
            "0x",
            "x'1'",
            "1 2",
            "-'a'",
            "/usr/bin/python3",
            "hello # comment",
        ] {
            assert_eq!(parse_value(s), json!(s), "{s:?}");
        }
    }

    #[test]
    fn deep_nesting_stays_a_string() {
        let s = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(parse_value(&s), json!(s));
    }
}

//! File modes as playbooks write them: octal (`"0644"`, `"644"`, `"0o644"`) or symbolic
//! (`u=rw,g=r,o=r`, `u+x`, `a-w`, `g=u`, `+X`).
//!
//! Symbolic modes are relative to the mode a file already has (and `X` depends on whether it is a
//! directory), so a [`ModeSpec`] is parsed once from the arguments and [`ModeSpec::apply`]ed to
//! each object's current mode. Like Ansible, a clause without a `who` part means `a` and the
//! umask is not consulted.

use std::fmt;

/// A parsed mode argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModeSpec {
    /// Absolute permission bits (`0o7777` at most).
    Octal(u32),
    /// Clauses applied in order to the current mode.
    Symbolic(Vec<Clause>),
}

/// One `who op perms` part of a symbolic mode (`ug+rw`), with possibly several operations
/// (`u=rw-x` is `u=rw` then `u-x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// Bit mask of `u` (4), `g` (2), `o` (1).
    pub who: u8,
    pub ops: Vec<(char, Perms)>,
}

/// What an operation grants or removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Perms {
    /// Letters among `rwxXst`.
    Letters(String),
    /// Copy the bits of `u`, `g` or `o` (`g=u`).
    Copy(char),
}

const WHO_U: u8 = 4;
const WHO_G: u8 = 2;
const WHO_O: u8 = 1;

impl ModeSpec {
    /// Parse a mode as written in a playbook.
    pub fn parse(text: &str) -> Result<ModeSpec, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("mode is empty".to_string());
        }
        let digits = t
            .strip_prefix("0o")
            .or_else(|| t.strip_prefix("0O"))
            .unwrap_or(t);
        if digits.bytes().all(|b| b.is_ascii_digit()) && !digits.is_empty() {
            let bits = u32::from_str_radix(digits, 8)
                .map_err(|_| format!("mode `{text}` is not a valid octal mode"))?;
            if bits > 0o7777 {
                return Err(format!("mode `{text}` is larger than 07777"));
            }
            return Ok(ModeSpec::Octal(bits));
        }
        let mut clauses = Vec::new();
        for part in t.split(',') {
            clauses.push(parse_clause(part).map_err(|e| {
                format!("mode `{text}` must be octal (0644) or symbolic (u=rw,g=r,o=r): {e}")
            })?);
        }
        Ok(ModeSpec::Symbolic(clauses))
    }

    /// The mode an object with `current` bits ends up with.
    pub fn apply(&self, current: u32, is_dir: bool) -> u32 {
        match self {
            ModeSpec::Octal(bits) => *bits,
            ModeSpec::Symbolic(clauses) => {
                let mut mode = current & 0o7777;
                for c in clauses {
                    for (op, perms) in &c.ops {
                        mode = apply_op(mode, c.who, *op, perms, is_dir);
                    }
                }
                mode
            }
        }
    }

    /// Whether the result does not depend on the current mode.
    pub fn is_absolute(&self) -> bool {
        matches!(self, ModeSpec::Octal(_))
    }
}

impl fmt::Display for ModeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModeSpec::Octal(b) => f.write_str(&format_mode(*b)),
            ModeSpec::Symbolic(_) => f.write_str("(symbolic)"),
        }
    }
}

/// A mode the way Ansible registers it: `"0644"`, `"0755"`, `"4755"`.
pub fn format_mode(bits: u32) -> String {
    format!("{:04o}", bits & 0o7777)
}

fn parse_clause(part: &str) -> Result<Clause, String> {
    let mut chars = part.chars().peekable();
    let mut who = 0u8;
    while let Some(&c) = chars.peek() {
        match c {
            'u' => who |= WHO_U,
            'g' => who |= WHO_G,
            'o' => who |= WHO_O,
            'a' => who |= WHO_U | WHO_G | WHO_O,
            _ => break,
        }
        chars.next();
    }
    if who == 0 {
        who = WHO_U | WHO_G | WHO_O;
    }
    let mut ops = Vec::new();
    while let Some(op) = chars.next() {
        if !matches!(op, '+' | '-' | '=') {
            return Err(format!("unexpected `{op}` in `{part}`"));
        }
        let mut letters = String::new();
        let mut copy = None;
        while let Some(&c) = chars.peek() {
            match c {
                'r' | 'w' | 'x' | 'X' | 's' | 't' if copy.is_none() => letters.push(c),
                'u' | 'g' | 'o' if letters.is_empty() && copy.is_none() => copy = Some(c),
                '+' | '-' | '=' => break,
                _ => return Err(format!("unexpected `{c}` in `{part}`")),
            }
            chars.next();
        }
        ops.push((
            op,
            match copy {
                Some(c) => Perms::Copy(c),
                None => Perms::Letters(letters),
            },
        ));
    }
    if ops.is_empty() {
        return Err(format!("`{part}` has no operator (+, - or =)"));
    }
    Ok(Clause { who, ops })
}

/// The rwx bits of `who` class `class` (4/2/1), shifted down to 0..7.
fn class_bits(mode: u32, class: u8) -> u32 {
    match class {
        WHO_U => (mode >> 6) & 7,
        WHO_G => (mode >> 3) & 7,
        _ => mode & 7,
    }
}

fn apply_op(mode: u32, who: u8, op: char, perms: &Perms, is_dir: bool) -> u32 {
    // The bits the operation is about, for every class in `who`.
    let mut mask = 0u32;
    match perms {
        Perms::Copy(c) => {
            let src = class_bits(
                mode,
                match c {
                    'u' => WHO_U,
                    'g' => WHO_G,
                    _ => WHO_O,
                },
            );
            for class in [WHO_U, WHO_G, WHO_O] {
                if who & class != 0 {
                    mask |= shift(src, class);
                }
            }
        }
        Perms::Letters(letters) => {
            let any_x = mode & 0o111 != 0;
            let mut rwx = 0u32;
            let mut special = 0u32;
            for l in letters.chars() {
                match l {
                    'r' => rwx |= 4,
                    'w' => rwx |= 2,
                    'x' => rwx |= 1,
                    'X' if is_dir || any_x => rwx |= 1,
                    's' => {
                        if who & WHO_U != 0 {
                            special |= 0o4000;
                        }
                        if who & WHO_G != 0 {
                            special |= 0o2000;
                        }
                    }
                    't' if who & WHO_O != 0 => special |= 0o1000,
                    _ => {}
                }
            }
            for class in [WHO_U, WHO_G, WHO_O] {
                if who & class != 0 {
                    mask |= shift(rwx, class);
                }
            }
            mask |= special;
        }
    }
    match op {
        '+' => mode | mask,
        '-' => mode & !mask,
        _ => {
            // `=`: clear everything of the classes concerned, then set.
            let mut clear = 0u32;
            if who & WHO_U != 0 {
                clear |= 0o4700;
            }
            if who & WHO_G != 0 {
                clear |= 0o2070;
            }
            if who & WHO_O != 0 {
                clear |= 0o1007;
            }
            // Like chmod, `=` keeps setuid/setgid on directories unless asked.
            if is_dir {
                clear &= !0o6000;
            }
            (mode & !clear) | mask
        }
    }
}

fn shift(rwx: u32, class: u8) -> u32 {
    match class {
        WHO_U => rwx << 6,
        WHO_G => rwx << 3,
        _ => rwx,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str, cur: u32, dir: bool) -> u32 {
        ModeSpec::parse(s).unwrap().apply(cur, dir)
    }

    #[test]
    fn octal_forms() {
        assert_eq!(ModeSpec::parse("0644").unwrap(), ModeSpec::Octal(0o644));
        assert_eq!(ModeSpec::parse("644").unwrap(), ModeSpec::Octal(0o644));
        assert_eq!(ModeSpec::parse("0o755").unwrap(), ModeSpec::Octal(0o755));
        assert_eq!(ModeSpec::parse("04755").unwrap(), ModeSpec::Octal(0o4755));
        assert!(ModeSpec::parse("0999").is_err());
        assert!(ModeSpec::parse("77777").is_err());
        assert!(ModeSpec::parse("").is_err());
    }

    #[test]
    fn symbolic_forms() {
        assert_eq!(sym("u=rw,g=r,o=r", 0o777, false), 0o644);
        assert_eq!(sym("u+x", 0o644, false), 0o744);
        assert_eq!(sym("a-w", 0o666, false), 0o444);
        assert_eq!(sym("-w", 0o666, false), 0o444);
        assert_eq!(sym("go=", 0o777, false), 0o700);
        assert_eq!(sym("g=u", 0o640, false), 0o660);
        assert_eq!(sym("u=rwx,go=rX", 0o600, false), 0o755);
        assert_eq!(sym("a+X", 0o600, true), 0o711);
        assert_eq!(sym("a+X", 0o600, false), 0o600);
        assert_eq!(sym("a+X", 0o700, false), 0o711);
        assert_eq!(sym("u+s", 0o755, false), 0o4755);
        assert_eq!(sym("g+s,o+t", 0o755, true), 0o3755);
        assert_eq!(sym("u=rw-x", 0o777, false), 0o677);
        assert_eq!(sym("ug+rw,o-rwx", 0o604, false), 0o660);
    }

    #[test]
    fn symbolic_errors() {
        assert!(ModeSpec::parse("u=rwz").is_err());
        assert!(ModeSpec::parse("u").is_err());
        assert!(ModeSpec::parse("q+r").is_err());
        assert!(ModeSpec::parse("u+r,").is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(format_mode(0o644), "0644");
        assert_eq!(format_mode(0o4755), "4755");
        assert_eq!(format_mode(0o100644), "0644");
    }
}

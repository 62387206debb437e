//! The `now()` global and the `random` filter, as Ansible has them: `now(utc=false, fmt=None)`
//! formats with Python's strftime codes (`%f` microseconds included); `random` picks an item
//! of a sequence, or a number below an end (`start`, `step`, `seed` as in Ansible).

use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_function("now", now);
    env.add_filter("random", random);
}

fn now(kwargs: Kwargs) -> Result<Value, Error> {
    let utc: Option<bool> = kwargs.get("utc")?;
    let fmt: Option<String> = kwargs.get("fmt")?;
    kwargs.assert_all_used()?;
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let fmt = fmt.unwrap_or_else(|| "%Y-%m-%d %H:%M:%S.%f".to_string());
    Ok(Value::from(strftime(
        &fmt,
        t.as_secs() as i64,
        t.subsec_micros(),
        utc.unwrap_or(false),
    )))
}

/// Python's strftime: the C library's codes, plus `%f`.
pub(crate) fn strftime(fmt: &str, secs: i64, micros: u32, utc: bool) -> String {
    let fmt = fmt.replace("%f", &format!("{micros:06}"));
    // SAFETY: localtime_r/gmtime_r/strftime only write into buffers we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let t = secs as libc::time_t;
    let ok = unsafe {
        if utc {
            !libc::gmtime_r(&t, &mut tm).is_null()
        } else {
            !libc::localtime_r(&t, &mut tm).is_null()
        }
    };
    let Ok(cfmt) = std::ffi::CString::new(fmt.clone()) else {
        return fmt;
    };
    if !ok {
        return fmt;
    }
    let mut buf = vec![0u8; 256 + fmt.len() * 4];
    let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), cfmt.as_ptr(), &tm) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn random(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let start: Option<i64> = kwargs.get("start")?;
    let step: Option<i64> = kwargs.get("step")?;
    let seed: Option<Value> = kwargs.get("seed")?;
    kwargs.assert_all_used()?;
    let mut n = match seed {
        Some(s) => fnv(s.to_string().as_bytes()),
        None => fresh(),
    };
    let mut next = |bound: u64| -> u64 {
        n ^= n << 13;
        n ^= n >> 7;
        n ^= n << 17;
        if bound == 0 {
            0
        } else {
            n % bound
        }
    };
    if let Some(end) = value.as_i64() {
        let (start, step) = (start.unwrap_or(0), step.unwrap_or(1).max(1));
        if end <= start {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "random: empty range",
            ));
        }
        let count = ((end - start + step - 1) / step) as u64;
        return Ok(Value::from(start + step * next(count) as i64));
    }
    let items: Vec<Value> = value.try_iter()?.collect();
    if items.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "random: the sequence is empty",
        ));
    }
    Ok(items[next(items.len() as u64) as usize].clone())
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    }) | 1
}

fn fresh() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    fnv(&(t ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(32)).to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment<'static> {
        let mut e = Environment::new();
        register(&mut e);
        e
    }

    #[test]
    fn random_picks_from_the_sequence_and_the_range() {
        let e = env();
        for _ in 0..20 {
            let v = e
                .render_str("{{ ['a', 'b'] | random }}", ())
                .unwrap_or_default();
            assert!(v == "a" || v == "b", "{v}");
            let n: i64 = e
                .render_str("{{ 10 | random(start=5, step=2) }}", ())
                .unwrap_or_default()
                .parse()
                .unwrap_or(-1);
            assert!([5, 7, 9].contains(&n), "{n}");
        }
        let a = e
            .render_str("{{ 1000 | random(seed='x') }}", ())
            .unwrap_or_default();
        let b = e
            .render_str("{{ 1000 | random(seed='x') }}", ())
            .unwrap_or_default();
        assert_eq!(a, b, "a seed makes it repeatable");
    }

    #[test]
    fn now_formats_like_python() {
        assert_eq!(strftime("%Y-%m-%d %f", 0, 42, true), "1970-01-01 000042");
        assert_eq!(strftime("%s", 86400, 0, true), "86400");
        let year = env()
            .render_str("{{ now(utc=true, fmt='%Y') }}", ())
            .unwrap_or_default();
        assert!(year.starts_with("20"), "{year}");
    }
}

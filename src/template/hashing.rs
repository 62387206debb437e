//! Hashing filters: `hash('sha1'|'md5'|'sha224'|'sha256'|'sha384'|'sha512')`, the `md5`,
//! `sha1` and `checksum` shorthands, and `password_hash` (SHA-crypt `$6$`/`$5$`, the format of
//! `/etc/shadow`; with an explicit salt the output is identical to glibc's `crypt()` and
//! Python's `crypt.crypt`, so runs stay idempotent).

use super::filters::err;
use super::regex_filters::text_of;
use md5::Md5;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use sha_crypt::{Sha256Params, Sha512Params, ROUNDS_DEFAULT};

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("hash", hash);
    env.add_filter("md5", |v: &Value| hash_hex(&text_of(v)?, "md5"));
    env.add_filter("sha1", |v: &Value| hash_hex(&text_of(v)?, "sha1"));
    env.add_filter("checksum", |v: &Value| hash_hex(&text_of(v)?, "sha1"));
    env.add_filter("password_hash", password_hash);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn hash_hex(text: &str, algorithm: &str) -> Result<String, Error> {
    let data = text.as_bytes();
    Ok(match algorithm {
        "md5" => hex(&Md5::digest(data)),
        "sha1" => hex(&Sha1::digest(data)),
        "sha224" => hex(&Sha224::digest(data)),
        "sha256" => hex(&Sha256::digest(data)),
        "sha384" => hex(&Sha384::digest(data)),
        "sha512" => hex(&Sha512::digest(data)),
        other => return Err(err(format!("hash: unsupported hash type '{other}'"))),
    })
}

fn hash(value: &Value, hashtype: Option<String>) -> Result<String, Error> {
    hash_hex(&text_of(value)?, hashtype.as_deref().unwrap_or("sha1"))
}

/// `password_hash(hashtype='sha512', salt=None, rounds=None)`.
fn password_hash(
    value: &Value,
    hashtype: Option<String>,
    salt: Option<Value>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let hashtype = match hashtype {
        Some(h) => h,
        None => kwargs
            .get::<Option<String>>("hashtype")?
            .unwrap_or_else(|| "sha512".into()),
    };
    let salt = match salt {
        Some(s) => Some(s),
        None => kwargs.get::<Option<Value>>("salt")?,
    };
    let salt = match salt {
        Some(s) if s.is_none() => None,
        Some(s) => Some(text_of(&s)?),
        None => None,
    };
    let rounds = kwargs.get::<Option<usize>>("rounds")?;
    let _ = kwargs.get::<Option<Value>>("salt_size")?;
    let _ = kwargs.get::<Option<Value>>("ident")?;
    kwargs.assert_all_used()?;
    let password = text_of(value)?;
    crypt(&password, &hashtype, salt.as_deref(), rounds)
}

/// SHA-crypt, as glibc's `crypt(3)` computes it.
pub(crate) fn crypt(
    password: &str,
    hashtype: &str,
    salt: Option<&str>,
    rounds: Option<usize>,
) -> Result<String, Error> {
    let rounds = rounds.unwrap_or(ROUNDS_DEFAULT).clamp(1000, 999_999_999);
    let prefix = match hashtype {
        "sha512" | "sha512_crypt" => "$6$",
        "sha256" | "sha256_crypt" => "$5$",
        other => {
            return Err(err(format!(
                "password_hash: unsupported hash type '{other}' (use sha512 or sha256)"
            )))
        }
    };
    let rounds_part = if rounds == ROUNDS_DEFAULT {
        String::new()
    } else {
        format!("rounds={rounds}$")
    };
    let crypt_err = |e: sha_crypt::CryptError| err(format!("password_hash: {e:?}"));
    let Some(salt) = salt else {
        // random salt
        return if prefix == "$6$" {
            let params = Sha512Params::new(rounds).map_err(crypt_err)?;
            sha_crypt::sha512_simple(password, &params).map_err(crypt_err)
        } else {
            let params = Sha256Params::new(rounds).map_err(crypt_err)?;
            sha_crypt::sha256_simple(password, &params).map_err(crypt_err)
        };
    };
    if salt.is_empty()
        || salt
            .chars()
            .any(|c| c == '$' || c == ':' || c.is_whitespace())
    {
        return Err(err(
            "password_hash: the salt must be non-empty, without '$', ':' or whitespace",
        ));
    }
    let salt: String = salt.chars().take(16).collect();
    let salt = salt.as_str();
    let hashed = if prefix == "$6$" {
        let params = Sha512Params::new(rounds).map_err(crypt_err)?;
        sha_crypt::sha512_crypt_b64(password.as_bytes(), salt.as_bytes(), &params)
            .map_err(crypt_err)?
    } else {
        let params = Sha256Params::new(rounds).map_err(crypt_err)?;
        sha_crypt::sha256_crypt_b64(password.as_bytes(), salt.as_bytes(), &params)
            .map_err(crypt_err)?
    };
    Ok(format!("{prefix}{rounds_part}{salt}${hashed}"))
}

#[cfg(test)]
mod tests {
    use crate::template::tests::{eval_err, render};
    use serde_json::json;

    #[test]
    fn hash_filters() {
        // python3 -c "import hashlib; print(hashlib.new(h, b'hello').hexdigest())"
        let r = |s: &str| render(s, json!({"v": "hello"}));
        assert_eq!(
            r("{{ v | hash('md5') }}"),
            "5d41402abc4b2a76b9719d911017c592"
        );
        assert_eq!(
            r("{{ v | hash }}"),
            "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
        );
        assert_eq!(
            r("{{ v | sha1 }}"),
            "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
        );
        assert_eq!(
            r("{{ v | checksum }}"),
            "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
        );
        assert_eq!(r("{{ v | md5 }}"), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(
            r("{{ v | hash('sha224') }}"),
            "ea09ae9cc6768c50fcee903ed054556e5bfc8347907f12598aa24193"
        );
        assert_eq!(
            r("{{ v | hash('sha256') }}"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(r("{{ v | hash('sha384') }}"), "59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f");
        assert_eq!(r("{{ v | hash('sha512') }}"), "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043");
        assert!(eval_err("v | hash('blake')", json!({"v": "x"}))
            .message
            .contains("unsupported"));
    }

    #[test]
    fn password_hash_matches_crypt() {
        // python3 -c "import crypt; print(crypt.crypt('secret', '\$6\$saltsalt'))"
        // (and `openssl passwd -6 -salt saltsalt secret`)
        let r = |s: &str| render(s, json!({"pw": "secret"}));
        assert_eq!(
            r("{{ pw | password_hash('sha512', 'saltsalt') }}"),
            "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"
        );
        // openssl passwd -5 -salt saltsalt secret
        assert_eq!(
            r("{{ pw | password_hash('sha256', salt='saltsalt') }}"),
            "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA"
        );
        // crypt.crypt('secret', '$6$rounds=10000$saltsalt')
        assert_eq!(
            r("{{ pw | password_hash('sha512', 'saltsalt', rounds=10000) }}"),
            "$6$rounds=10000$saltsalt$WowrPBpEDVlCoruBosYlrZycTCx3//TyDHYqEhX9DUHHt0XTztUqzQDDUuvUGRA8aUe9p55hcAxeGcu58sm3u."
        );
        // salts longer than 16 characters are cut, as crypt does
        assert_eq!(
            r("{{ pw | password_hash('sha512', 'averyveryverylongsaltvalue') }}"),
            "$6$averyveryverylon$f439HdLUHMQI2HiP8aN4x5loZ1qvGb55n9kt4d2ZOJqlEooZ9ot8vw2.j1vNGA.rsXQGoMDwgMor7ArX.3X.9/"
        );
        let random = r("{{ pw | password_hash('sha512') }}");
        assert!(random.starts_with("$6$") && random.len() > 90, "{random}");
        assert_ne!(random, r("{{ pw | password_hash('sha512') }}"));
        assert!(eval_err("pw | password_hash('md5')", json!({"pw": "x"}))
            .message
            .contains("unsupported"));
        assert!(
            eval_err("pw | password_hash('sha512', 'a$b')", json!({"pw": "x"}))
                .message
                .contains("salt")
        );
    }
}

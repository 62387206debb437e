//! Which names mark a secret. One rule for the whole tool: the Docker modules hide env values
//! under these names, and the engine redacts variables and data keys that match.

/// Does a variable, env or data key name look like it holds a secret (its value is never shown)?
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "api-key",
        "private_key",
        "private-key",
        "credential",
    ]
    .iter()
    .any(|w| n.contains(w))
}

#[cfg(test)]
mod tests {
    use super::is_secret_name;

    #[test]
    fn names_that_hold_secrets() {
        for n in [
            "DB_PASSWORD",
            "ApiKey",
            "client_secret",
            "GITHUB_TOKEN",
            "ssh-private-key",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in ["motd", "port", "keys", "private"] {
            assert!(!is_secret_name(n), "{n}");
        }
    }
}

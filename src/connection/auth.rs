//! SSH user authentication: which credentials are tried, in which order, and the error that says
//! what was tried.
//!
//! The order follows what an operator expects from `ssh`: the key named in the inventory or ssh
//! config, then the agent's keys, then the default key files, then the password. A failure names
//! every method tried (never a secret), because "authentication failed" alone sends people
//! guessing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::{AuthResult, Handle, Handler, KeyboardInteractiveAuthResponse};
use russh::keys::agent::client::AgentClient;
use russh::keys::agent::AgentIdentity;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg};
use russh::MethodKind;

pub use super::passphrase::PASSPHRASE_ENV;

/// The credentials to try for one connection.
#[derive(Clone, Default)]
pub struct AuthPlan {
    /// Explicit keys (inventory `ansible_ssh_private_key_file`, then ssh config `IdentityFile`).
    pub key_files: Vec<PathBuf>,
    /// Use `$SSH_AUTH_SOCK`.
    pub agent: bool,
    /// Try `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`.
    pub default_keys: bool,
    /// `ansible_password`.
    pub password: Option<String>,
}

impl std::fmt::Debug for AuthPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthPlan")
            .field("key_files", &self.key_files)
            .field("agent", &self.agent)
            .field("default_keys", &self.default_keys)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// The default identity files, most preferred first.
pub fn default_key_files() -> Vec<PathBuf> {
    match super::ssh_config::home_dir() {
        Some(h) => ["id_ed25519", "id_ecdsa", "id_rsa"]
            .iter()
            .map(|n| h.join(".ssh").join(n))
            .collect(),
        None => Vec::new(),
    }
}

/// Load a private key, decrypting it with `$CONVERGE_SSH_KEY_PASSPHRASE` or a passphrase asked
/// on the terminal when needed.
pub fn load_key(path: &Path) -> Result<PrivateKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("unreadable: {e}"))?;
    match russh::keys::decode_secret_key(&text, None) {
        Ok(k) => Ok(k),
        Err(russh::keys::Error::KeyIsEncrypted) => super::passphrase::unlock(path, |pass| {
            russh::keys::decode_secret_key(&text, Some(pass)).ok()
        }),
        Err(e) => Err(format!("unusable: {e}")),
    }
}

enum Step {
    Done,
    Next,
    /// The server no longer offers the method.
    Stop,
}

fn step(r: &AuthResult, method: MethodKind) -> Step {
    match r {
        AuthResult::Success => Step::Done,
        AuthResult::Failure {
            remaining_methods, ..
        } => {
            if remaining_methods.is_empty() || remaining_methods.contains(&method) {
                Step::Next
            } else {
                Step::Stop
            }
        }
    }
}

/// Authenticate `user`; the error lists what was tried.
pub async fn authenticate<H: Handler>(
    handle: &mut Handle<H>,
    user: &str,
    plan: &AuthPlan,
) -> Result<(), String> {
    let mut tried: Vec<String> = Vec::new();
    let mut rsa_hash: Option<Option<HashAlg>> = None;
    let mut pubkey_open = true;
    let mut seen_keys: Vec<russh::keys::PublicKey> = Vec::new();

    // 1. explicit keys
    for path in &plan.key_files {
        if !pubkey_open {
            break;
        }
        match try_key_file(handle, user, path, true, &mut rsa_hash, &mut seen_keys).await {
            Ok(Some(s)) => {
                tried.push(format!("key {}", path.display()));
                match s {
                    Step::Done => return Ok(()),
                    Step::Next => {}
                    Step::Stop => pubkey_open = false,
                }
            }
            Ok(None) => {}
            Err(note) => tried.push(format!("key {} ({note})", path.display())),
        }
    }

    // 2. agent
    if plan.agent && pubkey_open && std::env::var_os("SSH_AUTH_SOCK").is_some() {
        match AgentClient::connect_env().await {
            Ok(mut agent) => match agent.request_identities().await {
                Ok(ids) => {
                    let mut n = 0;
                    for id in ids {
                        let AgentIdentity::PublicKey { key, .. } = &id else {
                            continue;
                        };
                        if seen_keys.iter().any(|k| k.key_data() == key.key_data()) {
                            continue;
                        }
                        n += 1;
                        let hash = if key.algorithm().is_rsa() {
                            rsa_hash_for(handle, &mut rsa_hash).await
                        } else {
                            None
                        };
                        let r = handle
                            .authenticate_publickey_with(user, key.clone(), hash, &mut agent)
                            .await;
                        match r {
                            Ok(r) => match step(&r, MethodKind::PublicKey) {
                                Step::Done => return Ok(()),
                                Step::Next => {}
                                Step::Stop => {
                                    pubkey_open = false;
                                    break;
                                }
                            },
                            Err(e) => {
                                tried.push(format!("agent ({e})"));
                                n = usize::MAX;
                                break;
                            }
                        }
                    }
                    match n {
                        usize::MAX => {}
                        0 => tried.push("agent (no keys)".to_string()),
                        1 => tried.push("agent (1 key)".to_string()),
                        n => tried.push(format!("agent ({n} keys)")),
                    }
                }
                Err(e) => tried.push(format!("agent ({e})")),
            },
            Err(e) => tried.push(format!("agent ({e})")),
        }
    }

    // 3. default keys
    if plan.default_keys {
        let defaults: Vec<PathBuf> = default_key_files()
            .into_iter()
            .filter(|p| !plan.key_files.contains(p))
            .collect();
        for path in &defaults {
            if !pubkey_open {
                break;
            }
            match try_key_file(handle, user, path, false, &mut rsa_hash, &mut seen_keys).await {
                Ok(Some(s)) => {
                    tried.push(format!("key {}", path.display()));
                    match s {
                        Step::Done => return Ok(()),
                        Step::Next => {}
                        Step::Stop => pubkey_open = false,
                    }
                }
                Ok(None) => {}
                Err(note) => tried.push(format!("key {} ({note})", path.display())),
            }
        }
    }

    // 4. password, then keyboard-interactive with the same password
    if let Some(pw) = &plan.password {
        let r = handle
            .authenticate_password(user, pw.clone())
            .await
            .map_err(|e| format!("password authentication: {e}"))?;
        tried.push("password".to_string());
        if r.success() {
            return Ok(());
        }
        let kbd_offered = match &r {
            AuthResult::Failure {
                remaining_methods, ..
            } => remaining_methods.contains(&MethodKind::KeyboardInteractive),
            AuthResult::Success => false,
        };
        if kbd_offered && keyboard_interactive(handle, user, pw).await? {
            return Ok(());
        }
    }

    if tried.is_empty() {
        tried.push("no credentials: no key file, agent or password".to_string());
    }
    Err(tried.join(", "))
}

async fn rsa_hash_for<H: Handler>(
    handle: &Handle<H>,
    cache: &mut Option<Option<HashAlg>>,
) -> Option<HashAlg> {
    if cache.is_none() {
        // Default to rsa-sha2-256 when the server did not say (OpenSSH refuses SHA-1 RSA).
        let h = match handle.best_supported_rsa_hash().await {
            Ok(Some(h)) => h,
            _ => Some(HashAlg::Sha256),
        };
        *cache = Some(h);
    }
    cache.flatten()
}

/// `Ok(None)`: a default key file that does not exist (not worth mentioning).
async fn try_key_file<H: Handler>(
    handle: &mut Handle<H>,
    user: &str,
    path: &Path,
    explicit: bool,
    rsa_hash: &mut Option<Option<HashAlg>>,
    seen: &mut Vec<russh::keys::PublicKey>,
) -> Result<Option<Step>, String> {
    if !explicit && !path.exists() {
        return Ok(None);
    }
    let key = load_key(path)?;
    let public = key.public_key().clone();
    if seen.iter().any(|k| k.key_data() == public.key_data()) {
        return Ok(None);
    }
    seen.push(public);
    let hash = if key.algorithm().is_rsa() {
        rsa_hash_for(handle, rsa_hash).await
    } else {
        None
    };
    let r = handle
        .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
        .await
        .map_err(|e| format!("error: {e}"))?;
    Ok(Some(step(&r, MethodKind::PublicKey)))
}

async fn keyboard_interactive<H: Handler>(
    handle: &mut Handle<H>,
    user: &str,
    password: &str,
) -> Result<bool, String> {
    let mut r = handle
        .authenticate_keyboard_interactive_start(user, None)
        .await
        .map_err(|e| format!("keyboard-interactive authentication: {e}"))?;
    // A server asks for the password once; a few empty rounds are allowed, not a loop.
    for _ in 0..4 {
        match r {
            KeyboardInteractiveAuthResponse::Success => return Ok(true),
            KeyboardInteractiveAuthResponse::Failure { .. } => return Ok(false),
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                let answers = prompts
                    .iter()
                    .map(|p| {
                        if p.echo {
                            String::new()
                        } else {
                            password.to_string()
                        }
                    })
                    .collect();
                r = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await
                    .map_err(|e| format!("keyboard-interactive authentication: {e}"))?;
            }
        }
    }
    Ok(false)
}

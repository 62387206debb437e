//! The SSH connection: one russh session per host for the whole run, an exec channel per command.
//!
//! Targets have nothing but sshd and a POSIX shell, so everything is an exec channel: commands
//! directly, files through [`super::shell_ops`] (content streamed on stdin, checked by sha256,
//! renamed into place). One TCP connection per host carries every channel, concurrently, which is
//! what makes many small tasks cheap: no handshake, no authentication per command.
//!
//! The session lives on the shared [`super::runtime`]; the synchronous [`Target`] methods are
//! called from the executor's host threads and bridge with `block_on`. A lost session (sshd gone,
//! network down, keepalives unanswered) turns every call into [`TargetError::Unreachable`].

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use converge_modules::target::{
    Command, Endpoint as StreamEnd, FileAttrs, Output, Stat, Target, TargetError,
};
use russh::client::{self, DisconnectReason, Handle};
use russh::keys::{Algorithm, EcdsaCurve, HashAlg, PublicKeyOrCertificate};
use russh::{cipher, kex, ChannelMsg, Preferred, Sig};
use tokio::sync::Semaphore;

use super::auth::{self, AuthPlan};
use super::become_wrap;
use super::known_hosts::{fingerprint, location, KnownHosts, Policy, Verdict};
use super::runtime::block_on;
use super::ssh_config::{self, Jump};
use super::{shell_ops, Become, ConnectOptions, Connection, ConnectionSpec};

/// Concurrent exec channels per session; OpenSSH's default `MaxSessions` is 10. More commands
/// wait for a free channel (and an open refused by the server is retried).
const MAX_CHANNELS: usize = 10;

/// Where and how to connect: the inventory's spec merged with `~/.ssh/config`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The name used in messages (the inventory name).
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub auth: AuthPlan,
    pub connect_timeout: Duration,
    pub policy: Policy,
    pub jumps: Vec<Jump>,
}

impl Endpoint {
    /// Resolve a spec: inventory variables win over the ssh config, which wins over defaults.
    pub fn resolve(spec: &ConnectionSpec, opts: &ConnectOptions) -> Result<Endpoint, TargetError> {
        let address = if spec.address.is_empty() {
            spec.name.clone()
        } else {
            spec.address.clone()
        };
        let cfg = ssh_config::lookup(&address);
        let mut key_files = Vec::new();
        if let Some(k) = spec.private_key_file.as_deref().filter(|k| !k.is_empty()) {
            key_files.push(ssh_config::expand_tilde(k));
        }
        key_files.extend(cfg.identity_files.iter().cloned());
        let policy_text = spec
            .host_key_checking
            .clone()
            .or_else(|| opts.host_key_checking.clone());
        let policy = match policy_text {
            Some(p) => Policy::parse(&p)
                .map_err(|e| TargetError::Unreachable(format!("{}: {e}", spec.name)))?,
            None => Policy::Strict,
        };
        let jumps = match &cfg.proxy_jump {
            Some(pj) => ssh_config::parse_proxy_jump(pj)
                .map_err(|e| TargetError::Unreachable(format!("{}: {e}", spec.name)))?,
            None => Vec::new(),
        };
        let connect_timeout = spec
            .connect_timeout_secs
            .or(cfg.connect_timeout)
            .map(Duration::from_secs)
            .unwrap_or(opts.connect_timeout);
        Ok(Endpoint {
            name: spec.name.clone(),
            host: cfg.hostname.clone().unwrap_or(address),
            port: spec.port.or(cfg.port).unwrap_or(22),
            user: spec
                .user
                .clone()
                .filter(|u| !u.is_empty())
                .or(cfg.user)
                .unwrap_or_else(ssh_config::local_user),
            auth: AuthPlan {
                key_files,
                agent: true,
                default_keys: true,
                password: spec.password.clone().filter(|p| !p.is_empty()),
            },
            connect_timeout,
            policy,
            jumps,
        })
    }

    /// A jump host as reached by `ssh -J`: its own ssh config entry, the target's policy and
    /// timeout, and the target's explicit key as a last resort.
    fn for_jump(&self, jump: &Jump) -> Endpoint {
        let cfg = ssh_config::lookup(&jump.host);
        let mut key_files = cfg.identity_files.clone();
        for k in &self.auth.key_files {
            if !key_files.contains(k) {
                key_files.push(k.clone());
            }
        }
        Endpoint {
            name: jump.host.clone(),
            host: cfg.hostname.clone().unwrap_or_else(|| jump.host.clone()),
            port: jump.port.or(cfg.port).unwrap_or(22),
            user: jump
                .user
                .clone()
                .or(cfg.user)
                .unwrap_or_else(ssh_config::local_user),
            auth: AuthPlan {
                key_files,
                agent: true,
                default_keys: true,
                password: None,
            },
            connect_timeout: self.connect_timeout,
            policy: self.policy,
            jumps: Vec::new(),
        }
    }

    fn label(&self) -> String {
        if self.host.contains(':') {
            format!("{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            format!("{}@{}:{}", self.user, self.host, self.port)
        }
    }
}

/// The algorithms offered: what russh 0.65 offers by default minus the weaker fallbacks, written
/// out so that a russh upgrade cannot silently change them. Curve25519 (and the hybrid
/// post-quantum ML-KEM) key exchange with OpenSSH's strict KEX extension, which closes the
/// Terrapin prefix-truncation attack; AEAD ciphers first; encrypt-then-MAC MACs for the CTR
/// fallback; no compression (it costs CPU on the LAN links this runs over).
fn preferred(known: &[Algorithm]) -> Preferred {
    const KEX: &[kex::Name] = &[
        kex::MLKEM768X25519_SHA256,
        kex::CURVE25519,
        kex::CURVE25519_PRE_RFC_8731,
        kex::ECDH_SHA2_NISTP256,
        kex::DH_GEX_SHA256,
        kex::DH_G16_SHA512,
        kex::DH_G14_SHA256,
        kex::EXTENSION_SUPPORT_AS_CLIENT,
        kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
    ];
    const CIPHERS: &[cipher::Name] = &[
        cipher::CHACHA20_POLY1305,
        cipher::AES_256_GCM,
        cipher::AES_128_GCM,
        cipher::AES_256_CTR,
        cipher::AES_128_CTR,
    ];
    const MACS: &[russh::mac::Name] = &[
        russh::mac::HMAC_SHA512_ETM,
        russh::mac::HMAC_SHA256_ETM,
        russh::mac::HMAC_SHA512,
        russh::mac::HMAC_SHA256,
    ];
    let mut keys = vec![
        Algorithm::Ed25519,
        Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256,
        },
        Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP384,
        },
        Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP521,
        },
        Algorithm::Rsa {
            hash: Some(HashAlg::Sha512),
        },
        Algorithm::Rsa {
            hash: Some(HashAlg::Sha256),
        },
    ];
    // Host key types already in known_hosts first, as OpenSSH does: a host known by its RSA key
    // is then verified with that key instead of failing as "unknown ed25519 key".
    let is_known = |a: &Algorithm| {
        known.iter().any(|k| {
            k == a || (matches!(k, Algorithm::Rsa { .. }) && matches!(a, Algorithm::Rsa { .. }))
        })
    };
    keys.sort_by_cached_key(|a| !is_known(a));
    Preferred {
        kex: Cow::Borrowed(KEX),
        key: Cow::Owned(keys),
        host_key_certificates: Cow::Borrowed(&[]),
        cipher: Cow::Borrowed(CIPHERS),
        mac: Cow::Borrowed(MACS),
        compression: Cow::Borrowed(&[russh::compression::NONE]),
    }
}

fn client_config(known: &[Algorithm]) -> client::Config {
    client::Config {
        preferred: preferred(known),
        // Detect a dead peer within ~45 s even when no command is running.
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 3,
        inactivity_timeout: None,
        nodelay: true,
        // A larger receive window for big `read_file`s.
        window_size: 8 * 1024 * 1024,
        ..Default::default()
    }
}

/// What the session learnt that the caller needs after a failure.
#[derive(Default)]
struct Shared {
    /// Why the host key was refused.
    refusal: Option<String>,
    /// Why the session ended.
    lost: Option<String>,
    /// `kex cipher strict-kex` as negotiated.
    algorithms: Option<String>,
}

struct ClientHandler {
    host: String,
    port: u16,
    policy: Policy,
    known_hosts: KnownHosts,
    shared: Arc<Mutex<Shared>>,
}

impl ClientHandler {
    fn refuse(&self, msg: String) -> bool {
        self.shared.lock().unwrap().refusal = Some(msg);
        false
    }
}

impl client::Handler for ClientHandler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        if self.policy == Policy::Off {
            return Ok(true);
        }
        let name = super::known_hosts::host_name(&self.host, self.port);
        let PublicKeyOrCertificate::PublicKey { key, .. } = server_key else {
            return Ok(self.refuse(format!(
                "host key verification failed for {name}: the server presented a certificate, \
                 which converge does not verify"
            )));
        };
        let fp = fingerprint(key);
        let alg = key.algorithm();
        let alg = alg.as_str();
        match self.known_hosts.check(&self.host, self.port, key) {
            Verdict::Known => Ok(true),
            Verdict::Revoked { file, line } => Ok(self.refuse(format!(
                "host key verification failed for {name}: its {alg} key {fp} is marked \
                 @revoked at {}",
                location(&file, line)
            ))),
            Verdict::Changed { file, line } => Ok(self.refuse(format!(
                "HOST KEY CHANGED for {name}: it now presents {alg} key {fp}, which does not \
                 match the known key at {}; someone may be intercepting the connection. If the \
                 host was reinstalled, remove that entry (ssh-keygen -R '{name}')",
                location(&file, line)
            ))),
            Verdict::Unknown => match self.policy {
                Policy::AcceptNew => match self.known_hosts.append(&self.host, self.port, key) {
                    Ok(()) => Ok(true),
                    Err(e) => Ok(self.refuse(format!(
                        "cannot record the host key of {name} in {}: {e}",
                        self.known_hosts.append_to.display()
                    ))),
                },
                _ => Ok(self.refuse(format!(
                    "host key verification failed for {name}: unknown {alg} key {fp} \
                     (not in {}); add it to known_hosts or use --host-key-checking accept-new",
                    self.known_hosts
                        .files
                        .iter()
                        .map(|f| f.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            },
        }
    }

    async fn kex_done(
        &mut self,
        _shared_secret: Option<&[u8]>,
        names: &russh::Names,
        _session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        let mut s = self.shared.lock().unwrap();
        if s.algorithms.is_none() {
            s.algorithms = Some(format!(
                "{} {}{}",
                names.kex.as_ref(),
                names.cipher.as_ref(),
                if names.strict_kex() {
                    " strict-kex"
                } else {
                    ""
                }
            ));
        }
        Ok(())
    }

    async fn disconnected(
        &mut self,
        reason: DisconnectReason<Self::Error>,
    ) -> Result<(), Self::Error> {
        let text = match &reason {
            DisconnectReason::ReceivedDisconnect(info) => {
                format!("the server closed the connection ({})", info.message)
            }
            DisconnectReason::Error(e) => format!("connection lost: {e}"),
        };
        self.shared.lock().unwrap().lost.get_or_insert(text);
        match reason {
            DisconnectReason::ReceivedDisconnect(_) => Ok(()),
            DisconnectReason::Error(e) => Err(e),
        }
    }
}

/// One authenticated SSH session, shared by the connection and its `with_become` clones.
struct Session {
    handle: Handle<ClientHandler>,
    /// The session of the jump host this one is tunnelled through (kept alive with it).
    _via: Option<Arc<Session>>,
    endpoint: Endpoint,
    shared: Arc<Mutex<Shared>>,
    closed: AtomicBool,
    /// Commands run over this session (each one a network round trip), for `-vv`.
    round_trips: std::sync::atomic::AtomicU64,
    channels: Semaphore,
    connect_time: Duration,
}

impl Session {
    async fn connect(
        ep: &Endpoint,
        via: Option<Arc<Session>>,
    ) -> Result<Arc<Session>, TargetError> {
        let started = Instant::now();
        let label = ep.label();
        let known_hosts = KnownHosts::from_env();
        let config = Arc::new(client_config(
            &known_hosts.known_algorithms(&ep.host, ep.port),
        ));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let handler = ClientHandler {
            host: ep.host.clone(),
            port: ep.port,
            policy: ep.policy,
            known_hosts,
            shared: shared.clone(),
        };
        let unreachable = |m: String| TargetError::Unreachable(m);
        let timeout = ep.connect_timeout;
        let handshake = async {
            match &via {
                None => {
                    let tcp = tokio::net::TcpStream::connect((ep.host.as_str(), ep.port))
                        .await
                        .map_err(|e| unreachable(format!("cannot connect to {label}: {e}")))?;
                    let _ = tcp.set_nodelay(true);
                    client::connect_stream(config, tcp, handler).await
                }
                Some(jump) => {
                    let ch = jump
                        .handle
                        .channel_open_direct_tcpip(ep.host.clone(), ep.port as u32, "127.0.0.1", 0)
                        .await
                        .map_err(|e| {
                            unreachable(format!(
                                "cannot connect to {label} through {}: {e}",
                                jump.endpoint.label()
                            ))
                        })?;
                    client::connect_stream(config, ch.into_stream(), handler).await
                }
            }
            .map_err(|e| {
                let s = shared.lock().unwrap();
                match &s.refusal {
                    Some(r) => unreachable(r.clone()),
                    None => unreachable(format!("SSH handshake with {label} failed: {e}")),
                }
            })
        };
        let mut handle = match tokio::time::timeout(timeout, handshake).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(unreachable(format!(
                    "connection to {label} timed out after {} s",
                    timeout.as_secs_f32()
                )))
            }
        };
        // Authentication may wait on an agent; bounded separately and more generously.
        let auth_timeout = timeout.max(Duration::from_secs(30));
        match tokio::time::timeout(
            auth_timeout,
            auth::authenticate(&mut handle, &ep.user, &ep.auth),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(tried)) => {
                return Err(unreachable(format!(
                    "authentication failed for {label} (tried: {tried})"
                )))
            }
            Err(_) => {
                return Err(unreachable(format!(
                    "authentication with {label} timed out"
                )))
            }
        }
        Ok(Arc::new(Session {
            handle,
            _via: via,
            endpoint: ep.clone(),
            shared,
            closed: AtomicBool::new(false),
            round_trips: std::sync::atomic::AtomicU64::new(0),
            channels: Semaphore::new(MAX_CHANNELS),
            connect_time: started.elapsed(),
        }))
    }

    fn lost_error(&self) -> TargetError {
        let s = self.shared.lock().unwrap();
        let why = s
            .lost
            .clone()
            .unwrap_or_else(|| "the SSH connection was closed".to_string());
        TargetError::Unreachable(format!("{}: {why}", self.endpoint.label()))
    }

    fn is_lost(&self) -> bool {
        self.closed.load(Ordering::SeqCst) || self.handle.is_closed()
    }

    async fn open_channel(&self) -> Result<russh::Channel<client::Msg>, TargetError> {
        let mut delay = Duration::from_millis(20);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.is_lost() {
                return Err(self.lost_error());
            }
            match self.handle.channel_open_session().await {
                Ok(ch) => return Ok(ch),
                Err(russh::Error::ChannelOpenFailure(reason)) => {
                    // The server limits sessions per connection (MaxSessions): wait and retry.
                    if Instant::now() > deadline {
                        return Err(TargetError::Failed(format!(
                            "{}: the server refuses to open a channel ({reason:?})",
                            self.endpoint.label()
                        )));
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(500));
                }
                Err(_) if self.handle.is_closed() => return Err(self.lost_error()),
                Err(russh::Error::Disconnect | russh::Error::SendError) => {
                    return Err(self.lost_error())
                }
                Err(e) => {
                    return Err(TargetError::Failed(format!(
                        "{}: cannot open a channel: {e}",
                        self.endpoint.label()
                    )))
                }
            }
        }
    }

    /// Run a command string on an exec channel, `stdin` streamed then closed.
    async fn exec(
        &self,
        command: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<Output, TargetError> {
        self.round_trips
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _permit = self
            .channels
            .acquire()
            .await
            .map_err(|_| self.lost_error())?;
        let channel = self.open_channel().await?;
        let (mut reader, writer) = channel.split();
        let writer = Arc::new(writer);
        if let Err(e) = writer.exec(true, command.as_bytes().to_vec()).await {
            return Err(if self.is_lost() {
                self.lost_error()
            } else {
                TargetError::Failed(format!("{}: exec failed: {e}", self.endpoint.label()))
            });
        }
        let feeder = {
            let writer = writer.clone();
            tokio::spawn(async move {
                if let Some(data) = stdin.filter(|d| !d.is_empty()) {
                    writer.data_bytes(data).await?;
                }
                writer.eof().await
            })
        };
        let collect = async {
            let mut out = Output::default();
            let mut status: Option<i32> = None;
            let mut refused = false;
            while let Some(msg) = reader.wait().await {
                match msg {
                    ChannelMsg::Data { data } => out.stdout.extend_from_slice(&data),
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        out.stderr.extend_from_slice(&data)
                    }
                    ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status as i32),
                    ChannelMsg::ExitSignal {
                        signal_name,
                        error_message,
                        ..
                    } => {
                        status = Some(128 + signal_number(&signal_name));
                        let msg = format!("killed by signal {signal_name:?} {error_message}");
                        out.stderr.extend_from_slice(msg.trim_end().as_bytes());
                        out.stderr.push(b'\n');
                    }
                    ChannelMsg::Failure => refused = true,
                    ChannelMsg::Close => break,
                    _ => {}
                }
            }
            (out, status, refused)
        };
        let result = match timeout {
            Some(t) => tokio::time::timeout(t, collect).await.ok(),
            None => Some(collect.await),
        };
        feeder.abort();
        let Some((mut out, status, refused)) = result else {
            let _ = writer.signal(Sig::KILL).await;
            let _ = writer.close().await;
            return Err(TargetError::Failed(format!(
                "command timed out after {} s on {}",
                timeout.unwrap_or_default().as_secs_f32(),
                self.endpoint.name
            )));
        };
        match status {
            Some(rc) => {
                out.rc = rc;
                Ok(out)
            }
            None if self.is_lost() => Err(self.lost_error()),
            None if refused => Err(TargetError::Failed(format!(
                "{}: the server refused to run the command",
                self.endpoint.label()
            ))),
            None => {
                // Closed without a status: the session is probably going down; give the
                // event loop a moment to notice before calling it a command failure.
                tokio::time::sleep(Duration::from_millis(200)).await;
                if self.is_lost() {
                    Err(self.lost_error())
                } else {
                    Err(TargetError::Failed(format!(
                        "{}: the command ended without an exit status",
                        self.endpoint.label()
                    )))
                }
            }
        }
    }
}

impl Session {
    /// One request/response over a forwarding channel that sshd opens on the host's side
    /// (`direct-streamlocal@openssh.com` for a unix socket, `direct-tcpip` for an address).
    async fn exchange(
        &self,
        to: &StreamEnd,
        request: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, TargetError> {
        self.round_trips
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _permit = self
            .channels
            .acquire()
            .await
            .map_err(|_| self.lost_error())?;
        if self.is_lost() {
            return Err(self.lost_error());
        }
        let opened = match to {
            StreamEnd::Unix(path) => {
                self.handle
                    .channel_open_direct_streamlocal(path.clone())
                    .await
            }
            StreamEnd::Tcp { host, port } => {
                self.handle
                    .channel_open_direct_tcpip(host.clone(), u32::from(*port), "127.0.0.1", 0)
                    .await
            }
        };
        let channel = opened.map_err(|e| {
            if self.is_lost() {
                self.lost_error()
            } else {
                TargetError::Failed(format!(
                    "{}: sshd would not open a stream to {to}: {e}",
                    self.endpoint.label()
                ))
            }
        })?;
        let (mut reader, writer) = channel.split();
        let work = async {
            writer
                .data_bytes(request.to_vec())
                .await
                .map_err(|e| TargetError::Failed(format!("{to}: sending failed: {e}")))?;
            let mut out = Vec::new();
            while let Some(msg) = reader.wait().await {
                match msg {
                    ChannelMsg::Data { data } => out.extend_from_slice(&data),
                    ChannelMsg::Eof | ChannelMsg::Close => break,
                    _ => {}
                }
            }
            Ok(out)
        };
        let result = tokio::time::timeout(timeout, work).await;
        let _ = writer.close().await;
        match result {
            Ok(r) => r,
            Err(_) => Err(TargetError::Failed(format!(
                "{to} on {}: no complete answer within {} s",
                self.endpoint.name,
                timeout.as_secs_f32()
            ))),
        }
    }
}

fn signal_number(sig: &Sig) -> i32 {
    match sig {
        Sig::HUP => 1,
        Sig::INT => 2,
        Sig::QUIT => 3,
        Sig::ILL => 4,
        Sig::ABRT => 6,
        Sig::FPE => 8,
        Sig::KILL => 9,
        Sig::USR1 => 10,
        Sig::SEGV => 11,
        Sig::PIPE => 13,
        Sig::ALRM => 14,
        Sig::TERM => 15,
        Sig::Custom(_) => 127,
    }
}

/// An SSH connection to one host, with its privilege escalation setting.
pub struct SshConnection {
    session: Arc<Session>,
    become_: Become,
    command_timeout: Option<Duration>,
}

impl SshConnection {
    /// Connect and authenticate (jump hosts first, when the ssh config names any).
    pub fn connect(
        spec: &ConnectionSpec,
        opts: &ConnectOptions,
    ) -> Result<SshConnection, TargetError> {
        let ep = Endpoint::resolve(spec, opts)?;
        let session = block_on(async {
            let mut via: Option<Arc<Session>> = None;
            for jump in &ep.jumps {
                let jep = ep.for_jump(jump);
                via = Some(Session::connect(&jep, via).await.map_err(|e| match e {
                    TargetError::Unreachable(m) => {
                        TargetError::Unreachable(format!("jump host {}: {m}", jump.host))
                    }
                    other => other,
                })?);
            }
            Session::connect(&ep, via).await
        })?;
        Ok(SshConnection {
            session,
            become_: spec.r#become.clone(),
            command_timeout: opts.command_timeout,
        })
    }

    /// How long connecting (TCP, key exchange, authentication) took.
    pub fn connect_time(&self) -> Duration {
        self.session.connect_time
    }

    /// The negotiated key exchange and cipher, e.g.
    /// `curve25519-sha256 chacha20-poly1305@openssh.com strict-kex`.
    pub fn algorithms(&self) -> String {
        self.session
            .shared
            .lock()
            .unwrap()
            .algorithms
            .clone()
            .unwrap_or_default()
    }

    /// Run a command with this connection's `become`.
    fn exec(&self, cmd: Command) -> Result<Output, TargetError> {
        let mut wrapped = become_wrap::wrap_owned(&self.become_, cmd)?;
        let stdin = wrapped.command.stdin.take();
        let line = wrapped.command.to_shell_string();
        let out = block_on(self.session.exec(&line, stdin, self.command_timeout))?;
        wrapped.finish(out)
    }
}

impl Target for SshConnection {
    fn run(&self, cmd: &Command) -> Result<Output, TargetError> {
        self.exec(cmd.clone())
    }

    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, TargetError> {
        shell_ops::read_file(&|c| self.exec(c), path)
    }

    fn write_file(&self, path: &str, content: &[u8], attrs: &FileAttrs) -> Result<(), TargetError> {
        shell_ops::write_file(&|c| self.exec(c), path, content, attrs)
    }

    fn stat(&self, path: &str) -> Result<Option<Stat>, TargetError> {
        shell_ops::stat(&|c| self.exec(c), path)
    }

    fn user(&self) -> String {
        if self.become_.enabled {
            become_wrap::become_user(&self.become_)
        } else {
            self.session.endpoint.user.clone()
        }
    }

    fn exchange(
        &self,
        to: &StreamEnd,
        request: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, TargetError> {
        // sshd opens the stream as the login user: with become to someone else, the socket's
        // permissions are that user's, not the become user's. The caller's fallback (commands,
        // which do go through become) handles a refusal.
        block_on(self.session.exchange(to, request, timeout))
    }
}

impl Connection for SshConnection {
    fn is_remote(&self) -> bool {
        true
    }

    fn round_trips(&self) -> Option<u64> {
        Some(
            self.session
                .round_trips
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    fn describe(&self) -> String {
        let ep = &self.session.endpoint;
        let mut s = format!("ssh {}", ep.label());
        if let Some(j) = &self.session._via {
            s.push_str(&format!(" via {}", j.endpoint.label()));
        }
        if self.become_.enabled {
            let method = if self.become_.method.is_empty() {
                "sudo or su"
            } else {
                &self.become_.method
            };
            s.push_str(&format!(
                " (become {method} to {})",
                become_wrap::become_user(&self.become_)
            ));
        }
        s
    }

    fn with_become(&self, become_: &Become) -> Box<dyn Connection> {
        Box::new(SshConnection {
            session: self.session.clone(),
            become_: become_.clone(),
            command_timeout: self.command_timeout,
        })
    }

    fn close(&self) {
        if self.session.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.session.channels.close();
        let _ = block_on(async {
            tokio::time::timeout(
                Duration::from_secs(2),
                self.session
                    .handle
                    .disconnect(russh::Disconnect::ByApplication, "", "en"),
            )
            .await
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferred_algorithms_are_terrapin_safe() {
        let p = preferred(&[]);
        assert_eq!(p.kex[0], kex::MLKEM768X25519_SHA256);
        assert!(p.kex.contains(&kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT));
        assert_eq!(p.cipher[0], cipher::CHACHA20_POLY1305);
        assert!(!p.cipher.iter().any(|c| c.as_ref().contains("cbc")));
        assert!(!p.key.contains(&Algorithm::Rsa { hash: None }));
        assert_eq!(p.key[0], Algorithm::Ed25519);
    }

    #[test]
    fn known_host_key_types_come_first() {
        let p = preferred(&[Algorithm::Rsa { hash: None }]);
        assert_eq!(
            p.key[0],
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512)
            }
        );
        assert_eq!(p.key[2], Algorithm::Ed25519);
    }

    #[test]
    fn endpoint_resolution() {
        let spec = ConnectionSpec {
            name: "web1".into(),
            kind: "ssh".into(),
            address: "198.18.0.11".into(),
            port: Some(2222),
            user: Some("deploy".into()),
            private_key_file: Some("~/k".into()),
            host_key_checking: Some("false".into()),
            ..Default::default()
        };
        let opts = ConnectOptions::default();
        let ep = Endpoint::resolve(&spec, &opts).unwrap();
        assert_eq!(ep.label(), "deploy@198.18.0.11:2222");
        assert_eq!(ep.policy, Policy::Off);
        assert_eq!(ep.connect_timeout, Duration::from_secs(10));
        assert!(ep.auth.key_files[0].ends_with("k"));
        let bad = ConnectionSpec {
            host_key_checking: Some("sometimes".into()),
            ..spec
        };
        assert!(Endpoint::resolve(&bad, &opts).is_err());
    }
}

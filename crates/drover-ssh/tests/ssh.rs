//! The transport against real OpenSSH servers started by the test harness.
//!
//! Regression tests for issue 3 ("The SSH executor and `drover run`").
// A scenario test reads top to bottom as one story; the limit on function
// size is for the product's code and its test harness.
#![allow(clippy::too_many_lines)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use drover_ssh::{
    Become, BecomeMethod, Error, ExecRequest, HostKeyCheck, HostKeyPolicy, HostSession, Secret,
    SshConnection, SshSettings, Transport, UploadOptions,
};
use drover_test_harness::{SUDO_PASSWORD, SUDO_USER, SshHost, TestBed, is_root};

fn settings(
    bed: &TestBed,
    host: &SshHost,
    policy: HostKeyPolicy,
    known_hosts: PathBuf,
) -> SshSettings {
    SshSettings {
        address: host.address.to_string(),
        port: host.port,
        user: bed.user.clone(),
        identity_files: vec![bed.client_key.clone()],
        use_agent: false,
        password: None,
        jump: None,
        connect_timeout: Duration::from_secs(10),
        host_keys: HostKeyCheck {
            policy,
            known_hosts,
        },
    }
}

fn strict(bed: &TestBed, host: &SshHost) -> SshSettings {
    settings(bed, host, HostKeyPolicy::Strict, bed.known_hosts.clone())
}

fn session(settings: SshSettings) -> HostSession {
    HostSession::new(Transport::Ssh(settings), drover_ssh::Handshakes::default())
}

#[tokio::test]
async fn issue_3_exec_returns_output_status_and_stdin() {
    let bed = TestBed::start(1);
    let connection = SshConnection::connect(&strict(&bed, &bed.hosts[0]))
        .await
        .unwrap();
    let output = connection
        .exec(&ExecRequest::new("echo out; echo err >&2; exit 7"))
        .await
        .unwrap();
    assert_eq!(output.stdout, b"out\n");
    assert_eq!(output.stderr, b"err\n");
    assert_eq!(output.exit_status, Some(7));
    let request = ExecRequest {
        stdin: Some(Bytes::from_static(b"fed through stdin")),
        ..ExecRequest::new("tr a-z A-Z")
    };
    let output = connection.exec(&request).await.unwrap();
    assert_eq!(output.stdout, b"FED THROUGH STDIN");
    let whoami = connection.exec(&ExecRequest::new("id -un")).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&whoami.stdout).trim(), bed.user);
}

#[tokio::test]
async fn issue_3_large_output_and_many_channels_on_one_connection() {
    let bed = TestBed::start(1);
    let connection = Arc::new(
        SshConnection::connect(&strict(&bed, &bed.hosts[0]))
            .await
            .unwrap(),
    );
    let output = connection
        .exec(&ExecRequest::new("head -c 10485760 /dev/zero"))
        .await
        .unwrap();
    assert_eq!(output.stdout.len(), 10 * 1024 * 1024);
    let mut tasks = Vec::new();
    for index in 0..20 {
        let connection = connection.clone();
        tasks.push(tokio::spawn(async move {
            connection
                .exec(&ExecRequest::new(format!("echo {index}")))
                .await
                .unwrap()
        }));
    }
    for (index, task) in tasks.into_iter().enumerate() {
        let output = task.await.unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            index.to_string()
        );
    }
}

#[tokio::test]
async fn issue_3_timeouts_cut_commands_off() {
    let bed = TestBed::start(1);
    let connection = SshConnection::connect(&strict(&bed, &bed.hosts[0]))
        .await
        .unwrap();
    let request = ExecRequest {
        timeout: Some(Duration::from_millis(300)),
        ..ExecRequest::new("sleep 30")
    };
    let started = std::time::Instant::now();
    let output = connection.exec(&request).await.unwrap();
    assert!(output.timed_out);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeout did not apply"
    );
    let after = connection
        .exec(&ExecRequest::new("echo still usable"))
        .await
        .unwrap();
    assert!(after.success());
}

#[tokio::test]
async fn issue_3_uploads_are_atomic_with_mode_and_downloads_read_back() {
    let bed = TestBed::start(1);
    let host = session(strict(&bed, &bed.hosts[0]));
    let directory = format!("/tmp/drover-upload-{}", std::process::id());
    host.exec(&ExecRequest::new(format!("mkdir -p {directory}")))
        .await
        .unwrap();
    let destination = format!("{directory}/config.txt");
    let content = Bytes::from(
        (0..200_000u32)
            .map(|byte| u8::try_from(byte % 251).unwrap())
            .collect::<Vec<u8>>(),
    );
    let output = host
        .upload(
            content.clone(),
            &destination,
            &UploadOptions {
                mode: Some(0o640),
                ..UploadOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(
        output.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mode = host
        .exec(&ExecRequest::new(format!(
            "stat -c %a {destination}; ls -A {directory}"
        )))
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&mode.stdout), "640\nconfig.txt\n");
    let back = host.download(&destination, None).await.unwrap();
    assert_eq!(back.stdout, content);
    // A failed upload (no such directory) leaves nothing behind and reports failure.
    let failed = host
        .upload(
            Bytes::from_static(b"x"),
            "/nonexistent/dir/file",
            &UploadOptions::default(),
        )
        .await
        .unwrap();
    assert!(!failed.success());
    host.exec(&ExecRequest::new(format!("rm -rf {directory}")))
        .await
        .unwrap();
}

#[tokio::test]
async fn issue_3_host_keys_are_verified_by_default() {
    let mut bed = TestBed::start(1);
    let empty = bed.directory().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let unknown = SshConnection::connect(&settings(
        &bed,
        &bed.hosts[0],
        HostKeyPolicy::Strict,
        empty.clone(),
    ))
    .await
    .unwrap_err();
    assert!(matches!(unknown, Error::UnknownHostKey { .. }), "{unknown}");

    let learned = bed.directory().join("learned_known_hosts");
    SshConnection::connect(&settings(
        &bed,
        &bed.hosts[0],
        HostKeyPolicy::AcceptNew,
        learned.clone(),
    ))
    .await
    .unwrap();
    let recorded = std::fs::read_to_string(&learned).unwrap();
    assert!(recorded.contains(bed.hosts[0].host_public_key.split(' ').nth(1).unwrap()));
    SshConnection::connect(&settings(
        &bed,
        &bed.hosts[0],
        HostKeyPolicy::Strict,
        learned.clone(),
    ))
    .await
    .unwrap();

    // Hashed entries (`ssh-keygen -H`) are read too.
    let hashed = bed.directory().join("hashed_known_hosts");
    std::fs::copy(&bed.known_hosts, &hashed).unwrap();
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-H", "-f"])
        .arg(&hashed)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(std::fs::read_to_string(&hashed).unwrap().starts_with("|1|"));
    SshConnection::connect(&settings(
        &bed,
        &bed.hosts[0],
        HostKeyPolicy::Strict,
        hashed,
    ))
    .await
    .unwrap();

    bed.hosts[0].regenerate_host_key();
    let changed = SshConnection::connect(&strict(&bed, &bed.hosts[0]))
        .await
        .unwrap_err();
    let Error::ChangedHostKey { line, .. } = changed else {
        panic!("expected a changed key, got {changed}");
    };
    assert_eq!(line, 1);
    let accept_new = SshConnection::connect(&settings(
        &bed,
        &bed.hosts[0],
        HostKeyPolicy::AcceptNew,
        learned,
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(accept_new, Error::ChangedHostKey { .. }),
        "accept-new must refuse a changed key"
    );
    SshConnection::connect(&settings(&bed, &bed.hosts[0], HostKeyPolicy::Off, empty))
        .await
        .unwrap();
}

#[tokio::test]
async fn issue_3_agent_authentication() {
    let bed = TestBed::start(1);
    let socket = bed.directory().join("agent.sock");
    let mut agent = std::process::Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&socket)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let added = std::process::Command::new("ssh-add")
        .arg(&bed.client_key)
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    set_agent_socket(&socket);
    let mut only_agent = strict(&bed, &bed.hosts[0]);
    only_agent.identity_files.clear();
    only_agent.use_agent = true;
    let result = SshConnection::connect(&only_agent).await;
    let _ = agent.kill();
    let _ = agent.wait();
    let connection = result.unwrap();
    assert!(
        connection
            .exec(&ExecRequest::new("true"))
            .await
            .unwrap()
            .success()
    );
}

/// Points `SSH_AUTH_SOCK` at the test agent.
///
/// Only this test reads the variable (the others disable the agent), so
/// changing the shared environment cannot disturb them.
fn set_agent_socket(socket: &std::path::Path) {
    #[allow(unsafe_code)]
    // SAFETY: no other thread of this process reads or writes the environment
    // while this test runs; the other tests never consult the agent.
    unsafe {
        std::env::set_var("SSH_AUTH_SOCK", socket);
    }
}

#[tokio::test]
async fn issue_3_proxy_jump_through_a_bastion() {
    let bed = TestBed::start(2);
    let mut inner = strict(&bed, &bed.hosts[1]);
    inner.jump = Some(Box::new(strict(&bed, &bed.hosts[0])));
    let connection = SshConnection::connect(&inner).await.unwrap();
    let output = connection
        .exec(&ExecRequest::new("echo $SSH_CONNECTION"))
        .await
        .unwrap();
    let seen = String::from_utf8_lossy(&output.stdout).into_owned();
    // The inner host sees the connection coming from the bastion's side of loopback.
    assert!(seen.contains(&bed.hosts[1].address.to_string()), "{seen}");
}

#[tokio::test]
async fn issue_3_become_with_sudo() {
    if !is_root() {
        eprintln!("skipped: needs root to create sudo users");
        return;
    }
    let bed = TestBed::start(1);
    let host = session(strict(&bed, &bed.hosts[0]));
    let request = ExecRequest {
        become_user: Some(Become {
            method: BecomeMethod::Sudo,
            user: "root".to_owned(),
            password: None,
        }),
        ..ExecRequest::new("id -u")
    };
    let output = host.exec(&request).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "0");
    // An upload as root can hand the file to another owner, atomically.
    let destination = format!("/tmp/drover-owned-{}", std::process::id());
    let uploaded = host
        .upload(
            Bytes::from_static(b"owned\n"),
            &destination,
            &UploadOptions {
                mode: Some(0o600),
                owner: Some(SUDO_USER.to_owned()),
                validate: None,
                become_user: request.become_user.clone(),
            },
        )
        .await
        .unwrap();
    assert!(
        uploaded.success(),
        "{}",
        String::from_utf8_lossy(&uploaded.stderr)
    );
    let owner = host
        .exec(&ExecRequest::new(format!("stat -c '%U %a' {destination}")))
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&owner.stdout).trim(),
        format!("{SUDO_USER} 600")
    );
    let _ = std::fs::remove_file(&destination);

    let mut as_sudo_user = strict(&bed, &bed.hosts[0]);
    as_sudo_user.user = SUDO_USER.to_owned();
    let host = session(as_sudo_user);
    let with_password = |password: &str| ExecRequest {
        become_user: Some(Become {
            method: BecomeMethod::Sudo,
            user: "root".to_owned(),
            password: Some(Secret::new(password)),
        }),
        timeout: Some(Duration::from_secs(20)),
        ..ExecRequest::new("id -u")
    };
    let output = host.exec(&with_password(SUDO_PASSWORD)).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "0");
    let wrong = host.exec(&with_password("wrong password")).await.unwrap();
    assert!(!wrong.timed_out, "a wrong sudo password must not hang");
    assert!(!wrong.success());
    let everything = format!(
        "{}{}",
        String::from_utf8_lossy(&wrong.stdout),
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert!(
        !everything.contains("wrong password"),
        "the password leaked: {everything}"
    );
}

#[tokio::test]
async fn issue_3_closed_port_is_unreachable() {
    let bed = TestBed::start(1);
    let mut closed = strict(&bed, &bed.hosts[0]);
    closed.port = 1;
    let error = SshConnection::connect(&closed).await.unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error}");
    assert!(error.is_unreachable());
}

#[tokio::test]
async fn issue_3_killed_sshd_mid_command_and_reconnect_between_commands() {
    let mut bed = TestBed::start(1);
    let host = Arc::new(session(strict(&bed, &bed.hosts[0])));
    assert!(
        host.exec(&ExecRequest::new("true"))
            .await
            .unwrap()
            .success()
    );
    // The connection's sshd child dies between commands: the next command reconnects.
    bed.hosts[0].kill_sessions();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let output = host.exec(&ExecRequest::new("echo again")).await.unwrap();
    assert_eq!(output.stdout, b"again\n");
    // Killed while a command runs: an error, not a hang, and not retried.
    let running = {
        let host = host.clone();
        tokio::spawn(async move { host.exec(&ExecRequest::new("sleep 30")).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    bed.hosts[0].kill_sessions();
    bed.hosts[0].kill();
    let result = tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("no hang")
        .unwrap();
    let error = result.unwrap_err();
    assert!(error.is_unreachable(), "{error}");
}

#[tokio::test]
async fn issue_3_password_authentication() {
    if !is_root() {
        eprintln!("skipped: needs root to give the test user a password");
        return;
    }
    let bed = TestBed::start(1);
    let mut with_password = strict(&bed, &bed.hosts[0]);
    with_password.user = SUDO_USER.to_owned();
    with_password.identity_files.clear();
    with_password.password = Some(Secret::new(SUDO_PASSWORD));
    let connection = SshConnection::connect(&with_password).await.unwrap();
    let output = connection.exec(&ExecRequest::new("id -un")).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), SUDO_USER);
    with_password.password = Some(Secret::new("not the password"));
    let error = SshConnection::connect(&with_password).await.unwrap_err();
    assert!(matches!(error, Error::Authentication { .. }), "{error}");
    assert!(!error.to_string().contains("not the password"));
}

#[tokio::test]
async fn issue_3_passphrase_protected_keys_get_a_clear_error() {
    let bed = TestBed::start(1);
    let key = bed.directory().join("locked_key");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "a passphrase", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    let mut locked = strict(&bed, &bed.hosts[0]);
    locked.identity_files = vec![key];
    let error = SshConnection::connect(&locked).await.unwrap_err();
    assert!(
        error.to_string().contains("passphrase-protected"),
        "{error}"
    );
}

#[tokio::test]
async fn issue_3_ssh_config_supplies_host_name_user_port_key_and_jump() {
    let bed = TestBed::start(2);
    let config = bed.directory().join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host bastion\n  HostName {}\n  Port {}\n  User {user}\n  IdentityFile {key}\n\n\
             Host inner\n  HostName {}\n  Port {}\n  User {user}\n  IdentityFile {key}\n  ProxyJump bastion\n",
            bed.hosts[0].address,
            bed.hosts[0].port,
            bed.hosts[1].address,
            bed.hosts[1].port,
            user = bed.user,
            key = bed.client_key.display(),
        ),
    )
    .unwrap();
    let defaults = drover_ssh::ConnectionDefaults {
        user: None,
        private_key: None,
        connect_timeout: Duration::from_secs(10),
        host_keys: HostKeyCheck {
            policy: HostKeyPolicy::Strict,
            known_hosts: bed.known_hosts.clone(),
        },
        ssh_config: drover_ssh::ConnectionDefaults::load_ssh_config(Some(&config)),
        ..drover_ssh::ConnectionDefaults::default()
    };
    let transport = drover_ssh::transport_for("inner", &serde_json::Map::new(), &defaults);
    let Transport::Ssh(settings) = &transport else {
        panic!("expected ssh")
    };
    assert_eq!(settings.address, bed.hosts[1].address.to_string());
    assert_eq!(
        settings.jump.as_ref().unwrap().address,
        bed.hosts[0].address.to_string()
    );
    let host = HostSession::new(transport, drover_ssh::Handshakes::default());
    let output = host.exec(&ExecRequest::new("id -un")).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), bed.user);
}

#[tokio::test]
async fn issue_3_become_with_su_from_root() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let bed = TestBed::start(1);
    let mut as_root = strict(&bed, &bed.hosts[0]);
    as_root.user = "root".to_owned();
    let host = session(as_root);
    let request = ExecRequest {
        become_user: Some(Become {
            method: BecomeMethod::Su,
            user: bed.user.clone(),
            password: None,
        }),
        ..ExecRequest::new("id -un")
    };
    let output = host.exec(&request).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), bed.user);
}

#[tokio::test]
async fn issue_4_the_long_lived_shell_frames_output_exactly() {
    let bed = TestBed::start(1);
    let host = session(strict(&bed, &bed.hosts[0]));
    let shell = |command: &str| ExecRequest {
        reuse_shell: true,
        ..ExecRequest::new(command)
    };
    let output = host
        .exec(&shell("printf 'a\\n\\n'; echo oops >&2; exit 3"))
        .await
        .unwrap();
    assert_eq!(output.stdout, b"a\n\n", "trailing newlines survive");
    assert_eq!(output.stderr, b"oops\n");
    assert_eq!(output.exit_status, Some(3));
    // Nothing leaks between commands, and a syntax error does not break the shell.
    host.exec(&shell("cd /; X=1")).await.unwrap();
    let output = host
        .exec(&shell("pwd; echo \"${X:-unset}\""))
        .await
        .unwrap();
    assert_ne!(output.stdout, b"/\n1\n");
    assert!(String::from_utf8_lossy(&output.stdout).ends_with("unset\n"));
    let broken = host.exec(&shell("echo 'unclosed")).await.unwrap();
    assert!(!broken.success());
    assert!(host.exec(&shell("true")).await.unwrap().success());
    let text = host
        .exec(&shell("yes drover | head -c 1048576"))
        .await
        .unwrap();
    assert_eq!(text.stdout.len(), 1_048_576);
    let slow = ExecRequest {
        timeout: Some(Duration::from_millis(300)),
        ..shell("sleep 30")
    };
    assert!(host.exec(&slow).await.unwrap().timed_out);
    assert!(
        host.exec(&shell("echo after")).await.unwrap().success(),
        "a new shell after a timeout"
    );
    // The connection dies between commands: the next one reconnects.
    bed.hosts[0].kill_sessions();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let output = host.exec(&shell("echo again")).await.unwrap();
    assert_eq!(output.stdout, b"again\n");
}

//! `packaging/webqris.service` and `packaging/webqris.sysusers`, checked by systemd's own tools
//! (installed by scripts/setup.d/40-systemd.sh): `systemd-analyze verify` accepts the unit without a
//! warning, `systemd-analyze security` rates it well hardened, `systemd-sysusers` creates the service
//! user from the sysusers file, and every setting the unit passes is one the server knows.
//!
//! Nothing is started: the machine running the tests has no systemd as its init. The one skip: when
//! `systemd-analyze` cannot verify even a trivial unit here (a container without what it needs), the
//! test says so and why, and checks the rest.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PACKAGING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../packaging");

fn packaged(name: &str) -> String {
    let path = Path::new(PACKAGING).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs a systemd tool; fails the test, naming the setup script, when the tool is not installed.
fn systemd_tool(tool: &str, args: &[&str]) -> Output {
    Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e} (scripts/setup.d/40-systemd.sh installs it)"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The unit as installed, with `ExecStart` pointing at the binary just built (verify checks that the
/// program exists and is executable), written into `dir`.
fn unit_in(dir: &Path) -> PathBuf {
    let unit: String = packaged("webqris.service")
        .lines()
        .map(
            |line| match line.strip_prefix("ExecStart=/usr/local/bin/webqris") {
                Some(args) => format!("ExecStart={}{args}\n", env!("CARGO_BIN_EXE_webqris")),
                None => format!("{line}\n"),
            },
        )
        .collect();
    assert!(
        unit.contains(env!("CARGO_BIN_EXE_webqris")),
        "one ExecStart"
    );
    let path = dir.join("webqris.service");
    std::fs::write(&path, unit).expect("write the unit");
    path
}

/// The values of `key=` lines of the unit, in order.
fn settings<'u>(unit: &'u str, key: &str) -> Vec<&'u str> {
    unit.lines()
        .filter_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn systemd_analyze_verifies_the_unit_without_a_warning_and_rates_it_hardened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let trivial = dir.path().join("trivial.service");
    std::fs::write(&trivial, "[Service]\nExecStart=/bin/true\n").expect("write");
    let baseline = systemd_tool(
        "systemd-analyze",
        &["verify", &trivial.display().to_string()],
    );
    if !baseline.status.success() || !baseline.stderr.is_empty() {
        println!(
            "SKIPPED: systemd-analyze cannot verify even a trivial unit on this machine: {}",
            text(&baseline.stderr)
        );
        return;
    }

    let unit = unit_in(dir.path());
    let unit = unit.display().to_string();
    let verified = systemd_tool("systemd-analyze", &["verify", &unit]);
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    assert_eq!(text(&verified.stderr), "", "systemd-analyze verify warns");

    // The exposure score is 0–10 in the report and 0–100 for --threshold: at most 2.0 ("OK").
    let security = systemd_tool(
        "systemd-analyze",
        &[
            "security",
            "--offline=yes",
            "--threshold=20",
            "--no-pager",
            &unit,
        ],
    );
    let report = text(&security.stdout);
    assert!(
        security.status.success(),
        "{report}{}",
        text(&security.stderr)
    );
    let overall = report
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .expect("an overall exposure level");
    println!("{overall}");
}

#[test]
fn the_unit_runs_as_its_own_user_in_a_read_only_system_and_passes_only_known_settings() {
    let unit = packaged("webqris.service");
    for (key, value) in [
        ("User", "webqris"),
        ("StateDirectory", "webqris"),
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
        ("KillSignal", "SIGTERM"),
    ] {
        assert_eq!(settings(&unit, key), [value], "{key}");
    }
    let known: Vec<&str> = webqris_server::config::ENVIRONMENT
        .iter()
        .map(|(name, _)| *name)
        .collect();
    let environment = settings(&unit, "Environment");
    assert!(!environment.is_empty());
    for assignment in environment {
        let (name, value) = assignment.split_once('=').expect("NAME=value");
        assert!(
            known.contains(&name),
            "{name} is not a setting of the server"
        );
        if name == "WEBQRIS_DB" {
            assert!(
                value.starts_with("/var/lib/webqris/"),
                "the database lives in the StateDirectory: {value}"
            );
        }
    }
}

#[test]
fn systemd_sysusers_creates_the_service_user_with_its_state_directory_as_home() {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(root.path().join("etc")).expect("etc");
    let created = systemd_tool(
        "systemd-sysusers",
        &[
            &format!("--root={}", root.path().display()),
            &format!("{PACKAGING}/webqris.sysusers"),
        ],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).expect("passwd written");
    let user: Vec<&str> = passwd
        .lines()
        .find(|l| l.starts_with("webqris:"))
        .expect("the webqris user")
        .split(':')
        .collect();
    assert_eq!(user[5], "/var/lib/webqris", "home");
    assert_eq!(user[6], "/usr/sbin/nologin", "no login shell");
    let uid: u32 = user[2].parse().expect("uid");
    assert!(uid > 0 && uid < 1000, "a system user: {uid}");
}

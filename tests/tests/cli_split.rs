//! `earshot` links no model runtime; `earshot-engine` does and runs `serve`, `classify` and `eval` (ADR 0007).
//!
//! Both binaries find libtorch only through their rpath (`$ORIGIN/../../.earshot/libtorch/lib`). Copied into
//! a temp folder with `LD_LIBRARY_PATH` cleared, a binary that needs libtorch cannot even be loaded, so the
//! copies show which one needs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use earshot_tests::earshot_bin;

fn engine_bin() -> PathBuf {
    earshot_bin().with_file_name("earshot-engine")
}

/// Copies `bin` into `dir` under `name`, where no rpath reaches libtorch.
fn copy_to(bin: &Path, dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(bin, &to).expect("copy binary");
    to
}

fn run_isolated(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("EARSHOT_ENGINE")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("spawn binary")
}

#[test]
fn client_commands_run_without_the_model_runtime() {
    let dir = tempfile::tempdir().expect("temp dir");
    let earshot = copy_to(&earshot_bin(), dir.path(), "earshot");
    let version = run_isolated(&earshot, &["--version"]);
    assert!(version.status.success(), "earshot --version: {}", String::from_utf8_lossy(&version.stderr));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("earshot "));
    let help = run_isolated(&earshot, &["search", "--help"]);
    assert!(help.status.success(), "earshot search --help: {}", String::from_utf8_lossy(&help.stderr));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--limit"));
    // A client command that does real work: offline key management of a data folder.
    let data = dir.path().join("data");
    let keys = run_isolated(
        &earshot,
        &[
            "keys",
            "create",
            "--data-dir",
            data.to_str().expect("utf-8 temp path"),
            "--tenant",
            "acme",
            "--role",
            "analyst",
        ],
    );
    assert!(keys.status.success(), "earshot keys create: {}", String::from_utf8_lossy(&keys.stderr));
}

#[test]
fn the_engine_is_what_needs_libtorch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = copy_to(&engine_bin(), dir.path(), "earshot-engine");
    let out = run_isolated(&engine, &["--version"]);
    assert!(!out.status.success(), "the engine started without libtorch: is the test still isolating it?");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("libtorch") || stderr.contains("libc10"), "{stderr}");
}

#[test]
fn model_commands_without_an_engine_say_where_it_is_expected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let earshot = copy_to(&earshot_bin(), dir.path(), "earshot");
    let out = run_isolated(&earshot, &["classify"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("earshot-engine") && stderr.contains("EARSHOT_ENGINE"), "{stderr}");
    assert!(stderr.contains(&dir.path().join("earshot-engine").display().to_string()), "{stderr}");
}

#[test]
fn serve_runs_in_the_engine_under_the_same_pid() {
    // `earshot serve` replaces itself by the engine: the pid a supervisor holds is the server's.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(earshot_bin())
        .args(["serve", "--no-classifier", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--http-listen", "off", "--metrics-listen", "off"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn earshot serve");
    let pid = child.id();
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).expect("read the listening line");
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("exe of the server");
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert_eq!(exe.file_name().and_then(|n| n.to_str()), Some("earshot-engine"), "{line}");
}

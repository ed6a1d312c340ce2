//! `sightline proxy` flags it cannot serve: refused with the reason, before anything
//! starts (no database opened, no password generated).

use super::*;

#[test]
fn flags_it_cannot_serve_are_refused_before_anything_starts() {
    let dir = TempDir::new("proxy-refused");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--upstream", "http://admin:s3cret@127.0.0.1:9"],
            "credentials in the URL",
        ),
        (&["--upstream", "admin:s3cret@127.0.0.1:9"], "http://"),
        (&["--upstream", "https://127.0.0.1:9"], "HTTPS upstreams"),
        (&["--upstream", "http://127.0.0.1:9", "--demo"], "--demo"),
    ];
    for (args, why) in cases {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_sightline"))
            .arg("proxy")
            .args(args)
            .args(["--listen", "127.0.0.1:0", "--db-path"])
            .arg(dir.db())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(why), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("s3cret"),
            "the password is not repeated: {stderr}"
        );
        assert!(
            !stderr.contains("with password"),
            "no password was generated: {stderr}"
        );
        assert!(!dir.db().exists(), "{args:?}: no database was opened");
    }
}

//! A state directory that cannot be used (a file in its place, its database replaced by a
//! file, a damaged store) is reported with its path and how to recover, and exits with 5,
//! never with 2 ("bad input"): the runbook and arguments may be fine. Real sled stores on
//! disk; the messages are snapshots with the temporary path written `[STATE]`.

mod support;

use std::path::Path;

use support::Quorate;

/// The documented exit code for a state directory that cannot be used (docs/cli.md).
const UNUSABLE_STATE: i32 = 5;

/// `quorate --state STATE ARGS`, asserting the exit code; stderr with the path replaced.
fn refused(state: &Path, args: &[&str]) -> String {
    let out = Quorate::new().arg("--state").arg(state).args(args).run();
    assert_eq!(
        out.code, UNUSABLE_STATE,
        "quorate {args:?}\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let shown = state.display().to_string();
    assert!(
        out.stderr.contains(&shown),
        "the message does not name {shown}:\n{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: "), "no hint:\n{}", out.stderr);
    out.stderr.replace(&shown, "[STATE]")
}

/// A new, empty store, as the first `quorate run` leaves it (`runs` creates nothing).
fn create_store(state: &Path) {
    drop(quorate::store::SledStore::open(state).expect("create the store"));
}

#[test]
fn a_file_where_the_state_directory_should_be() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let state = dir.path().join("state");
    std::fs::write(&state, "not a directory\n").expect("write the file");
    let runs = refused(&state, &["runs"]);
    insta::assert_snapshot!(runs);
    // Every command that opens the store says the same.
    for args in [
        &["show", "r1"][..],
        &["logs", "r1"],
        &["approve", "r1"],
        &["abandon", "r1"],
        &["resume", "r1"],
    ] {
        assert_eq!(refused(&state, args), runs, "quorate {args:?}");
    }
    assert_eq!(
        std::fs::read_to_string(&state).expect("read the file"),
        "not a directory\n",
        "the file was changed"
    );
}

#[test]
fn a_store_whose_database_cannot_be_opened() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let state = dir.path().join("state");
    create_store(&state);
    // sled's directory replaced by a file: opening it fails with an I/O error.
    std::fs::remove_dir_all(state.join("db")).expect("remove the database");
    std::fs::write(state.join("db"), "x").expect("write the file");
    insta::assert_snapshot!(refused(&state, &["runs"]));
}

#[test]
fn a_damaged_store() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let state = dir.path().join("state");
    create_store(&state);
    {
        // The store's format record overwritten with bytes that are not a record.
        let db = sled::open(state.join("db")).expect("open the store's database");
        let meta = db.open_tree("meta").expect("meta tree");
        meta.insert(b"format", &b"\x00\xffnot json"[..])
            .expect("overwrite the format");
        db.flush().expect("flush");
    }
    let runs = refused(&state, &["runs"]);
    insta::assert_snapshot!(runs);
    assert_eq!(refused(&state, &["show", "r1"]), runs);
}

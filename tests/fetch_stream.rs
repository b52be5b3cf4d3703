//! `fetch` over a real sshd: a file of any size arrives in bounded memory, through a private
//! temporary file beside the destination, and only a whole, verified file gets the final name.

mod support;

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Instant;

use quorate::transport::{partial_path, Connections, Download};
use support::sshd::SshCluster;

/// The process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmHWM")
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// One test, so that nothing else in this process moves its peak memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_streams_any_size_to_a_verified_file_renamed_into_place() {
    let cluster = SshCluster::start(1);
    let conns = Connections::new(cluster.settings(), cluster.dir().join("ctl")).expect("conns");
    let host = cluster.spec(0);
    let out = cluster.dir().join("backups/r1/node0");

    // Larger than the 256 MiB that `fetch` used to hold in memory: a sparse file with a
    // marked head and tail, so its content is checked at both ends.
    let size: u64 = 260 << 20;
    let big = cluster.hosts[0].home.join("big.img");
    {
        let mut f = fs::File::create(&big).expect("big file");
        f.write_all(b"HEAD").expect("write");
        f.set_len(size - 4).expect("set_len");
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(&big)
            .expect("reopen");
        f.write_all(b"TAIL").expect("write");
    }
    let dest = out.join("big.img");
    // An earlier attempt that was killed left its temporary file (world-readable junk).
    fs::create_dir_all(&out).expect("dest dir");
    let partial = partial_path(&dest);
    fs::write(&partial, b"half of an older attempt").expect("leftover");
    fs::set_permissions(&partial, fs::Permissions::from_mode(0o644)).expect("chmod");

    let before = peak_rss_kib();
    let started = Instant::now();
    let got = conns
        .download_to(&host, big.to_str().expect("utf-8"), &dest)
        .await
        .expect("download");
    let took = started.elapsed();
    let grew_mib = (peak_rss_kib().saturating_sub(before)) / 1024;
    println!(
        "fetched 260 MiB in {took:?} ({:.0} MiB/s); peak memory grew by {grew_mib} MiB",
        260.0 / took.as_secs_f64()
    );
    assert_eq!(got, Download::Written { bytes: size });
    assert_eq!(fs::metadata(&dest).expect("dest").len(), size);
    let mut head = [0u8; 4];
    let mut f = fs::File::open(&dest).expect("open dest");
    std::io::Read::read_exact(&mut f, &mut head).expect("head");
    assert_eq!(&head, b"HEAD");
    std::io::Seek::seek(&mut f, std::io::SeekFrom::End(-4)).expect("seek");
    std::io::Read::read_exact(&mut f, &mut head).expect("tail");
    assert_eq!(&head, b"TAIL");
    assert_eq!(mode_of(&dest), 0o600, "a fetched file is private");
    assert!(!partial.exists(), "the temporary file was left behind");
    assert!(
        grew_mib < 64,
        "peak memory grew by {grew_mib} MiB for a 260 MiB file"
    );
    fs::remove_file(&big).expect("rm big");
    fs::remove_file(&dest).expect("rm dest");

    // The same content again is left alone.
    let small = cluster.hosts[0].home.join("manifest.json");
    fs::write(&small, b"{\"height\": 12}\n").expect("small");
    let small_dest = out.join("manifest.json");
    let src = small.to_str().expect("utf-8");
    assert_eq!(
        conns
            .download_to(&host, src, &small_dest)
            .await
            .expect("1st"),
        Download::Written { bytes: 15 }
    );
    assert_eq!(
        conns
            .download_to(&host, src, &small_dest)
            .await
            .expect("2nd"),
        Download::Same
    );
    // Changed content replaces the old file whole.
    fs::write(&small, b"{\"height\": 13}\n").expect("changed");
    conns
        .download_to(&host, src, &small_dest)
        .await
        .expect("3rd");
    assert_eq!(fs::read(&small_dest).expect("read"), b"{\"height\": 13}\n");

    // A missing source fails with its name, and leaves the destination and no temp file.
    let err = conns
        .download_to(&host, "gone.tar.gz", &small_dest)
        .await
        .expect_err("missing source");
    assert_eq!(
        err.to_string(),
        "node0: cannot read gone.tar.gz: gone.tar.gz: no such file"
    );
    assert_eq!(fs::read(&small_dest).expect("read"), b"{\"height\": 13}\n");
    let names: Vec<String> = fs::read_dir(&out)
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["manifest.json"],
        "files in the destination directory"
    );
    conns.close().await;
}

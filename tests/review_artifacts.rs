//! Review artifacts on real hosts (real sshd on 127.0.0.x, a real store): a secret stays
//! out of every artifact of a run, and the HTML plan and report render their pictures in
//! headless Chromium.

#[path = "support/engine_lab.rs"]
mod lab;
mod support;

use std::path::Path;
use std::process::Command;

use lab::{run_id, Lab};
use support::{files_under, holds, Output};

const SECRET: &str = "Zq7-S3cret-vault-token";

const VAULT: &str = r#"runbook: vault
params:
  token: { secret: true }
  region: { default: eu-1 }
on: all
steps:
  - id: use
    run: printf %s "$TOKEN" > {{host.vars.node_dir}}/token; echo "using $TOKEN in {{params.region}}"
    env:
      TOKEN: "Bearer {{params.token}}"
  - id: ask
    approve: "Roll out to {{params.region}}?"
  - id: break
    on: node0
    run: echo "refused $TOKEN" >&2; exit 3
    env:
      TOKEN: "{{params.token}}"
"#;

/// `quorate ARGS` in the lab with the secret in the environment, stdout and stderr together.
fn transcript(lab: &Lab, args: &[&str]) -> (i32, String) {
    let Output {
        code,
        stdout,
        stderr,
    } = lab
        .quorate()
        .env("QUORATE_PARAM_TOKEN", SECRET)
        .args(args)
        .run();
    (code, format!("{stdout}{stderr}"))
}

#[test]
fn a_secret_is_in_no_artifact_of_a_run() {
    let lab = Lab::new(2, "");
    let rb = lab.runbook(VAULT);
    let rb = rb.to_str().unwrap();
    let inv = lab.path("inventory.yaml");
    let inv = inv.to_str().unwrap();
    let saved = lab.path("saved-plan.json");
    let mut artifacts: Vec<(String, Vec<u8>)> = Vec::new();
    let mut keep = |name: &str, text: String| artifacts.push((name.to_owned(), text.into_bytes()));

    for format in ["text", "json", "markdown", "html"] {
        let (code, out) = transcript(
            &lab,
            &[
                "plan",
                rb,
                "-i",
                inv,
                "--format",
                format,
                "--out",
                saved.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{out}");
        keep(&format!("plan --format {format}"), out);
    }
    keep("plan --out", std::fs::read_to_string(&saved).unwrap());

    let (code, out) = transcript(&lab, &["-v", "run", rb, "-i", inv, "--plain"]);
    assert_eq!(code, 3, "the run waits at its approval: {out}");
    let run = run_id(&out);
    keep("run (text logs)", out);
    let (code, out) = transcript(&lab, &["approve", &run, "--comment", "checked"]);
    assert_eq!(code, 0, "{out}");
    keep("approve", out);
    let (code, out) = transcript(
        &lab,
        &["-v", "--log-format", "json", "resume", &run, "--plain"],
    );
    assert_eq!(code, 1, "the last step fails: {out}");
    assert!(out.contains("error: run"), "an error message: {out}");
    keep("resume (json logs, error message)", out);
    // The secret reached the hosts it was given to, so there was something to leak.
    assert_eq!(lab.read(0, "token"), format!("Bearer {SECRET}"));

    for args in [
        vec!["logs", &run],
        vec!["logs", &run, "--format", "json"],
        vec!["show", &run],
        vec!["show", &run, "--format", "json"],
        vec!["report", &run, "--format", "html"],
        vec!["report", &run, "--format", "markdown"],
        vec!["runs", "--format", "json"],
    ] {
        let (code, out) = transcript(&lab, &args);
        assert_eq!(code, 0, "{args:?}: {out}");
        keep(&args.join(" "), out);
    }
    let logs = &artifacts
        .iter()
        .find(|(n, _)| n.starts_with("logs "))
        .unwrap()
        .1;
    assert!(
        holds(logs, b"using Bearer *** in eu-1"),
        "the output that printed the secret is kept, masked: {}",
        String::from_utf8_lossy(logs)
    );
    let report = &artifacts
        .iter()
        .find(|(n, _)| n.starts_with("report") && n.ends_with("markdown"))
        .unwrap()
        .1;
    assert!(
        holds(report, b"refused ***"),
        "the failure's output is in the report, masked: {}",
        String::from_utf8_lossy(report)
    );

    // Everything on disk: the store, the controller's journal, every host's journal.
    let mut on_disk = files_under(&lab.path("state"));
    on_disk.extend(files_under(&lab.path(".quorate")));
    for h in &lab.cluster.hosts {
        on_disk.extend(files_under(&h.home.join(".quorate")));
    }
    assert!(
        on_disk.iter().any(|p| p.starts_with(lab.path("state"))),
        "the store has files"
    );
    for p in on_disk {
        artifacts.push((p.display().to_string(), std::fs::read(&p).unwrap()));
    }

    let leaks: Vec<&str> = artifacts
        .iter()
        .filter(|(_, bytes)| holds(bytes, SECRET.as_bytes()))
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(leaks.is_empty(), "the secret is in: {leaks:?}");
    assert!(
        artifacts.len() > 20,
        "{} artifacts looked at",
        artifacts.len()
    );
}

/// The PNG's size and the number of distinct colours in it.
fn png_colours(path: &Path) -> (u64, usize) {
    let size = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("no screenshot {}: {e}", path.display()))
        .len();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let pixel = info.color_type.samples() * usize::from(info.bit_depth as u8).max(8) / 8;
    let mut colours: Vec<&[u8]> = buf[..info.buffer_size()].chunks(pixel).collect();
    colours.sort_unstable();
    colours.dedup();
    (size, colours.len())
}

/// Headless Chromium on a local file: a screenshot, then the DOM it built.
fn render(page: &Path, shot: &Path, profile: &Path) -> String {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| {
            panic!(
                "chromium is missing: install it (`apt-get install chromium`; scripts/test does)"
            )
        });
    let url = format!("file://{}", page.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
    ];
    let profile = format!("--user-data-dir={}", profile.display());
    // `timeout` ends Chromium if it hangs; it stops its own child.
    let shot_run = Command::new("timeout")
        .args(["120", chromium])
        .args(common)
        .arg(&profile)
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,1600")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        shot_run.status.success(),
        "chromium --screenshot: {}",
        String::from_utf8_lossy(&shot_run.stderr)
    );
    let dom = Command::new("timeout")
        .args(["120", chromium])
        .args(common)
        .arg(&profile)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(dom.status.success(), "chromium --dump-dom");
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

#[test]
fn the_html_plan_and_report_draw_their_graph_and_timeline_in_headless_chromium() {
    let lab = Lab::new(2, "");
    let rb = lab.runbook(
        "runbook: pictured\nparams:\n  note: { default: \"<script>alert(1)</script>\" }\non: all\nsteps:\n  - id: prepare\n    run: echo {{params.note}}\n  - id: work\n    run: sleep 1; echo worked\n  - id: check\n    on: node1\n    run: echo 'not <b>ok</b>' >&2; exit 2\n",
    );
    let before = lab
        .compile_command("plan", &rb, &["--format", "markdown"])
        .success();
    assert!(
        before.contains("- **estimated duration**: no past runs of \\`pictured\\` in this store"),
        "{before}"
    );
    assert_eq!(lab.run(&rb, &[]).code, 1);
    let plan = lab.path("plan.html");
    let out = lab
        .compile_command("plan", &rb, &["--format", "html"])
        .success();
    std::fs::write(&plan, &out).unwrap();
    // The estimate: the medians of the steps that finished, at least the 1s `work` sleeps
    // (more on a loaded machine).
    let estimate = out
        .split("<span id=\"estimate\">")
        .nth(1)
        .and_then(|e| e.split("</span>").next())
        .unwrap_or_default();
    assert!(
        estimate.starts_with("about ")
            && !estimate.starts_with("about 0.")
            && estimate
                .contains("over 1 past run, along the longest path); no past data for check"),
        "{estimate}"
    );
    // The digest a reviewer reads is the one the run recorded for the plan it ran.
    let recorded = lab.show("latest")["run"]["plan_digest"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        out.contains(&format!("<b>plan digest</b>: sha256 {recorded}</li>")),
        "the plan's digest is the run's {recorded}"
    );
    assert!(
        out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the value is shown, escaped"
    );
    let report = lab.path("report.html");
    lab.quorate()
        .args(["report", "latest", "--format", "html", "--out"])
        .arg(&report)
        .run()
        .success();
    for page in [&plan, &report] {
        let text = std::fs::read_to_string(page).unwrap();
        for fetch in ["src=", "href=", "<link", "<script", "url("] {
            assert!(
                !text.contains(fetch),
                "{} fetches with {fetch}",
                page.display()
            );
        }
    }
    assert!(
        std::fs::read_to_string(&report)
            .unwrap()
            .contains("not &lt;b&gt;ok&lt;/b&gt;"),
        "the failure's output is shown, escaped"
    );

    let profile = tempfile::tempdir().unwrap();
    let dom = render(&plan, &lab.path("plan.png"), profile.path());
    assert!(dom.contains("<svg id=\"plan-graph\""), "{dom}");
    assert_eq!(
        dom.matches("<g class=\"node task\">").count(),
        5,
        "a box per task: {dom}"
    );
    assert!(dom.contains("<line class=\"edge\""));
    let dom = render(&report, &lab.path("report.png"), profile.path());
    assert!(dom.contains("<svg id=\"timeline\""), "{dom}");
    assert_eq!(dom.matches("class=\"bar done\"").count(), 4, "{dom}");
    assert_eq!(dom.matches("class=\"bar failed\"").count(), 1, "{dom}");

    for shot in ["plan.png", "report.png"] {
        let (size, colours) = png_colours(&lab.path(shot));
        eprintln!("{shot}: {size} bytes, {colours} colours");
        assert!(size > 20_000, "{shot} is {size} bytes");
        assert!(colours > 16, "{shot} has {colours} colours");
    }
}

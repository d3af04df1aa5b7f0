//! The run report in a real browser: headless Chromium, driven over the
//! DevTools protocol on a pipe, loads the report of a small run with
//! JavaScript disabled and must see no console message, no exception, no
//! request leaving the page, no failed load; the live DOM must hold every
//! section (curves, table, a confusion matrix of 100 cells, gallery,
//! tiles) and the full-page screenshot must not be blank.
//!
//! Chromium is not part of the Rust toolchain, so these tests are ignored
//! by default; `.ci/run` installs Chromium and runs them:
//! `cargo test --release --test report_browser -- --ignored`. Without
//! Chromium they fail, never pass silently. Set `CHROMIUM` to the browser,
//! `REPORT_RUN` to check an existing run folder instead of a fresh small
//! run, and `REPORT_SCREENSHOT` to keep the screenshot (the README's is
//! made this way). The profile page (`mlp profile`'s `profile.html`) gets
//! the same checks with its own sections (`PROFILE_DIR`,
//! `PROFILE_SCREENSHOT`; docs/profile.png is made this way).

#[allow(dead_code)]
#[path = "../src/bin/mlp/json.rs"]
mod json;
#[allow(dead_code)]
#[path = "../src/bin/mlp/json_read.rs"]
mod json_read;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use json::Json;

/// Longest wait for any one answer from the browser.
const TIMEOUT: Duration = Duration::from_secs(60);
const WIDTH: u32 = 1280;

fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let names = ["chromium", "chromium-browser", "google-chrome"];
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
        .expect("no Chromium found: install it (apt-get install -y chromium) or set CHROMIUM to the browser")
}

/// A fresh folder; unique across the tests running in parallel in this
/// process, so that two browsers never share a profile or its pipes.
fn temp_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("mlp-browser-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts headless Chromium with its DevTools protocol on two named pipes
/// in `profile`; returns it and the pipes to and from it.
fn spawn_chromium(profile: &Path) -> (Child, File, File) {
    let (to_path, from_path) = (profile.join("to-browser"), profile.join("from-browser"));
    for fifo in [&to_path, &from_path] {
        assert!(Command::new("mkfifo").arg(fifo).status().expect("run mkfifo").success(), "mkfifo failed");
    }
    // The shell opens the pipes as descriptors 3 and 4 and becomes Chromium.
    let child = Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$0" "$@" 3<"$TO_BROWSER" 4>"$FROM_BROWSER""#)
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            &format!("--user-data-dir={}", profile.join("user-data").display()),
        ])
        .env("TO_BROWSER", &to_path)
        .env("FROM_BROWSER", &from_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Chromium");
    // Opening a pipe waits for the other end: do it off this thread, so
    // that a browser that never starts fails the test instead of hanging it.
    let (opened_tx, opened) = channel();
    std::thread::spawn(move || {
        let to = OpenOptions::new().write(true).open(&to_path);
        let from = File::open(&from_path);
        let _ = opened_tx.send(to.and_then(|t| from.map(|f| (t, f))));
    });
    let (to, from) = opened.recv_timeout(TIMEOUT).expect("Chromium did not open its pipes").expect("open pipes");
    (child, to, from)
}

/// Headless Chromium with its DevTools protocol on two named pipes.
struct Browser {
    child: Child,
    to: File,
    from: Receiver<String>,
    next_id: u64,
    session: String,
    /// Every event received so far, in order.
    events: Vec<Json>,
    profile: PathBuf,
}

impl Browser {
    fn start() -> Browser {
        let profile = temp_dir("profile");
        let (child, to, from_file) = spawn_chromium(&profile);
        let (tx, from) = channel();
        std::thread::spawn(move || {
            // Messages are JSON texts each ended by a NUL byte.
            let mut reader = std::io::BufReader::new(from_file);
            let mut message = Vec::new();
            while std::io::BufRead::read_until(&mut reader, 0, &mut message).is_ok_and(|n| n > 0) {
                message.pop_if(|b| *b == 0);
                if tx.send(String::from_utf8_lossy(&message).into_owned()).is_err() {
                    break;
                }
                message.clear();
            }
        });
        let mut browser = Browser { child, to, from, next_id: 0, session: String::new(), events: Vec::new(), profile };
        let target = browser.call("Target.createTarget", r#"{"url":"about:blank"}"#);
        let target_id = target.str_at(&["targetId"]).expect("a target id").to_string();
        let attached =
            browser.call("Target.attachToTarget", &format!(r#"{{"targetId":"{target_id}","flatten":true}}"#));
        browser.session = attached.str_at(&["sessionId"]).expect("a session id").to_string();
        browser
    }

    /// Sends a command (to the page's session once attached) and returns its
    /// result; events that arrive meanwhile are kept.
    fn call(&mut self, method: &str, params: &str) -> Json {
        self.next_id += 1;
        let id = self.next_id;
        let session =
            if self.session.is_empty() { String::new() } else { format!(r#","sessionId":"{}""#, self.session) };
        let message = format!(r#"{{"id":{id},"method":"{method}","params":{params}{session}}}"#);
        self.to.write_all(message.as_bytes()).and_then(|()| self.to.write_all(b"\0")).expect("write to Chromium");
        loop {
            let reply = self.receive(&format!("the answer to {method}"));
            if reply.num_at(&["id"]) == Some(id as f64) {
                if let Some(error) = reply.at(&["error"]) {
                    panic!("{method} failed: {}", error.to_compact());
                }
                return reply.at(&["result"]).cloned().unwrap_or(Json::Null);
            }
        }
    }

    fn receive(&mut self, what: &str) -> Json {
        let text = self
            .from
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("Chromium sent nothing while waiting for {what}"));
        let message = json_read::parse(&text).unwrap_or_else(|e| panic!("Chromium sent bad JSON ({e}): {text}"));
        if message.at(&["method"]).is_some() {
            self.events.push(message.clone());
        }
        message
    }

    /// Waits for an event of the page's session.
    fn wait_for(&mut self, method: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while !self.events.iter().any(|e| e.str_at(&["method"]) == Some(method)) {
            assert!(Instant::now() < deadline, "no {method} within {TIMEOUT:?}");
            self.receive(method);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.session.clear();
        let _ = self.to.write_all(br#"{"id":999999,"method":"Browser.close","params":{}}"#);
        let _ = self.to.write_all(b"\0");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && self.child.try_wait().ok().flatten().is_none() {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// What the browser saw of one page.
struct Visit {
    /// Console messages, exceptions, failed or outside requests.
    problems: Vec<String>,
    /// The live DOM after loading.
    dom: String,
    /// The full-page screenshot.
    png: Vec<u8>,
}

/// Loads `page` with JavaScript disabled and records what went wrong.
fn visit(page: &Path) -> Visit {
    let url = format!("file://{}", page.canonicalize().expect("the page exists").display());
    let mut b = Browser::start();
    b.call("Emulation.setScriptExecutionDisabled", r#"{"value":true}"#);
    for domain in ["Page", "Runtime", "Log", "Network"] {
        b.call(&format!("{domain}.enable"), "{}");
    }
    let metrics =
        |height: u32| format!(r#"{{"width":{WIDTH},"height":{height},"deviceScaleFactor":1,"mobile":false}}"#);
    b.call("Emulation.setDeviceMetricsOverride", &metrics(900));
    b.call("Page.navigate", &format!(r#"{{"url":"{url}"}}"#));
    b.wait_for("Page.loadEventFired");
    let root = b.call("DOM.getDocument", "{}");
    let node = root.num_at(&["root", "nodeId"]).expect("a document node");
    let dom = b.call("DOM.getOuterHTML", &format!(r#"{{"nodeId":{node}}}"#));
    let dom = dom.str_at(&["outerHTML"]).expect("outer HTML").to_string();
    let layout = b.call("Page.getLayoutMetrics", "{}");
    let height = layout.num_at(&["cssContentSize", "height"]).expect("page height").ceil() as u32;
    b.call("Emulation.setDeviceMetricsOverride", &metrics(height.clamp(200, 8000)));
    let shot = b.call("Page.captureScreenshot", r#"{"format":"png"}"#);
    let png = base64_decode(shot.str_at(&["data"]).expect("screenshot data"));
    let problems = b.events.iter().filter_map(|e| problem(e, &url)).collect();
    Visit { problems, dom, png }
}

/// The problem an event reports, if any: the report has no script and
/// loads nothing besides itself, so any console message, exception, load
/// failure or request for another URL is one.
fn problem(event: &Json, page_url: &str) -> Option<String> {
    let params = event.at(&["params"]).cloned().unwrap_or(Json::Null);
    match event.str_at(&["method"])? {
        "Runtime.consoleAPICalled" | "Runtime.exceptionThrown" => Some(format!("console: {}", params.to_compact())),
        "Log.entryAdded" if params.str_at(&["entry", "level"]) == Some("error") => {
            Some(format!("console error: {}", params.str_at(&["entry", "text"]).unwrap_or("")))
        }
        "Network.loadingFailed" => Some(format!("failed load: {}", params.to_compact())),
        "Network.requestWillBeSent" => {
            let url = params.str_at(&["request", "url"]).unwrap_or("");
            (url != page_url && !url.starts_with("data:")).then(|| format!("request for {url}"))
        }
        "Network.responseReceived" => {
            let status = params.num_at(&["response", "status"]).unwrap_or(0.0);
            (status >= 400.0).then(|| format!("HTTP {status}: {}", params.to_compact()))
        }
        _ => None,
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=' && !c.is_ascii_whitespace()).map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for group in digits.chunks(4) {
        let n = group.iter().enumerate().fold(0u32, |n, (i, &d)| n | u32::from(d) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..group.len()]);
    }
    out
}

/// Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes)
/// into `(width, height, RGB pixels)`.
fn decode_png(png: &[u8]) -> (usize, usize, Vec<[u8; 3]>) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let (mut at, mut header, mut idat) = (8, Vec::new(), Vec::new());
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let (kind, data) = (&png[at + 4..at + 8], &png[at + 8..at + 8 + len]);
        match kind {
            b"IHDR" => header = data.to_vec(),
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        at += 12 + len;
    }
    let width = u32::from_be_bytes(header[0..4].try_into().unwrap()) as usize;
    let height = u32::from_be_bytes(header[4..8].try_into().unwrap()) as usize;
    assert_eq!((header[8], header[12]), (8, 0), "only 8-bit non-interlaced PNGs");
    let channels = match header[9] {
        2 => 3,
        6 => 4,
        other => panic!("PNG colour type {other}"),
    };
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&idat).expect("inflate the screenshot");
    let stride = width * channels;
    let mut prev = vec![0u8; stride];
    let mut pixels = Vec::with_capacity(width * height);
    for row in raw.chunks(stride + 1).take(height) {
        let (filter, mut line) = (row[0], row[1..].to_vec());
        for i in 0..stride {
            let a = if i >= channels { line[i - channels] } else { 0 };
            let (b, c) = (prev[i], if i >= channels { prev[i - channels] } else { 0 });
            let predictor = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => paeth(a, b, c),
                other => panic!("PNG filter {other}"),
            };
            line[i] = line[i].wrapping_add(predictor);
        }
        pixels.extend(line.chunks(channels).map(|p| [p[0], p[1], p[2]]));
        prev = line;
    }
    (width, height, pixels)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = ((p - i16::from(a)).abs(), (p - i16::from(b)).abs(), (p - i16::from(c)).abs());
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// A screenshot shows a page, not a blank: many colours, and a good share
/// of pixels away from the background.
fn assert_not_blank(png: &[u8]) {
    let (width, height, pixels) = decode_png(png);
    assert_eq!(width, WIDTH as usize);
    let mut counts = std::collections::HashMap::new();
    for p in &pixels {
        *counts.entry(*p).or_insert(0usize) += 1;
    }
    let background = counts.values().max().copied().unwrap_or(0);
    let inked = 1.0 - background as f64 / pixels.len() as f64;
    assert!(counts.len() > 200, "only {} colours in the {width}×{height} screenshot", counts.len());
    assert!(inked > 0.2, "only {:.1}% of the screenshot differs from its background", 100.0 * inked);
}

fn assert_sections(dom: &str) {
    for id in ["summary", "curves", "results", "confusion", "gallery", "tiles"] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "the DOM has no section {id}");
    }
    assert_eq!(dom.matches("class=\"cm-cell\"").count(), 100, "confusion matrix cells");
    assert!(dom.matches("<svg").count() >= 2 && dom.contains("<polyline"), "curves");
    assert!(dom.contains("<table class=\"results\">"), "the results table");
    assert!(dom.contains("<figure class=\"glyph\">"), "the gallery's glyphs");
    assert!(dom.contains("<figure class=\"tile\">"), "the weight tiles");
}

#[test]
#[ignore = "needs Chromium; .ci/run installs it and runs this with --ignored"]
fn report_renders_in_chromium_without_errors() {
    let given = std::env::var_os("REPORT_RUN");
    let run = match &given {
        Some(dir) => PathBuf::from(dir),
        None => {
            let dir = temp_dir("run");
            std::fs::remove_dir_all(&dir).unwrap();
            let out = Command::new(env!("CARGO_BIN_EXE_mlp"))
                .args(["train", "--synthetic", "2000", "--split", "1200,400", "--hidden", "64", "--epochs", "30"])
                .args(["--lr", "0.5", "--threads", "2", "--out", dir.to_str().unwrap()])
                .output()
                .expect("run mlp");
            assert!(out.status.success(), "mlp train failed: {}", String::from_utf8_lossy(&out.stderr));
            dir
        }
    };
    let visit = visit(&run.join("report.html"));
    assert!(visit.problems.is_empty(), "the page had problems:\n{}", visit.problems.join("\n"));
    assert_sections(&visit.dom);
    assert_not_blank(&visit.png);
    if let Some(path) = std::env::var_os("REPORT_SCREENSHOT") {
        std::fs::write(&path, &visit.png).expect("write the screenshot");
        eprintln!("screenshot: {} ({} bytes)", Path::new(&path).display(), visit.png.len());
    }
    if given.is_none() {
        let _ = std::fs::remove_dir_all(&run);
    }
}

#[test]
#[ignore = "needs Chromium; .ci/run installs it and runs this with --ignored"]
fn the_browser_check_catches_a_broken_page() {
    let dir = temp_dir("broken");
    let page = dir.join("report.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><link rel=\"stylesheet\" href=\"http://example.invalid/a.css\"/></head>\
         <body><section id=\"curves\"></section><img src=\"missing.png\"/></body></html>",
    )
    .unwrap();
    let visit = visit(&page);
    let all = visit.problems.join("\n");
    assert!(all.contains("example.invalid"), "the outside request went unnoticed: {all}");
    assert!(all.contains("missing.png"), "the failed image went unnoticed: {all}");
    assert!(std::panic::catch_unwind(|| assert_sections(&visit.dom)).is_err());
    assert!(std::panic::catch_unwind(|| assert_profile_sections(&visit.dom, 1)).is_err());
    let blank = std::panic::catch_unwind(|| assert_not_blank(&visit.png));
    assert!(blank.is_err(), "a near-empty page passed as not blank");
    let _ = std::fs::remove_dir_all(&dir);
}

fn assert_profile_sections(dom: &str, sizes: usize) {
    for id in ["timeline", "roofline", "sizes"] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "the profile page has no section {id}");
    }
    assert_eq!(dom.matches("class=\"phases\"").count(), sizes, "one phase table per batch size");
    assert_eq!(dom.matches("class=\"timeline\"").count(), sizes, "one timeline per batch size");
    assert!(dom.contains("<polyline"), "the roofline's roofs");
}

/// The profile page in Chromium, with the same checks as the run report.
/// `PROFILE_DIR` checks an existing profile folder instead of a fresh small
/// one; `PROFILE_SCREENSHOT` keeps the screenshot (docs/profile.png is
/// made this way).
#[test]
#[ignore = "needs Chromium; .ci/run installs it and runs this with --ignored"]
fn profile_page_renders_in_chromium_without_errors() {
    let given = std::env::var_os("PROFILE_DIR");
    let (dir, sizes) = match &given {
        Some(dir) => {
            let page = std::fs::read_to_string(Path::new(dir).join("profile.html")).expect("profile.html");
            (PathBuf::from(dir), page.matches("class=\"phases\"").count())
        }
        None => {
            let dir = temp_dir("profile");
            std::fs::remove_dir_all(&dir).unwrap();
            let out = Command::new(env!("CARGO_BIN_EXE_mlp"))
                .args(["profile", "--hidden", "64", "--rows", "512", "--batch-size", "32,128,full", "--steps", "5"])
                .args(["--threads", "2", "--out", dir.to_str().unwrap()])
                .output()
                .expect("run mlp");
            assert!(out.status.success(), "mlp profile failed: {}", String::from_utf8_lossy(&out.stderr));
            (dir, 3)
        }
    };
    assert!(sizes > 0, "the profile page has no phase table");
    let visit = visit(&dir.join("profile.html"));
    assert!(visit.problems.is_empty(), "the page had problems:\n{}", visit.problems.join("\n"));
    assert_profile_sections(&visit.dom, sizes);
    assert_not_blank(&visit.png);
    if let Some(path) = std::env::var_os("PROFILE_SCREENSHOT") {
        std::fs::write(&path, &visit.png).expect("write the screenshot");
        eprintln!("screenshot: {} ({} bytes)", Path::new(&path).display(), visit.png.len());
    }
    if given.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

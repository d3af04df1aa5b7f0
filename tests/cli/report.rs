//! The run and sweep reports without a browser: the page is well-formed
//! markup, self-contained (no script, no reference outside the file), holds
//! every section with the right counts, stays small, and `mlp report`
//! rebuilds it — with the data, without it, and for stopped or test-less
//! runs — or fails with a message naming the file.

use crate::common;

use common::{fresh_path, mlp};

use std::path::Path;
use std::process::Output;

fn ok(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "mlp failed:\n{stderr}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A small synthetic run into `dir`: 250 test rows.
fn small_run(dir: &Path) -> String {
    ok(&mlp(&[
        "train",
        "--synthetic",
        "1500",
        "--split",
        "1000,250",
        "--hidden",
        "32",
        "--epochs",
        "15",
        "--lr",
        "0.5",
        "--threads",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]))
}

/// Panics naming `what` and the text around byte `at`.
fn fail(body: &str, at: usize, what: &str) -> ! {
    let (from, to) = (at.saturating_sub(60), (at + 60).min(body.len()));
    panic!("{what} at byte {at}: …{}…", body.get(from..to).unwrap_or(""))
}

/// Reads the start tag at `i` (just after its `<`): its name, the byte
/// after it, and whether it closes itself. Every attribute must be quoted.
fn start_tag(body: &str, mut i: usize) -> (&str, usize, bool) {
    let b = body.as_bytes();
    let name_end = body[i..].find(|c: char| c.is_whitespace() || c == '>' || c == '/').map_or(b.len(), |e| i + e);
    let name = &body[i..name_end];
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        fail(body, i, "bad tag name");
    }
    i = name_end;
    loop {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        if body[i..].starts_with("/>") {
            return (name, i + 2, true);
        }
        if b.get(i) == Some(&b'>') {
            return (name, i + 1, false);
        }
        let eq = body[i..].find('=').map_or_else(|| fail(body, i, "attribute without value"), |e| i + e);
        let attr = &body[i..eq];
        if attr.is_empty() || !attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':') {
            fail(body, i, "bad attribute name");
        }
        let quote = b.get(eq + 1).copied().filter(|q| *q == b'"' || *q == b'\'');
        let quote = quote.unwrap_or_else(|| fail(body, eq, "unquoted attribute"));
        let close =
            body[eq + 2..].find(char::from(quote)).map_or_else(|| fail(body, eq, "open attribute"), |e| eq + 2 + e);
        if body[eq + 2..close].contains('<') {
            fail(body, eq, "'<' in an attribute value");
        }
        i = close + 1;
    }
}

/// Checks that `text` is well-formed XML after its doctype: every element
/// closed in order, every attribute quoted, every `&` an entity, no `<` in
/// text or attribute values. Panics naming the byte offset otherwise.
fn assert_well_formed(text: &str) {
    let body = text.strip_prefix("<!DOCTYPE html>").expect("page starts with <!DOCTYPE html>");
    let b = body.as_bytes();
    let mut open: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'<' if body[i..].starts_with("<!--") => {
                i = body[i..].find("-->").map_or_else(|| fail(body, i, "open comment"), |e| i + e + 3)
            }
            b'<' if b.get(i + 1) == Some(&b'/') => {
                let end = body[i..].find('>').map_or_else(|| fail(body, i, "open end tag"), |e| i + e);
                let name = body[i + 2..end].trim();
                match open.pop() {
                    Some(top) if top == name => {}
                    top => fail(body, i, &format!("</{name}> closes {top:?}")),
                }
                i = end + 1;
            }
            b'<' => {
                let (name, next, closed) = start_tag(body, i + 1);
                if !closed {
                    open.push(name);
                }
                i = next;
            }
            b'&' => {
                let end = body[i..].find(';').filter(|&e| e < 10).unwrap_or_else(|| fail(body, i, "bare '&'"));
                let entity = &body[i + 1..i + end];
                if !(entity.chars().all(|c| c.is_ascii_alphanumeric()) || entity.starts_with('#')) {
                    fail(body, i, "bad entity");
                }
                i += end + 1;
            }
            _ => i += 1,
        }
    }
    assert!(open.is_empty(), "elements left open: {open:?}");
}

/// No script, no external style or font, no reference outside the page:
/// every `src` is a `data:` URI and the only `http` text is the SVG namespace.
fn assert_self_contained(page: &str) {
    for banned in ["<script", "<link", "@import", "url(", "<iframe", "<object", "<embed"] {
        assert!(!page.contains(banned), "the page contains {banned}");
    }
    let without_ns = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for scheme in ["http:", "https:", "file://", "ftp:"] {
        let at = without_ns.find(scheme);
        assert!(
            at.is_none(),
            "reference '{scheme}' in the page: {}",
            &without_ns[at.unwrap()..][..80.min(without_ns.len() - at.unwrap())]
        );
    }
    for (at, _) in page.match_indices(" href=\"") {
        let target = &page[at + 7..][..page[at + 7..].find('"').unwrap()];
        assert!(!target.starts_with('/') && !target.contains(':'), "link out of the folder: {target}");
    }
    for (at, _) in page.match_indices(" src=\"") {
        assert!(page[at + 6..].starts_with("data:image/png;base64,"), "src that is not a data URI at {at}");
    }
}

/// The page with its images' base64 text cut out, for searching the text.
fn without_images(page: &str) -> String {
    let mut out = String::new();
    let mut rest = page;
    while let Some(at) = rest.find("data:image/png;base64,") {
        out.push_str(&rest[..at]);
        rest = rest[at..].trim_start_matches(|c: char| c.is_ascii_alphanumeric() || "+/=:;,".contains(c));
    }
    out + rest
}

/// The numbers in the confusion matrix's cells.
fn confusion_counts(page: &str) -> Vec<usize> {
    page.split("class=\"cm-cell\"")
        .skip(1)
        .map(|cell| {
            let text = &cell[cell.find('>').unwrap() + 1..];
            text[..text.find('<').unwrap()].parse().expect("a count in every cell")
        })
        .collect()
}

#[test]
fn run_report_is_complete_self_contained_and_small() {
    let dir = fresh_path("run");
    let stdout = small_run(&dir);
    assert!(stdout.contains(&format!("report:     {}", dir.join("report.html").display())), "{stdout}");
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_well_formed(&page);
    assert_self_contained(&page);
    assert!(page.len() < 1_000_000, "the page is {} bytes", page.len());
    for id in ["summary", "curves", "results", "confusion", "gallery", "tiles"] {
        assert!(page.contains(&format!("id=\"{id}\"")), "no section {id}");
    }
    assert!(page.contains("completed: 15 epochs") && page.contains("--synthetic 1500 --split 1000,250"));
    // Settings as typed, and accuracy in one form (a fraction, as in the
    // plots): no percentages in the tables.
    assert!(page.contains("lr 0.5, momentum 0.9,"), "settings not as typed");
    let tables = &page[page.find("id=\"results\"").unwrap()..page.find("id=\"gallery\"").unwrap()];
    assert!(!tables.contains("%<"), "an accuracy written as a percentage");
    // The hidden units lead with what training changed.
    let tiles = &page[page.find("id=\"tiles\"").unwrap()..];
    let (change, weights) =
        (tiles.find("What training changed").unwrap(), tiles.find("Their incoming weights").unwrap());
    assert!(change < weights, "the raw weights come first");
    let counts = confusion_counts(&page);
    assert_eq!(counts.len(), 100);
    assert_eq!(counts.iter().sum::<usize>(), 250, "the cells count every test row");
    assert!(page.matches("<figure class=\"glyph\">").count() >= 1);
    // 32 hidden units: all of them, as weights and as their change.
    assert_eq!(page.matches("<figure class=\"tile\">").count(), 64);
    // Two plots (each clips its curves in a nested <svg>).
    assert_eq!(page.matches("<svg xmlns").count(), 2);
    // A run of its own links to no sweep report.
    assert!(!page.contains("../report.html"));
    let text = without_images(&page);
    assert!(!text.contains("NaN") && !text.contains("inf<"), "a figure that is not a number in the page");
    for plot in ["loss.svg", "accuracy.svg"] {
        let svg = std::fs::read_to_string(dir.join(plot)).unwrap();
        assert!(svg.contains("class=\"best\"") && svg.contains("best valid loss, epoch"), "{plot} lacks its marks");
        assert!(page.contains(&svg), "the page does not inline {plot}");
    }
    assert!(std::fs::read_to_string(dir.join("loss.svg")).unwrap().contains("(log scale)"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mlp_report_rebuilds_with_and_without_the_data() {
    let dir = fresh_path("rebuild");
    small_run(&dir);
    let first = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for file in ["report.html", "loss.svg", "accuracy.svg"] {
        std::fs::remove_file(dir.join(file)).unwrap();
    }
    // The data flags come from summary.json.
    let stdout = ok(&mlp(&["report", dir.to_str().unwrap()]));
    assert!(stdout.contains("report: "), "{stdout}");
    let again = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(confusion_counts(&again), confusion_counts(&first));
    // Training draws the confusion matrix and the gallery from the final
    // figures' own forward pass; rebuilt, they come from model.npz: the
    // same page.
    assert_eq!(again, first, "the rebuilt report differs from the one training wrote");
    assert!(dir.join("loss.svg").is_file() && dir.join("accuracy.svg").is_file());
    // Other data: the report says why the data-bound figures are missing.
    let out = mlp(&["report", dir.to_str().unwrap(), "--synthetic", "900", "--split", "500,200"]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("the data is not available"));
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_well_formed(&page);
    assert_eq!(confusion_counts(&page).len(), 0);
    assert!(page.contains("No confusion matrix: the run used built-in synthetic glyphs A-J (1500 rows)"), "{page}");
    assert!(page.contains("id=\"curves\"") && page.matches("<figure class=\"tile\">").count() == 64);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stopped_runs_without_test_rows_or_model_still_render() {
    let dir = fresh_path("interrupted");
    std::fs::create_dir_all(&dir).unwrap();
    let csv = "epoch,train_loss,train_acc,valid_loss,valid_acc,test_loss,test_acc,seconds\n\
               1,2.3,0.1,2.31,0.09,,,0.1\n2,1.9,0.4,1.95,0.38,,,0.1\n3,1.5,0.6,1.6,0.55,,,0.1\n";
    std::fs::write(dir.join("metrics.csv"), csv).unwrap();
    let summary = r#"{"command": "train", "settings": {"hidden": 20, "epochs": 50, "seed": 0},
        "data": {"source": "hand-made", "train": 100, "valid": 20, "test": 0},
        "stop": "interrupted", "epochs_run": 3,
        "final": {"test": {"loss": null, "accuracy": null}},
        "model": {"metrics": {"train": {"loss": 1.4, "accuracy": 0.6}, "valid": {"loss": 1.5, "accuracy": 0.55}, "test": {"loss": null, "accuracy": null}}}}"#;
    std::fs::write(dir.join("summary.json"), summary).unwrap();
    let out = mlp(&["report", dir.to_str().unwrap()]);
    ok(&out);
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_well_formed(&page);
    assert_self_contained(&page);
    assert!(page.contains("interrupted after epoch 3"));
    assert!(page.contains("No weight tiles: model.npz could not be read"), "{page}");
    assert!(!without_images(&page).contains("NaN"));
    let loss = std::fs::read_to_string(dir.join("loss.svg")).unwrap();
    assert!(loss.contains("interrupted after epoch 3") && !loss.contains(">test"), "{loss}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_folders_fail_with_the_file_and_a_fix() {
    let empty = fresh_path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = mlp(&["report", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("metrics.csv") && stderr.contains("run folder"), "{stderr}");
    std::fs::write(empty.join("metrics.csv"), "epoch,train_loss\n1,2\n").unwrap();
    let stderr = String::from_utf8_lossy(&mlp(&["report", empty.to_str().unwrap()]).stderr).into_owned();
    assert!(stderr.contains("metrics.csv") && stderr.contains("train_acc"), "{stderr}");
    std::fs::write(
        empty.join("metrics.csv"),
        "epoch,train_loss,train_acc,valid_loss,valid_acc,test_loss,test_acc\n1,2,x,1,1,1,1\n",
    )
    .unwrap();
    let stderr = String::from_utf8_lossy(&mlp(&["report", empty.to_str().unwrap()]).stderr).into_owned();
    assert!(stderr.contains("line 2: 'x' is not a number"), "{stderr}");
    std::fs::write(
        empty.join("metrics.csv"),
        "epoch,train_loss,train_acc,valid_loss,valid_acc,test_loss,test_acc\n1,2,1,1,1,1,1\n",
    )
    .unwrap();
    std::fs::write(empty.join("summary.json"), "{\"stop\": ").unwrap();
    let stderr = String::from_utf8_lossy(&mlp(&["report", empty.to_str().unwrap()]).stderr).into_owned();
    assert!(stderr.contains("summary.json") && stderr.contains("not valid JSON"), "{stderr}");
    let out = mlp(&["report", empty.join("nothing-here").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(mlp(&["report"]).status.code(), Some(2));
    assert_eq!(mlp(&["report", "a", "b"]).status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&empty);
}

#[test]
fn sweep_report_compares_the_sizes() {
    let dir = fresh_path("sweep");
    let stdout = ok(&mlp(&[
        "sweep",
        "--synthetic",
        "1200",
        "--split",
        "800,200",
        "--hidden",
        "8,16",
        "--epochs",
        "12",
        "--lr",
        "0.5",
        "--patience",
        "3",
        "--threads",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]));
    assert!(stdout.contains(&format!("report:       {}", dir.join("report.html").display())), "{stdout}");
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_well_formed(&page);
    assert_self_contained(&page);
    assert!(page.contains("mlp sweep") && page.contains("--hidden 8,16"), "{page}");
    assert!(page.contains("href=\"h8/report.html\"") && page.contains("href=\"h16/report.html\""));
    assert_eq!(page.matches("<svg xmlns").count(), 2);
    // Validation and training curves of each size, so that overfitting shows.
    for name in ["H = 8 valid", "H = 16 valid", "H = 8 train", "H = 16 train"] {
        assert!(page.contains(&format!(">{name}<tspan fill=\"#555\">: m")), "no curve {name}");
    }
    // The best size is marked, once.
    assert_eq!(page.matches("<tr class=\"best\">").count(), 1);
    assert!(page.contains("Best size by validation loss: <b>H = "));
    for h in ["h8", "h16"] {
        let size_page = std::fs::read_to_string(dir.join(h).join("report.html")).unwrap();
        assert_well_formed(&size_page);
        // Each size's report links back to the sweep's.
        assert!(size_page.contains("href=\"../report.html\""), "{h} does not link back");
    }
    let svg = std::fs::read_to_string(dir.join("sweep_valid_loss.svg")).unwrap();
    assert!(svg.contains("(log scale)") && svg.contains("class=\"best\""));
    // `mlp report` on the sweep folder rebuilds every report.
    let stdout = ok(&mlp(&["report", dir.to_str().unwrap()]));
    assert_eq!(stdout.matches("report: ").count(), 3, "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_checks_catch_broken_pages() {
    let fails = |f: fn()| std::panic::catch_unwind(f).is_err();
    assert!(!fails(|| assert_well_formed("<!DOCTYPE html><p a=\"1\">x &amp; <br/>y</p>")));
    assert!(fails(|| assert_well_formed("<!DOCTYPE html><p><b>x</p></b>")));
    assert!(fails(|| assert_well_formed("<!DOCTYPE html><meta charset=\"utf-8\"><p>x</p>")));
    assert!(fails(|| assert_well_formed("<!DOCTYPE html><p a=1>x</p>")));
    assert!(fails(|| assert_well_formed("<!DOCTYPE html><p>a & b</p>")));
    assert!(fails(|| assert_self_contained("<img src=\"x.png\"/>")));
    assert!(fails(|| assert_self_contained("<p>see https://example.com</p>")));
    assert!(fails(|| assert_self_contained("<script>1</script>")));
    assert!(!fails(|| assert_self_contained("<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>")));
}

#[test]
fn a_diverged_run_has_a_report_saying_so() {
    let dir = fresh_path("diverged");
    let out = mlp(&[
        "train",
        "--synthetic",
        "1000",
        "--split",
        "600,200",
        "--hidden",
        "16",
        "--epochs",
        "10",
        "--lr",
        "1e35",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_well_formed(&page);
    assert!(page.contains("diverged: the loss became NaN or infinite at epoch"), "{page}");
    // The figures show a dash where the loss is not a number.
    assert!(!without_images(&page).replace("NaN or infinite", "").contains("NaN"));
    assert!(page.contains("<td>–</td>"));
    assert_eq!(confusion_counts(&page).len(), 100);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn profile_page_passes_the_same_structure_checks() {
    let dir = fresh_path("profile-page");
    let out = mlp(&[
        "profile",
        "--hidden",
        "24",
        "--rows",
        "200",
        "--batch-size",
        "32,full",
        "--steps",
        "3",
        "--out",
        dir.to_str().unwrap(),
    ]);
    ok(&out);
    let page = std::fs::read_to_string(dir.join("profile.html")).unwrap();
    assert_well_formed(&page);
    assert_self_contained(&page);
    // Inline SVG only: the two timelines and the roofline, no image files.
    assert_eq!(page.matches("<svg ").count(), 3, "two timelines and one roofline");
    assert!(!page.contains("<img"), "the profile page draws everything as SVG");
    for section in ["id=\"timeline\"", "id=\"roofline\"", "id=\"sizes\"", "class=\"phases\""] {
        assert!(page.contains(section), "profile.html lacks {section}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_page_of_lists_passes_the_same_structure_checks() {
    let dir = fresh_path("bench-page");
    let stdout = ok(&mlp(&[
        "bench",
        "--hidden",
        "16",
        "--rows",
        "128",
        "--eval-rows",
        "0",
        "--batch-size",
        "8,full",
        "--threads",
        "1,2",
        "--steps",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]));
    assert!(stdout.contains("bench.html"), "{stdout}");
    let page = std::fs::read_to_string(dir.join("bench.html")).unwrap();
    assert_well_formed(&page);
    assert_self_contained(&page);
    for section in ["id=\"batch\"", "id=\"threads\"", "id=\"runs\""] {
        assert!(page.contains(section), "bench.html lacks {section}");
    }
    // Two thread counts × two batch sizes, one table row each.
    assert_eq!(page.matches("<tr><td>").count(), 4, "one row per run");
    let _ = std::fs::remove_dir_all(&dir);
}

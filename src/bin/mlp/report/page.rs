//! The HTML of the run and sweep reports: one self-contained page each,
//! with inline CSS and SVG and no script, so it looks the same offline, in
//! any browser, with JavaScript off. The markup is also well-formed XML
//! (every element closed, every attribute quoted), which the tests check.

use std::fmt::Write;

use crate::json::Json;
use crate::output::metrics_csv::Row;
use crate::plot::{Best, LinePlot, Marker, Scale, Series, Style, escape};
use crate::report::run::Run;
use mlp_engine::data::CLASSES;

/// The model's figures as HTML, or why each is missing.
pub struct Figures {
    pub confusion: std::result::Result<String, String>,
    pub gallery: std::result::Result<String, String>,
    pub tiles: std::result::Result<String, String>,
    pub test_rows: usize,
}

const CSS: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:0;color:#222;background:#f4f5f7}
main{max-width:1200px;margin:0 auto;padding:12px 24px 40px}
section,header{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 18px;margin:14px 0}
h1{font-size:22px;margin:6px 0 8px}h2{font-size:17px;margin:4px 0 10px}
p{font-size:14px;margin:6px 0}
.status{display:inline-block;padding:2px 10px;border-radius:10px;font-size:13px;font-weight:600;vertical-align:middle}
.completed{background:#e3f4e5;color:#1b6b2a}.early_stopped{background:#e6eefc;color:#1d4ea0}
.diverged,.interrupted,.unknown{background:#fde8e8;color:#a11}
code.cmd{display:block;background:#f0f2f5;padding:6px 10px;border-radius:4px;white-space:pre-wrap;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
dl.facts{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:3px 14px;font-size:14px;margin:10px 0 0}
dt{color:#667}dd{margin:0}
.plots{display:grid;grid-template-columns:1fr 1fr;gap:10px}.plots svg{width:100%;height:auto}
@media (max-width:900px){.plots{grid-template-columns:1fr}dl.facts{grid-template-columns:max-content 1fr}}
table{border-collapse:collapse;font-size:14px;font-variant-numeric:tabular-nums}
th,td{padding:3px 9px;border:1px solid #e1e4e8;text-align:right}th{background:#f7f8fa}
table.confusion td.cm-cell{width:42px;height:28px;text-align:center}
.gallery,.tiles{display:flex;flex-wrap:wrap;gap:8px}
figure{margin:0;text-align:center;font-size:12px}
img{image-rendering:pixelated;border:1px solid #ccc;display:block;margin:0 auto 2px}
.bad{color:#b00}
.note{color:#7a5200;background:#fff6dc;padding:6px 10px;border-radius:4px}
.swatch{display:inline-block;width:12px;height:12px;vertical-align:middle}
.swatch.neg{background:#2166ac}.swatch.pos{background:#b2182b}
footer{font-size:12px;color:#777;margin-top:10px}
tr.best th,tr.best td{background:#eef6ee;font-weight:600}
nav.up{font-size:14px;margin:4px 0}
";

/// The page around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(title)
    )
}

/// A number with `decimals`, or a dash when missing or not finite.
fn fixed(v: Option<f64>, decimals: usize) -> String {
    v.filter(|v| v.is_finite()).map_or("–".into(), |v| format!("{v:.decimals$}"))
}

/// An accuracy: a fraction with four decimals, the one form the plots,
/// the terminal, metrics.csv and summary.json use too.
fn accuracy(v: Option<f64>) -> String {
    fixed(v, 4)
}

/// A setting as typed: the shortest form of the number (0.1, not 0.1000).
fn plain(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite()).map_or("–".into(), |v| format!("{v}"))
}

/// The state badge of a run.
fn status(run: &Run) -> String {
    let last = run.last_epoch();
    let s = &run.summary;
    let text = match run.stop() {
        "completed" => format!("completed: {last} epochs"),
        "early_stopped" => format!(
            "stopped early after epoch {last} (patience {}); model.npz holds epoch {}",
            fixed(s.num_at(&["settings", "patience"]), 0),
            run.best_loss_epoch().map_or("–".into(), |e| e.to_string())
        ),
        "diverged" => format!("diverged: the loss became NaN or infinite at epoch {last}"),
        "interrupted" => format!("interrupted after epoch {last}"),
        other => format!("{other}: {last} epochs in metrics.csv, no summary.json"),
    };
    format!("<span class=\"status {}\">{}</span>", escape(run.stop()), escape(&text))
}

/// The command line that repeats the run, from the summary.
fn command_line(s: &Json) -> String {
    let mut cmd = format!("mlp {}", s.str_at(&["command"]).unwrap_or("train"));
    let args = |key: &str| s.at(&["data_args", key]);
    for (key, flag) in [("data", "--data"), ("images", "--images"), ("labels", "--labels")] {
        // A name that is not UTF-8 is shown with U+FFFD for its odd bytes.
        if let Some(path) = args(key).and_then(crate::json::path_from_json) {
            let _ = write!(cmd, " {flag} {}", path.display());
        }
    }
    if let Some(n) = s.num_at(&["data_args", "synthetic"]) {
        let _ = write!(cmd, " --synthetic {n}");
    }
    if let (Some(t), Some(v)) = (s.num_at(&["data", "train"]), s.num_at(&["data", "valid"])) {
        let _ = write!(cmd, " --split {t},{v}");
    }
    let settings = [
        ("shuffle-seed", &["data", "shuffle_seed"][..]),
        ("hidden", &["settings", "hidden"]),
        ("epochs", &["settings", "epochs"]),
        ("lr", &["settings", "learning_rate"]),
        ("momentum", &["settings", "momentum"]),
        ("seed", &["settings", "seed"]),
        ("batch-size", &["settings", "batch_size"]),
        ("patience", &["settings", "patience"]),
        ("threads", &["settings", "threads"]),
    ];
    for (flag, path) in settings {
        if let Some(v) = s.num_at(path) {
            let _ = write!(cmd, " --{flag} {v}");
        }
    }
    cmd
}

/// Label–value pairs of the header.
fn facts(run: &Run) -> Vec<(&'static str, String)> {
    let s = &run.summary;
    let n = |path: &[&str]| s.num_at(path);
    let hidden = run.hidden();
    let inputs = n(&["data", "features"]).map(|f| f as usize);
    let network = match (inputs, hidden) {
        (Some(d), Some(h)) => {
            format!("{d}–{h}–{CLASSES} (ReLU, softmax), {} parameters", d * h + h + h * CLASSES + CLASSES)
        }
        _ => "–".into(),
    };
    let batch = n(&["settings", "batch_size"]).map_or("full batch".into(), |b| format!("batches of {b}"));
    let mut facts = vec![
        ("data", s.str_at(&["data", "source"]).unwrap_or("–").to_string()),
        (
            "split",
            format!(
                "{} train / {} valid / {} test (shuffle seed {})",
                fixed(n(&["data", "train"]), 0),
                fixed(n(&["data", "valid"]), 0),
                fixed(n(&["data", "test"]), 0),
                fixed(n(&["data", "shuffle_seed"]), 0)
            ),
        ),
        ("network", network),
        (
            "training",
            format!(
                "{batch}, lr {}, momentum {}, seed {}, patience {}",
                plain(n(&["settings", "learning_rate"])),
                plain(n(&["settings", "momentum"])),
                fixed(n(&["settings", "seed"]), 0),
                n(&["settings", "patience"]).map_or("off".into(), |p| p.to_string())
            ),
        ),
        ("epochs", format!("{} of {}", run.last_epoch(), fixed(n(&["settings", "epochs"]), 0))),
        (
            "machine",
            format!(
                "{} threads, SIMD {}, {} build",
                fixed(n(&["settings", "threads"]), 0),
                s.str_at(&["settings", "simd"]).unwrap_or("–"),
                s.str_at(&["settings", "profile"]).unwrap_or("–")
            ),
        ),
        (
            "wall time",
            format!("{} s (median epoch {} s)", fixed(n(&["wall_seconds"]), 2), fixed(n(&["median_epoch_seconds"]), 3)),
        ),
        (
            "throughput",
            format!(
                "{} training samples/s, peak memory {} MB",
                fixed(n(&["train_samples_per_second"]), 0),
                // Training's own peak (older summaries have only the whole run's).
                fixed(n(&["training_peak_rss_bytes"]).or_else(|| n(&["peak_rss_bytes"])).map(|b| b / 1e6), 0)
            ),
        ),
    ];
    if let Some(resumed) = resumed(s) {
        facts.insert(5, ("resumed", resumed));
    }
    facts
}

/// `after epoch 12 (20261206-133337 UTC), after epoch 40 (…)`, or `None`
/// for a run never continued from a checkpoint.
fn resumed(s: &Json) -> Option<String> {
    let Some(Json::Arr(points)) = s.at(&["resumed"]) else { return None };
    let text: Vec<String> = points
        .iter()
        .map(|p| format!("after epoch {} ({})", fixed(p.num_at(&["after_epoch"]), 0), p.str_at(&["at"]).unwrap_or("–")))
        .collect();
    (!text.is_empty()).then(|| format!("{}; the wall time covers every segment", text.join(", ")))
}

/// Whether the run is one size of a sweep: a folder `h<H>` inside a
/// folder that `mlp sweep` claimed, whose report.html links the sizes.
fn in_sweep(run: &Run) -> bool {
    let (Some(hidden), Some(parent)) = (run.hidden(), run.dir.parent()) else { return false };
    run.dir.file_name().is_some_and(|name| *name == *format!("h{hidden}"))
        && (parent.join("sweep.csv").is_file() || parent.join(".mlp-run").is_file())
}

fn header(run: &Run) -> String {
    let title = match run.hidden() {
        Some(h) => format!("Training run, H = {h}"),
        None => "Training run".into(),
    };
    let mut h = String::new();
    if in_sweep(run) {
        h.push_str("<nav class=\"up\"><a href=\"../report.html\">← the sweep report, all hidden sizes</a></nav>\n");
    }
    let _ = write!(h, "<header id=\"summary\">\n<h1>{} {}</h1>\n", escape(&title), status(run));
    if matches!(run.summary, Json::Null) {
        h.push_str("<p class=\"note\">This folder has no summary.json: settings and timings are unknown.</p>\n");
    } else {
        let _ = writeln!(h, "<code class=\"cmd\">{}</code>", escape(&command_line(&run.summary)));
    }
    h.push_str("<dl class=\"facts\">\n");
    for (label, value) in facts(run) {
        let _ = writeln!(h, "<dt>{label}</dt><dd>{}</dd>", escape(&value));
    }
    h.push_str("</dl>\n</header>\n");
    h
}

fn curves(loss_svg: &str, accuracy_svg: &str) -> String {
    format!(
        "<section id=\"curves\">\n<h2>Loss and accuracy per epoch</h2>\n\
         <p>Loss on a log scale. A hollow circle marks each curve's minimum loss (maximum accuracy), named in the \
         legend; dashed lines mark the best-validation epochs and where training stopped. Each epoch is measured \
         with the parameters before its update.</p>\n<div class=\"plots\">\n{loss_svg}{accuracy_svg}</div>\n</section>\n"
    )
}

/// One row of the results table.
fn result_row(h: &mut String, label: &str, loss: [Option<f64>; 3], acc: [Option<f64>; 3]) {
    let _ = write!(h, "<tr><th>{}</th>", escape(label));
    for k in 0..3 {
        let _ = write!(h, "<td>{}</td><td>{}</td>", fixed(loss[k], 4), accuracy(acc[k]));
    }
    h.push_str("</tr>\n");
}

fn results(run: &Run) -> String {
    let mut h = String::from(
        "<section id=\"results\">\n<h2>Final and best figures</h2>\n<table class=\"results\">\n\
         <tr><th></th><th>train loss</th><th>train acc</th><th>valid loss</th><th>valid acc</th><th>test loss</th><th>test acc</th></tr>\n",
    );
    let of_row = |r: Option<&Row>| {
        (r.map(|r| r.loss.map(Some)).unwrap_or([None; 3]), r.map(|r| r.acc.map(Some)).unwrap_or([None; 3]))
    };
    let last = run.rows.last();
    let (loss, acc) = of_row(last);
    result_row(&mut h, &format!("final (epoch {})", run.last_epoch()), loss, acc);
    for (label, epoch) in
        [("best valid loss", run.best_loss_epoch()), ("best valid accuracy", run.best_accuracy_epoch())]
    {
        let (loss, acc) = of_row(epoch.and_then(|e| run.row(e)));
        result_row(&mut h, &format!("{label} (epoch {})", epoch.map_or("–".into(), |e| e.to_string())), loss, acc);
    }
    let model = |split: &str, what: &str| run.summary.num_at(&["model", "metrics", split, what]);
    let names = ["train", "valid", "test"];
    if run.summary.at(&["model", "metrics"]).is_some() {
        result_row(
            &mut h,
            "saved model (model.npz)",
            names.map(|s| model(s, "loss")),
            names.map(|s| model(s, "accuracy")),
        );
    }
    h.push_str("</table>\n");
    if let Some(note) = run.summary.str_at(&["model", "parameters"]) {
        let _ = writeln!(h, "<p>model.npz holds the {}.</p>", escape(note));
    }
    h.push_str("</section>\n");
    h
}

/// A figure's HTML, or a note saying why it is missing.
fn or_note(figure: &Result<String, String>, what: &str) -> String {
    match figure {
        Ok(html) => html.clone(),
        Err(why) => format!(
            "<p class=\"note\">No {what}: {}. Rebuild with <code>mlp report RUN_DIR</code> and the run's data flags.</p>\n",
            escape(why)
        ),
    }
}

fn model_sections(figures: &Figures) -> String {
    let rows = if figures.test_rows > 0 { format!(" ({} rows)", figures.test_rows) } else { String::new() };
    format!(
        "<section id=\"confusion\">\n<h2>Confusion matrix of the test rows{rows}</h2>\n\
         <p>The saved model's predictions: rows are the true letter, columns the predicted one; \
         blue shades the correct cells, red the confusions, darker is a larger share of the row.</p>\n{}</section>\n\
         <section id=\"gallery\">\n<h2>Most confident mistakes</h2>\n{}</section>\n\
         <section id=\"tiles\">\n<h2>What the hidden units look at</h2>\n{}</section>\n",
        or_note(&figures.confusion, "confusion matrix"),
        or_note(&figures.gallery, "gallery"),
        or_note(&figures.tiles, "weight tiles"),
    )
}

fn footer(dir: &std::path::Path, files: &str) -> String {
    format!(
        "<footer>Written by mlp {} from {} in {}.</footer>\n",
        env!("CARGO_PKG_VERSION"),
        files,
        escape(&dir.display().to_string())
    )
}

/// The run report.
pub fn run_page(run: &Run, loss_svg: &str, accuracy_svg: &str, figures: &Figures) -> String {
    let mut body = header(run);
    body.push_str(&curves(loss_svg, accuracy_svg));
    body.push_str(&results(run));
    body.push_str(&model_sections(figures));
    body.push_str(&footer(&run.dir, "metrics.csv, summary.json and model.npz"));
    let title = run.hidden().map_or("mlp run report".into(), |h| format!("mlp run report, H = {h}"));
    page(&title, &body)
}

/// The sweep's loss (log scale) and accuracy plots: per hidden size its
/// validation curve, solid, and its training curve, dashed in the same
/// color, so that overfitting (the two parting) shows; each size's best
/// validation point marked and its early stop drawn.
pub fn sweep_plots(runs: &[(usize, Run)]) -> (String, String) {
    let series = |k: fn(&Row) -> [f64; 3]| -> Vec<Series> {
        let curve = |(i, (h, run)): (usize, &(usize, Run)), part: usize| Series {
            name: format!("H = {h} {}", if part == 1 { "valid" } else { "train" }),
            points: run.rows.iter().map(|r| (r.epoch as f64, k(r)[part])).collect(),
            color: Some(i),
            dashed: part == 0,
        };
        let valid = runs.iter().enumerate().map(|r| curve(r, 1));
        let train = runs.iter().enumerate().map(|r| curve(r, 0));
        valid.chain(train).collect()
    };
    let markers: Vec<Marker> = runs
        .iter()
        .filter(|(_, run)| run.stop() == "early_stopped")
        .map(|(h, run)| Marker {
            x: run.last_epoch() as f64,
            label: format!("H = {h} stopped, epoch {}", run.last_epoch()),
        })
        .collect();
    let loss = LinePlot {
        title: "Loss by hidden size".into(),
        x_label: "epoch".into(),
        y_label: "cross-entropy (valid solid, train dashed)".into(),
        series: series(|r| r.loss),
    };
    let accuracy = LinePlot {
        title: "Accuracy by hidden size".into(),
        x_label: "epoch".into(),
        y_label: "accuracy (valid solid, train dashed)".into(),
        series: series(|r| r.acc),
    };
    (
        loss.to_svg_with(&Style { y_scale: Scale::Log, best: Best::Min, markers: markers.clone(), zoom: false }),
        accuracy.to_svg_with(&Style { y_scale: Scale::Linear, best: Best::Max, markers, zoom: true }),
    )
}

/// The size with the lowest best validation loss, and that row.
fn best_size(runs: &[(usize, Run)]) -> Option<(usize, &Row)> {
    runs.iter()
        .filter_map(|(h, run)| Some((*h, run.best_loss_epoch().and_then(|e| run.row(e))?)))
        .filter(|(_, r)| r.loss[1].is_finite())
        .min_by(|a, b| a.1.loss[1].total_cmp(&b.1.loss[1]))
}

fn sweep_table(runs: &[(usize, Run)]) -> String {
    let best = best_size(runs).map(|(h, _)| h);
    let mut h = String::from(
        "<table class=\"sweep\">\n<tr><th>H</th><th>epochs run</th><th>stop</th><th>best valid loss</th><th>at epoch</th>\
         <th>best valid acc</th><th>at epoch</th><th>test acc at best valid loss</th>\
         <th>final test acc</th><th>wall time (s)</th><th>report</th></tr>\n",
    );
    for (hidden, run) in runs {
        let best_loss = run.best_loss_epoch().and_then(|e| run.row(e));
        let best_acc = run.best_accuracy_epoch().and_then(|e| run.row(e));
        let stop = match run.stop() {
            "early_stopped" => format!("early stop at {}", run.last_epoch()),
            other => other.replace('_', " "),
        };
        let (class, mark) = if best == Some(*hidden) { (" class=\"best\"", " ★") } else { ("", "") };
        let _ = writeln!(
            h,
            "<tr{class}><th>{hidden}{mark}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td><a href=\"h{hidden}/report.html\">h{hidden}</a></td></tr>",
            run.last_epoch(),
            escape(&stop),
            fixed(best_loss.map(|r| r.loss[1]), 4),
            best_loss.map_or("–".into(), |r| r.epoch.to_string()),
            accuracy(best_acc.map(|r| r.acc[1])),
            best_acc.map_or("–".into(), |r| r.epoch.to_string()),
            accuracy(best_loss.map(|r| r.acc[2])),
            accuracy(run.rows.last().map(|r| r.acc[2])),
            fixed(run.summary.num_at(&["wall_seconds"]), 2),
        );
    }
    h.push_str("</table>\n");
    if let Some((hidden, row)) = best_size(runs) {
        let _ = writeln!(
            h,
            "<p>★ Best size by validation loss: <b>H = {hidden}</b> (valid loss {} at epoch {}; test accuracy there {}).</p>",
            fixed(Some(row.loss[1]), 4),
            row.epoch,
            accuracy(Some(row.acc[2]))
        );
    }
    h
}

/// The sweep report.
pub fn sweep_page(runs: &[(usize, Run)], loss_svg: &str, accuracy_svg: &str) -> String {
    let first = &runs[0].1;
    let mut body = String::from("<header id=\"summary\">\n<h1>Hidden-size sweep</h1>\n");
    let mut command = command_line(&first.summary).replacen("mlp train", "mlp sweep", 1);
    let sizes: Vec<String> = runs.iter().map(|(h, _)| h.to_string()).collect();
    if let Some(at) = command.find(" --hidden ") {
        let end = command[at + 10..].find(' ').map_or(command.len(), |e| at + 10 + e);
        command.replace_range(at..end, &format!(" --hidden {}", sizes.join(",")));
    }
    let _ = writeln!(body, "<code class=\"cmd\">{}</code>\n<dl class=\"facts\">", escape(&command));
    for (label, value) in facts(first).into_iter().filter(|(l, _)| ["data", "split", "training", "machine"].contains(l))
    {
        let _ = writeln!(body, "<dt>{label}</dt><dd>{}</dd>", escape(&value));
    }
    let total: f64 = runs.iter().filter_map(|(_, r)| r.summary.num_at(&["wall_seconds"])).sum();
    let _ = writeln!(body, "<dt>wall time</dt><dd>{total:.2} s over {} sizes</dd>\n</dl>\n</header>", runs.len());
    let _ = write!(
        body,
        "<section id=\"curves\">\n<h2>Training and validation curves</h2>\n<p>Each size's validation curve is \
         solid and its training curve dashed in the same color: where they part, the network overfits. Loss on a \
         log scale; accuracy zoomed to where the curves settle. A hollow circle marks each curve's best epoch, \
         named in the legend; dashed vertical lines mark early stops.</p>\n\
         <div class=\"plots\">\n{loss_svg}{accuracy_svg}</div>\n</section>\n\
         <section id=\"results\">\n<h2>Sizes compared</h2>\n{}</section>\n",
        sweep_table(runs)
    );
    let dir = first.dir.parent().unwrap_or(std::path::Path::new("."));
    body.push_str(&footer(dir, "each size's metrics.csv and summary.json"));
    page("mlp sweep report", &body)
}

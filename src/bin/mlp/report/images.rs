//! The report's figures that need the model (and, for two of them, the
//! data): the test confusion matrix as a heat map, the gallery of the most
//! confidently misclassified test glyphs, and the first-layer weights of a
//! sample of hidden units as 28×28 tiles. Each is an HTML fragment; images
//! are small PNGs inlined as `data:` URIs.

use std::borrow::Cow;
use std::fmt::Write;

use crate::report::png;
use mlp_engine::data::{CLASSES, Split};
use mlp_engine::engine::layout::Tensor;
use mlp_engine::engine::{Network, Prediction};
use mlp_engine::{Error, Result};

/// Glyphs in the gallery.
pub const GALLERY: usize = 24;
/// Hidden units drawn as tiles.
pub const TILES: usize = 48;
/// Side of a square glyph.
const SIDE: usize = 28;

/// The letter of a class.
pub fn letter(class: usize) -> char {
    char::from(b'A' + class as u8)
}

/// The saved model's predictions on the test rows.
pub struct TestPredictions<'a> {
    /// Index of the first test row in the split.
    pub start: usize,
    /// The test rows' labels.
    pub truth: &'a [u8],
    /// One per test row.
    pub predictions: Cow<'a, [Prediction]>,
}

impl<'a> TestPredictions<'a> {
    /// `predictions` of the test rows of `split`, as training made them.
    pub fn new(split: &'a Split, predictions: Cow<'a, [Prediction]>) -> Self {
        let start = split.train + split.valid;
        assert_eq!(predictions.len(), split.test, "one prediction per test row");
        TestPredictions { start, truth: &split.labels[start..], predictions }
    }

    /// `network`'s class and its probability for each test row of `split`.
    pub fn measure(network: &Network, split: &'a Split) -> Result<Self, Error> {
        let test = &split.images[(split.train + split.valid) * split.features..];
        let classes = network.predict(test)?;
        let probabilities = network.predict_proba(test)?;
        let c = network.layout().classes;
        let predictions = classes
            .iter()
            .zip(probabilities.chunks_exact(c))
            .map(|(&class, p)| Prediction { class, probability: p[usize::from(class)] })
            .collect();
        Ok(Self::new(split, Cow::Owned(predictions)))
    }
}

/// `counts[true][predicted]` of the predicted `classes` against the labels `truth`.
pub fn confusion(truth: &[u8], classes: impl IntoIterator<Item = u8>) -> [[usize; CLASSES]; CLASSES] {
    let mut counts = [[0usize; CLASSES]; CLASSES];
    for (&t, q) in truth.iter().zip(classes) {
        counts[usize::from(t).min(CLASSES - 1)][usize::from(q).min(CLASSES - 1)] += 1;
    }
    counts
}

/// The confusion matrix as an HTML table: rows are the true letters,
/// columns the predicted ones; each cell's shade is its share of the row.
pub fn confusion_html(counts: &[[usize; CLASSES]; CLASSES]) -> String {
    let mut h = String::from("<table class=\"confusion\">\n<tr><th class=\"corner\">true \\ predicted</th>");
    for c in 0..CLASSES {
        let _ = write!(h, "<th>{}</th>", letter(c));
    }
    h.push_str("<th>rows</th><th>recall</th></tr>\n");
    for (t, row) in counts.iter().enumerate() {
        let total: usize = row.iter().sum();
        let _ = write!(h, "<tr><th>{}</th>", letter(t));
        for (q, &n) in row.iter().enumerate() {
            let share = if total == 0 { 0.0 } else { n as f64 / total as f64 };
            // Correct cells in blue, confusions in red; darker is more.
            let (hue, light) = (if q == t { 215 } else { 5 }, 97.0 - 55.0 * share.sqrt());
            let ink = if light < 62.0 { "#fff" } else { "#222" };
            let _ = write!(
                h,
                "<td class=\"cm-cell\" style=\"background:hsl({hue},70%,{light:.0}%);color:{ink}\" title=\"true {} predicted {}: {n}\">{n}</td>",
                letter(t),
                letter(q)
            );
        }
        let recall = if total == 0 { "–".to_string() } else { format!("{:.4}", row[t] as f64 / total as f64) };
        let _ = writeln!(h, "<td class=\"num\">{total}</td><td class=\"num\">{recall}</td></tr>");
    }
    h.push_str("</table>\n");
    h
}

/// A glyph as a grayscale PNG, ink dark on white, stretched to its own range
/// so that data of any scale shows.
fn glyph_png(pixels: &[f32]) -> Vec<u8> {
    let (lo, hi) = pixels.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let gray: Vec<u8> =
        pixels.iter().map(|&v| 255 - ((v - lo) / span * 255.0).round().clamp(0.0, 255.0) as u8).collect();
    png::encode(SIDE, SIDE, 1, &gray)
}

/// The test glyphs misclassified with the highest confidence.
pub fn gallery_html(p: &TestPredictions, split: &Split) -> String {
    let q = &p.predictions;
    let mut wrong: Vec<usize> = (0..p.truth.len()).filter(|&i| p.truth[i] != q[i].class).collect();
    wrong.sort_by(|&a, &b| q[b].probability.total_cmp(&q[a].probability));
    if wrong.is_empty() {
        return "<p class=\"note\">No test glyph is misclassified.</p>\n".into();
    }
    // The report draws figures only for models of 28×28 images.
    assert_eq!(split.features, SIDE * SIDE, "the gallery draws 28×28 glyphs");
    let mut h = format!(
        "<p>The {} most confident mistakes of {} misclassified test glyphs (of {}).</p>\n<div class=\"gallery\">\n",
        wrong.len().min(GALLERY),
        wrong.len(),
        p.truth.len()
    );
    for &i in wrong.iter().take(GALLERY) {
        let row = p.start + i;
        let pixels = &split.images[row * split.features..(row + 1) * split.features];
        let image = format!(
            "<img src=\"{}\" width=\"84\" height=\"84\" alt=\"test glyph {i}\"/>",
            png::data_uri(&glyph_png(pixels))
        );
        let _ = writeln!(
            h,
            "<figure class=\"glyph\">{image}<figcaption>true <b>{}</b> → <b class=\"bad\">{}</b><br/>p = {:.3}</figcaption></figure>",
            letter(usize::from(p.truth[i])),
            letter(usize::from(q[i].class)),
            q[i].probability
        );
    }
    h.push_str("</div>\n");
    h
}

/// Blue (negative) – white (0) – red (positive) for `t` in [-1, 1].
fn diverging(t: f32) -> [u8; 3] {
    let t = t.clamp(-1.0, 1.0);
    let fade = |full: f32| (255.0 - (255.0 - full) * t.abs()).round() as u8;
    if t >= 0.0 { [fade(178.0), fade(24.0), fade(43.0)] } else { [fade(33.0), fade(102.0), fade(172.0)] }
}

/// The [`TILES`] hidden units the output layer weighs most (largest norm of
/// their outgoing weights), in unit order: with many units most of them
/// stay close to their random start, and these show what was learned.
fn sampled_units(network: &Network) -> Vec<usize> {
    let w_o = network.tensor(Tensor::OutputWeights);
    let norm = |j: usize| (0..w_o.cols()).map(|c| w_o.at(j, c).powi(2)).sum::<f32>();
    let mut units: Vec<usize> = (0..w_o.rows()).collect();
    units.sort_by(|&a, &b| norm(b).total_cmp(&norm(a)));
    units.truncate(TILES);
    units.sort_unstable();
    units
}

/// One row of 28×28 tiles, column `j` of `values` per unit, on one shared
/// diverging scale: ±the 99th percentile of |value| over the tiles, so that
/// a few large values do not wash out the rest.
fn tile_row(units: &[usize], rows: usize, value: impl Fn(usize, usize) -> f32, what: &str) -> String {
    let mut magnitudes: Vec<f32> =
        units.iter().flat_map(|&j| (0..rows).map(move |i| (i, j))).map(|(i, j)| value(i, j).abs()).collect();
    magnitudes.sort_by(f32::total_cmp);
    let scale = magnitudes.get(magnitudes.len() * 99 / 100).copied().filter(|s| *s > 0.0).unwrap_or(1.0);
    let mut h = format!(
        "<p>{what}: <span class=\"swatch neg\"></span> negative, white 0, <span class=\"swatch pos\"></span> positive, \
         full colour at ±{scale:.4}.</p>\n<div class=\"tiles\">\n"
    );
    for &j in units {
        let rgb: Vec<u8> = (0..rows).flat_map(|i| diverging(value(i, j) / scale)).collect();
        let _ = writeln!(
            h,
            "<figure class=\"tile\"><img src=\"{}\" width=\"56\" height=\"56\" alt=\"hidden unit {j}\"/><figcaption>{j}</figcaption></figure>",
            png::data_uri(&png::encode(SIDE, SIDE, 3, &rgb)),
        );
    }
    h.push_str("</div>\n");
    h
}

/// The incoming weights of a sample of hidden units as 28×28 tiles and,
/// when the initial weights are known (they are re-drawn from the run's
/// seed), what training changed in them: with many units the weights stay
/// close to their random start, and the change shows what was learned.
pub fn tiles_html(network: &Network, initial: Option<&Network>) -> String {
    let w = network.tensor(Tensor::HiddenWeights);
    assert_eq!(w.rows(), SIDE * SIDE, "the tiles draw weights of 28×28 images");
    let units = sampled_units(network);
    let mut h = format!(
        "<p>The {} of {} hidden units with the largest outgoing weights (the ones the output layer relies on most), \
         numbered.</p>\n",
        units.len(),
        w.cols()
    );
    // What training changed leads: with many units each one's weights stay
    // close to their random start, and the raw weights look like noise.
    if let Some(w0) =
        initial.map(|n| n.tensor(Tensor::HiddenWeights)).filter(|w0| (w0.rows(), w0.cols()) == (w.rows(), w.cols()))
    {
        h.push_str(&tile_row(
            &units,
            w.rows(),
            |i, j| w.at(i, j) - w0.at(i, j),
            "What training changed: W_h minus its initial value, re-drawn from the run's seed",
        ));
    }
    h.push_str(&tile_row(&units, w.rows(), |i, j| w.at(i, j), "Their incoming weights W_h, start included"));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_table_has_a_hundred_cells_with_counts() {
        let mut counts = [[0usize; CLASSES]; CLASSES];
        counts[2][6] = 7;
        counts[2][2] = 30;
        let h = confusion_html(&counts);
        assert_eq!(h.matches("class=\"cm-cell\"").count(), 100);
        assert!(h.contains("title=\"true C predicted G: 7\">7</td>"));
        assert!(h.contains(">0.8108<"));
    }

    #[test]
    fn diverging_scale_is_white_at_zero_and_saturates() {
        assert_eq!(diverging(0.0), [255, 255, 255]);
        assert_eq!(diverging(1.0), [178, 24, 43]);
        assert_eq!(diverging(-5.0), [33, 102, 172]);
        let layout = mlp_engine::engine::layout::Layout { inputs: 4, hidden: 60, classes: CLASSES };
        let mut network = Network::new(layout, 1, 0.0);
        let range = layout.range(Tensor::OutputWeights);
        network.params_mut()[range.start + 7 * CLASSES] = 50.0;
        let units = sampled_units(&network);
        assert_eq!(units.len(), TILES);
        assert!(units.contains(&7) && units.windows(2).all(|w| w[0] < w[1]));
    }
}

//! The built-in data set: deterministic synthetic glyphs of the letters A–J.
//!
//! Each letter is a set of strokes (line segments and arcs) in a unit box.
//! Every image draws one letter under its own random size, position, slant,
//! rotation and stroke width, with ink of random strength, background
//! speckle and pixel noise, anti-aliased at 28×28. A network learns it
//! well but not trivially: the classes overlap in shape (E/F, C/G, B/D, I/J).
//! Row `i` depends only on `(seed, i)`, so the set is the same on every
//! machine and for any thread count.

use rayon::prelude::*;

use crate::engine::rng::Rng;

/// Side of the square images.
pub const SIDE: usize = 28;
/// Rows in the course file, which the built-in set imitates.
pub const COURSE_ROWS: usize = 18_724;

type Point = (f32, f32);

/// Approximates an arc of the ellipse centred at `c` with radii `r` from
/// angle `a0` to `a1` (degrees, y down) by short segments.
fn arc(c: Point, r: Point, a0: f32, a1: f32, out: &mut Vec<(Point, Point)>) {
    let steps = 10;
    let at = |t: f32| {
        let a = (a0 + (a1 - a0) * t).to_radians();
        (c.0 + r.0 * a.cos(), c.1 + r.1 * a.sin())
    };
    for s in 0..steps {
        out.push((at(s as f32 / steps as f32), at((s + 1) as f32 / steps as f32)));
    }
}

/// The strokes of letter `class` (0 = A … 9 = J) in the unit box, y down.
fn strokes(class: u8) -> Vec<(Point, Point)> {
    let mut s = Vec::new();
    let mut line = |a: Point, b: Point| s.push((a, b));
    match class {
        0 => {
            line((0.1, 1.0), (0.5, 0.0));
            line((0.5, 0.0), (0.9, 1.0));
            line((0.27, 0.62), (0.73, 0.62));
        }
        1 => {
            line((0.2, 0.0), (0.2, 1.0));
            line((0.2, 0.0), (0.55, 0.0));
            line((0.2, 0.5), (0.6, 0.5));
            line((0.2, 1.0), (0.6, 1.0));
            arc((0.55, 0.25), (0.25, 0.25), -90.0, 90.0, &mut s);
            arc((0.6, 0.75), (0.28, 0.25), -90.0, 90.0, &mut s);
        }
        2 => arc((0.55, 0.5), (0.4, 0.5), 45.0, 315.0, &mut s),
        3 => {
            line((0.2, 0.0), (0.2, 1.0));
            line((0.2, 0.0), (0.45, 0.0));
            line((0.2, 1.0), (0.45, 1.0));
            arc((0.45, 0.5), (0.4, 0.5), -90.0, 90.0, &mut s);
        }
        4 | 5 => {
            line((0.2, 0.0), (0.2, 1.0));
            line((0.2, 0.0), (0.85, 0.0));
            line((0.2, 0.5), (0.7, 0.5));
            if class == 4 {
                line((0.2, 1.0), (0.85, 1.0));
            }
        }
        6 => {
            arc((0.55, 0.5), (0.4, 0.5), 20.0, 315.0, &mut s);
            s.push(((0.55, 0.6), (0.93, 0.6)));
            s.push(((0.93, 0.6), (0.93, 0.85)));
        }
        7 => {
            line((0.15, 0.0), (0.15, 1.0));
            line((0.85, 0.0), (0.85, 1.0));
            line((0.15, 0.5), (0.85, 0.5));
        }
        8 => {
            line((0.5, 0.0), (0.5, 1.0));
            line((0.3, 0.0), (0.7, 0.0));
            line((0.3, 1.0), (0.7, 1.0));
        }
        _ => {
            line((0.35, 0.0), (0.9, 0.0));
            line((0.7, 0.0), (0.7, 0.7));
            arc((0.45, 0.7), (0.25, 0.3), 0.0, 180.0, &mut s);
        }
    }
    s
}

/// Squared distance from `p` to the segment `a`–`b`.
#[inline(always)]
fn squared_distance_to_segment(p: Point, a: Point, b: Point) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    let (qx, qy) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
    qx * qx + qy * qy
}

/// Distance from every pixel centre to the nearest segment.
///
/// Segment by segment over all pixels, so that the inner loop runs across
/// pixels with no dependence between them and vectorises; the square root
/// is taken once per pixel, of the smallest square. Both give the same bits
/// as taking each distance's root and the minimum in any order: `min` is
/// exact and the square root is correctly rounded and monotonic.
fn distance_field(segments: &[(Point, Point)], out: &mut [f32; SIDE * SIDE]) {
    let xs: [f32; SIDE * SIDE] = std::array::from_fn(|i| (i % SIDE) as f32 + 0.5);
    let ys: [f32; SIDE * SIDE] = std::array::from_fn(|i| (i / SIDE) as f32 + 0.5);
    out.fill(f32::INFINITY);
    for &(a, b) in segments {
        for ((d2, &x), &y) in out.iter_mut().zip(&xs).zip(&ys) {
            let d = squared_distance_to_segment((x, y), a, b);
            // Plain compare: no NaN arises here, and it vectorises.
            *d2 = if d < *d2 { d } else { *d2 };
        }
    }
    for d in out.iter_mut() {
        *d = d.sqrt();
    }
}

/// `x.round()` for `x ≥ 0` (half away from zero), without a libm call.
#[inline(always)]
fn round_non_negative(x: f32) -> f32 {
    let whole = (x as u32) as f32;
    if x - whole >= 0.5 { whole + 1.0 } else { whole }
}

/// Draws one image of `class` into `out` (SIDE² pixels in [0, 1]).
fn draw(class: u8, rng: &mut Rng, out: &mut [f32]) {
    let u = |rng: &mut Rng, lo: f64, hi: f64| (lo + (hi - lo) * rng.uniform()) as f32;
    let size = u(rng, 13.0, 22.0);
    let aspect = u(rng, 0.7, 1.25);
    let slant = u(rng, -0.35, 0.35);
    let angle = u(rng, -0.2, 0.2);
    let (w, h) = (size * aspect.min(1.0), size / aspect.max(1.0));
    let margin_x = (SIDE as f32 - w) / 2.0;
    let margin_y = (SIDE as f32 - h) / 2.0;
    let cx = SIDE as f32 / 2.0 + u(rng, -0.6, 0.6) * margin_x.max(0.0);
    let cy = SIDE as f32 / 2.0 + u(rng, -0.6, 0.6) * margin_y.max(0.0);
    let half_width = u(rng, 0.7, 2.2);
    let ink = u(rng, 0.55, 1.0);
    let (sin, cos) = angle.sin_cos();
    let place = |(x, y): Point| {
        // Unit box → centred, slanted, scaled, rotated, moved.
        let (x, y) = ((x - 0.5) + slant * (0.5 - y), y - 0.5);
        let (x, y) = (x * w, y * h);
        (cx + x * cos - y * sin, cy + x * sin + y * cos)
    };
    let segments: Vec<(Point, Point)> = strokes(class).into_iter().map(|(a, b)| (place(a), place(b))).collect();
    let noise = u(rng, 0.0, 0.12);
    let mut distance = [0.0f32; SIDE * SIDE];
    distance_field(&segments, &mut distance);
    for (px, &d) in out.iter_mut().zip(&distance) {
        // One pixel of anti-aliasing around the stroke edge.
        let coverage = (half_width + 0.5 - d).clamp(0.0, 1.0);
        let speckle = if rng.uniform() < 0.02 { u(rng, 0.2, 0.8) } else { 0.0 };
        let value = coverage * ink + speckle + noise * (rng.uniform() as f32 - 0.5);
        // Quantised to 1/255 steps like the course's 8-bit pixels.
        *px = round_non_negative(value.clamp(0.0, 1.0) * 255.0) / 255.0;
    }
}

/// `rows` images (row-major, SIDE² columns, values in [0, 1]) and their
/// labels; labels cycle through A–J so every class has `rows / 10` or one more.
pub fn glyphs(rows: usize, seed: u64) -> (Vec<f32>, Vec<u8>) {
    let labels: Vec<u8> = (0..rows).map(|i| (i % 10) as u8).collect();
    let mut images = vec![0.0f32; rows * SIDE * SIDE];
    images.par_chunks_mut(SIDE * SIDE).enumerate().for_each(|(i, out)| {
        let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64);
        draw(labels[i], &mut rng, out);
    });
    (images, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_distance_field_and_rounding_match_the_plain_formulas() {
        // The plain forms: each distance's own root, folded by min per pixel,
        // and libm's round.
        let mut rng = Rng::new(8);
        for class in 0..10u8 {
            let segments: Vec<(Point, Point)> = strokes(class)
                .into_iter()
                .map(|(a, b)| ((a.0 * 28.0, a.1 * 28.0 + rng.uniform() as f32), (b.0 * 28.0, b.1 * 28.0)))
                .collect();
            let mut fast = [0.0f32; SIDE * SIDE];
            distance_field(&segments, &mut fast);
            for (i, &got) in fast.iter().enumerate() {
                let p = ((i % SIDE) as f32 + 0.5, (i / SIDE) as f32 + 0.5);
                let plain = segments
                    .iter()
                    .map(|&(a, b)| squared_distance_to_segment(p, a, b).sqrt())
                    .fold(f32::INFINITY, f32::min);
                assert_eq!(got.to_bits(), plain.to_bits(), "class {class}, pixel {i}");
            }
        }
        for i in 0..=2_000_000u32 {
            let x = i as f32 * (255.0 / 2_000_000.0);
            for x in [x, f32::from_bits(x.to_bits() + 1), 0.5 - f32::EPSILON / 4.0, 0.5, 254.5] {
                assert_eq!(round_non_negative(x), x.round(), "{x}");
            }
        }
    }

    #[test]
    fn deterministic_varied_and_in_range() {
        let (a, la) = glyphs(40, 3);
        let (b, lb) = glyphs(40, 3);
        assert_eq!((&a, &la), (&b, &lb));
        assert!(a.iter().all(|&v| (0.0..=1.0).contains(&v)));
        // Two images of the same letter differ; every image has ink.
        assert_ne!(&a[..784], &a[10 * 784..11 * 784]);
        for img in a.chunks(784) {
            assert!(img.iter().filter(|&&v| v > 0.5).count() > 15);
        }
    }
}

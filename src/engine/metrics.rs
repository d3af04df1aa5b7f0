//! What a forward pass measures: the mean loss and accuracy over a set of
//! rows ([`Metrics`]), and a model's answer for one row ([`Prediction`]).

/// Mean loss and accuracy over a set of rows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Mean cross-entropy (natural log).
    pub loss: f64,
    /// Fraction of rows whose predicted class (the first class of highest
    /// probability) is the label, in `[0, 1]`.
    pub accuracy: f64,
    /// Number of rows measured.
    pub rows: usize,
}

impl Metrics {
    /// Row-weighted combination of two measurements; a measurement of no
    /// rows leaves the other exactly as it is.
    pub fn merge(self, other: Metrics) -> Metrics {
        if self.rows == 0 {
            return other;
        }
        if other.rows == 0 {
            return self;
        }
        let rows = self.rows + other.rows;
        let w = |m: Metrics, v: f64| v * m.rows as f64;
        Metrics {
            loss: (w(self, self.loss) + w(other, other.loss)) / rows as f64,
            accuracy: (w(self, self.accuracy) + w(other, other.accuracy)) / rows as f64,
            rows,
        }
    }
}

/// A model's answer for one row.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Prediction {
    /// The predicted class: the first class of highest probability, as
    /// [`Network::predict`](super::Network::predict) gives it; the row counts as right in the
    /// accuracy exactly when it is the label.
    pub class: u8,
    /// That probability.
    pub probability: f32,
}

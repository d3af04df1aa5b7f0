//! Checkpoints: everything a training run needs to continue exactly where
//! it stopped, as one self-checking binary file.
//!
//! A [`Checkpoint`] holds the settings, an identity of the data as it was
//! split ([`DataIdentity`]), the epochs done and their records, the
//! parameters and the velocity, the best-epoch trackers with the patience
//! counter they imply, the best-validation parameters (under `patience`),
//! the last finite parameters (what a diverged run keeps), the wall time so
//! far and where the run was resumed before. The mini-batch order needs no
//! stored generator: each epoch's shuffle is drawn from a generator seeded
//! by the run's seed and the epoch number alone, so the epoch count is its
//! whole state.
//!
//! Handed to [`train_from`](super::train_from), a checkpoint continues the
//! run, and the continued run is identical to the bit to one never stopped.
//!
//! The file is `MLPCKPT\0`, a format version, the body's length, the body
//! (little-endian integers, IEEE floats as their bits) and the body's
//! CRC-32: a truncated, altered or foreign file is refused, never half read.

use std::path::Path;

use crate::data::Split;
use crate::data::deflate::crc32;
use crate::engine::layout::Layout;
use crate::engine::{Metrics, MomentumSgd, Network};
use crate::error::{Error, ErrorKind, Result};

use crate::training::config::TrainConfig;
use crate::training::record::EpochRecord;
use crate::training::run_check::check_run;

/// The first bytes of a checkpoint file.
const MAGIC: &[u8; 8] = b"MLPCKPT\0";
/// The format version this build reads and writes.
const VERSION: u32 = 1;

/// What a split holds, as a fingerprint: its sizes and a 64-bit checksum of
/// its images (bit patterns, in split order) and labels. Another file,
/// another split or another shuffle seed gives another identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataIdentity {
    /// Rows of the split (train + valid + test).
    pub rows: usize,
    /// Values per row.
    pub features: usize,
    /// Training rows.
    pub train: usize,
    /// Validation rows.
    pub valid: usize,
    /// Test rows.
    pub test: usize,
    /// The checksum of images and labels.
    pub checksum: u64,
}

impl DataIdentity {
    /// The identity of `split`. Not a cryptographic hash: it recognises a
    /// changed file or split, not a forged one.
    pub fn of(split: &Split) -> DataIdentity {
        // A multiply-xorshift mix per 64 bits: one pass at memory speed
        // (a few milliseconds for the course's 58 MB of images).
        let mix = |h: u64, w: u64| {
            let h = (h ^ w).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            h ^ (h >> 29)
        };
        let mut h = mix(0x6D6C_7064_6174_6131, split.rows() as u64);
        let pairs = split.images.chunks_exact(2);
        let tail = pairs.remainder().first().map(|v| u64::from(v.to_bits()));
        for pair in pairs {
            h = mix(h, u64::from(pair[0].to_bits()) | (u64::from(pair[1].to_bits()) << 32));
        }
        if let Some(t) = tail {
            h = mix(h, t);
        }
        for chunk in split.labels.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            h = mix(h, u64::from_le_bytes(word));
        }
        for n in [split.features, split.train, split.valid, split.test] {
            h = mix(h, n as u64);
        }
        DataIdentity {
            rows: split.rows(),
            features: split.features,
            train: split.train,
            valid: split.valid,
            test: split.test,
            checksum: h,
        }
    }

    /// The checksum as 16 hex digits, as run folders record it.
    pub fn checksum_text(&self) -> String {
        format!("{:016x}", self.checksum)
    }

    /// `18724 rows (10000 train / 6000 valid / 2724 test) of 784 values, checksum 0123…`.
    pub fn describe(&self) -> String {
        format!(
            "{} rows ({} train / {} valid / {} test) of {} values, checksum {:016x}",
            self.rows, self.train, self.valid, self.test, self.features, self.checksum
        )
    }
}

/// How far a checkpointed run got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// It can go on: it was stopped, or it ran all its epochs and may be
    /// extended to more.
    Running,
    /// Patience ran out: continuing would stop again at once.
    EarlyStopped,
    /// The training loss became NaN or infinite at this epoch; there is
    /// nothing finite to continue from.
    Diverged {
        /// The epoch whose loss was not finite.
        epoch: usize,
    },
}

/// A point where a run was continued from a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResumePoint {
    /// Epochs done when it was continued.
    pub after_epoch: usize,
    /// When, in seconds since the Unix epoch.
    pub unix_seconds: u64,
}

/// The best-epoch trackers of a run (see the training loop's `BestEpochs`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Trackers {
    pub loss: f64,
    pub loss_epoch: usize,
    pub accuracy: f64,
    pub accuracy_epoch: usize,
    /// Empty without patience (nothing would restore them).
    pub best_params: Vec<f32>,
    pub last_finite: Vec<f32>,
}

/// Everything a run needs to continue; see the [module](self) docs.
///
/// # Example
///
/// Train 6 epochs, save the checkpoint, load it and continue to 10: the
/// result is the run of 10 epochs never stopped, to the bit.
///
/// ```
/// use std::ops::ControlFlow;
///
/// use mlp_engine::data::DataSource;
/// use mlp_engine::training::{Checkpoint, train_from};
/// use mlp_engine::{TrainConfig, train};
///
/// let split = DataSource::Synthetic { rows: 500, seed: 1 }.load()?.split(300, 100, 521)?;
/// let config = TrainConfig { hidden: 16, epochs: 6, ..TrainConfig::default() };
/// let first = train(&split, &config, |_| ControlFlow::Continue(()))?;
/// let bytes = first.checkpoint.to_bytes(); // or `first.checkpoint.save(path)`
///
/// let again = Checkpoint::from_bytes(&bytes, "run.ckpt".as_ref())?;
/// assert_eq!(again.epochs_done, 6);
/// let longer = TrainConfig { epochs: 10, ..config.clone() };
/// let resumed = train_from(&split, &longer, Some(again), |_| ControlFlow::Continue(()))?;
///
/// let straight = train(&split, &longer, |_| ControlFlow::Continue(()))?;
/// assert_eq!(resumed.network.params(), straight.network.params());
/// assert_eq!(resumed.history.len(), 10);
/// # Ok::<(), mlp_engine::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The run's settings (`epochs` is the count it was asked for).
    pub config: TrainConfig,
    /// The data it trained on.
    pub data: DataIdentity,
    /// Epochs done.
    pub epochs_done: usize,
    /// Whether it can go on.
    pub state: RunState,
    /// One record per epoch done.
    pub history: Vec<EpochRecord>,
    /// Wall time of all its epochs so far, in seconds.
    pub wall_seconds: f64,
    /// Where it was continued before, oldest first.
    pub resumes: Vec<ResumePoint>,
    pub(crate) layout: Layout,
    pub(crate) params: Vec<f32>,
    pub(crate) velocity: Vec<f32>,
    pub(crate) trackers: Trackers,
}

impl Checkpoint {
    /// The state of a run of `config` on `split` before its first epoch.
    ///
    /// # Errors
    /// The settings or the split that [`train`](super::train) would refuse
    /// (see [`TrainConfig::validate`]): checked before anything is built.
    pub fn start(split: &Split, config: &TrainConfig) -> Result<Checkpoint> {
        check_run(split, config)?;
        let layout = Layout::new(split.features, config.hidden, crate::data::CLASSES);
        let network = Network::new(layout, config.seed, config.velocity_init);
        let params = network.params().to_vec();
        Ok(Checkpoint {
            config: config.clone(),
            data: DataIdentity::of(split),
            epochs_done: 0,
            state: RunState::Running,
            history: Vec::new(),
            wall_seconds: 0.0,
            resumes: Vec::new(),
            layout,
            trackers: Trackers {
                loss: f64::INFINITY,
                loss_epoch: 0,
                accuracy: f64::NEG_INFINITY,
                accuracy_epoch: 0,
                best_params: if config.patience.is_some() { params.clone() } else { Vec::new() },
                last_finite: params.clone(),
            },
            velocity: network.velocity().to_vec(),
            params,
        })
    }

    /// The network as it stands: the parameters after the last update done
    /// (not the best ones) with their velocity.
    pub fn network(&self) -> Network {
        let mut network = Network::from_params(self.layout, self.params.clone(), 0.0);
        network.velocity_mut().copy_from_slice(&self.velocity);
        network
    }

    /// The checkpoint file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(256 + self.params.len() * 16 + self.history.len() * 64));
        let c = &self.config;
        w.u64(c.hidden as u64);
        w.u64(c.epochs as u64);
        w.f32(c.optimizer.learning_rate);
        w.f32(c.optimizer.momentum);
        w.u64(c.seed);
        w.u64(c.batch_size.map_or(0, |b| b as u64));
        w.u64(c.patience.map_or(0, |p| p as u64));
        w.f32(c.velocity_init);
        let d = &self.data;
        for n in [d.rows, d.features, d.train, d.valid, d.test] {
            w.u64(n as u64);
        }
        w.u64(d.checksum);
        w.u64(self.epochs_done as u64);
        let (state, diverged_at) = match self.state {
            RunState::Running => (0, 0),
            RunState::EarlyStopped => (1, 0),
            RunState::Diverged { epoch } => (2, epoch),
        };
        w.u64(state);
        w.u64(diverged_at as u64);
        w.f64(self.wall_seconds);
        let t = &self.trackers;
        w.f64(t.loss);
        w.u64(t.loss_epoch as u64);
        w.f64(t.accuracy);
        w.u64(t.accuracy_epoch as u64);
        w.u64(self.resumes.len() as u64);
        for r in &self.resumes {
            w.u64(r.after_epoch as u64);
            w.u64(r.unix_seconds);
        }
        w.u64(self.history.len() as u64);
        for r in &self.history {
            w.u64(r.epoch as u64);
            for m in [r.train, r.valid, r.test] {
                w.f64(m.loss);
                w.f64(m.accuracy);
                w.u64(m.rows as u64);
            }
            w.f64(r.seconds);
        }
        let l = self.layout;
        for n in [l.inputs, l.hidden, l.classes] {
            w.u64(n as u64);
        }
        w.u64(u64::from(!t.best_params.is_empty()));
        for buffer in [&self.params, &self.velocity, &t.last_finite, &t.best_params] {
            buffer.iter().for_each(|&v| w.f32(v));
        }
        let body = w.0;
        let mut out = Vec::with_capacity(body.len() + 24);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_le_bytes());
        out
    }

    /// Parses checkpoint bytes; `path` is only used in messages.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Checkpoint> {
        let bad = |what: &str| {
            Error::new(ErrorKind::BadHeader, format!("not a usable checkpoint: {what}")).at(path).fix(
                "the checkpoint is written by training; without a whole one the run cannot continue, start a new one",
            )
        };
        if bytes.len() < 8 || &bytes[..8] != MAGIC {
            return Err(bad("it does not start with MLPCKPT"));
        }
        if bytes.len() < 24 {
            return Err(bad("it ends inside its header"));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or_default());
        if version != VERSION {
            return Err(bad(&format!("format version {version}, this build reads {VERSION}")));
        }
        let body_len = u64::from_le_bytes(bytes[12..20].try_into().unwrap_or_default());
        if body_len != (bytes.len() - 24) as u64 {
            return Err(bad(&format!("its body should hold {body_len} bytes, the file has {}", bytes.len() - 24)));
        }
        let body = &bytes[20..bytes.len() - 4];
        let stored = u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().unwrap_or_default());
        if crc32(body) != stored {
            return Err(bad("its checksum does not match (the file was altered or cut)"));
        }
        parse_body(&mut Reader { bytes: body, at: 0 }).map_err(|what| bad(&what))
    }

    /// Reads a checkpoint file (any path: FIFOs, devices and folders are refused).
    pub fn load(path: &Path) -> Result<Checkpoint> {
        Checkpoint::from_bytes(&crate::data::read_file(path)?, path)
    }

    /// Writes the checkpoint to `path` whole or not at all: to a temporary
    /// file beside it, synced, then renamed over `path`, and the folder
    /// synced after the rename, so that a power cut cannot bring back the
    /// older checkpoint.
    pub fn save(&self, path: &Path) -> Result<()> {
        use std::io::Write as _;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&self.to_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            sync_folder_of(path)
        })();
        result.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, "write the checkpoint", &e)
        })
    }

    /// Why this checkpoint cannot continue as a run of `config` on `split`,
    /// if it cannot: other data, other settings, a diverged run, or fewer
    /// epochs asked for than it has done.
    /// Its parts are checked against each other first (the fields are
    /// public, so they may have been changed since it was loaded).
    pub fn check_fits(&self, split: &Split, config: &TrainConfig) -> Result<()> {
        let refuse = |what: String, fix: &str| Err(Error::new(ErrorKind::BadSplit, what).fix(fix));
        if let Some(what) = self.inconsistency() {
            return refuse(
                format!("the checkpoint does not hold together: {what}"),
                "continue from a checkpoint as training wrote it, or start a new run",
            );
        }
        if let RunState::Diverged { epoch } = self.state {
            return refuse(
                format!("the run diverged at epoch {epoch}; there is nothing finite to continue from"),
                "start a new run with a smaller learning rate",
            );
        }
        let identity = DataIdentity::of(split);
        if identity != self.data {
            return refuse(
                format!("the data is {}, the run trained on {}", identity.describe(), self.data.describe()),
                "continue with the data and split the run was trained on",
            );
        }
        let same = TrainConfig { epochs: self.config.epochs, ..config.clone() };
        if same != self.config {
            return refuse(
                format!("the settings {:?} differ from the run's {:?}", config, self.config),
                "continue with the run's own settings; only the epoch count may change",
            );
        }
        // Built as a literal: `Layout::new` would panic on a split of 0 values.
        let wanted = Layout { inputs: split.features, hidden: config.hidden, classes: crate::data::CLASSES };
        if self.layout != wanted {
            return refuse(
                format!(
                    "the checkpoint holds a {}-{}-{} network, the run needs {}-{}-{}",
                    self.layout.inputs,
                    self.layout.hidden,
                    self.layout.classes,
                    wanted.inputs,
                    wanted.hidden,
                    wanted.classes
                ),
                "continue with the data and settings the run was trained with",
            );
        }
        if config.epochs < self.epochs_done {
            return refuse(
                format!("{} epochs asked for, but the run has done {}", config.epochs, self.epochs_done),
                "ask for at least as many epochs as were done",
            );
        }
        Ok(())
    }

    /// Why the checkpoint's parts disagree with each other, if they do: the
    /// epoch counters against the epochs done, the records against their
    /// positions, the network against the settings and the data, and every
    /// buffer against the network's size. Checked on loading and again
    /// before continuing, since the public fields may be edited between.
    fn inconsistency(&self) -> Option<String> {
        let done = self.epochs_done;
        let t = &self.trackers;
        if t.loss_epoch > done || t.accuracy_epoch > done {
            return Some(format!(
                "best epochs {} (loss) and {} (accuracy) after only {done} epochs done",
                t.loss_epoch, t.accuracy_epoch
            ));
        }
        if let RunState::Diverged { epoch } = self.state
            && (epoch == 0 || epoch > done)
        {
            return Some(format!("diverged at epoch {epoch} of {done} epochs done"));
        }
        if self.history.len() != done {
            return Some(format!("{} epoch records for {done} epochs done", self.history.len()));
        }
        if let Some((at, r)) = self.history.iter().enumerate().find(|(at, r)| r.epoch != at + 1) {
            return Some(format!("epoch record {} says it is epoch {}", at + 1, r.epoch));
        }
        let l = self.layout;
        if l.inputs != self.data.features || l.hidden != self.config.hidden || l.classes != crate::data::CLASSES {
            return Some(format!(
                "a {}-{}-{} network for {} values and H = {}",
                l.inputs, l.hidden, l.classes, self.data.features, self.config.hidden
            ));
        }
        let Some(total) = network_size(l.inputs, l.hidden, l.classes) else {
            return Some("a network with more parameters than can exist".into());
        };
        let best = if self.config.patience.is_some() { total } else { 0 };
        let lengths = [self.params.len(), self.velocity.len(), t.last_finite.len(), t.best_params.len()];
        if lengths != [total, total, total, best] {
            return Some(format!(
                "buffers of {lengths:?} values (parameters, velocity, last finite, best) for a network of {total}"
            ));
        }
        None
    }
}

/// Parameters of a `inputs → hidden → classes` network, or `None` if a
/// size is 0 or the count overflows: what `Layout::new` would panic on.
fn network_size(inputs: usize, hidden: usize, classes: usize) -> Option<usize> {
    if inputs == 0 || hidden == 0 || classes == 0 {
        return None;
    }
    inputs.checked_mul(hidden)?.checked_add(hidden)?.checked_add(hidden.checked_mul(classes)?)?.checked_add(classes)
}

/// Syncs the folder holding `path`, which makes a rename into it durable.
/// A file system that cannot sync a folder (EINVAL, EOPNOTSUPP) or a folder
/// that cannot be opened for reading is let be: the file itself is synced.
fn sync_folder_of(path: &Path) -> std::io::Result<()> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match std::fs::File::open(folder).and_then(|f| f.sync_all()) {
        Err(e) if matches!(e.raw_os_error(), Some(22 | 95)) || e.kind() == std::io::ErrorKind::PermissionDenied => {
            Ok(())
        }
        other => other,
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
        let end = self.at.checked_add(N).filter(|&e| e <= self.bytes.len()).ok_or("it ends early")?;
        let out = self.bytes[self.at..end].try_into().map_err(|_| "it ends early")?;
        self.at = end;
        Ok(out)
    }
    fn u64(&mut self) -> std::result::Result<u64, String> {
        self.take::<8>().map(u64::from_le_bytes)
    }
    fn usize(&mut self) -> std::result::Result<usize, String> {
        usize::try_from(self.u64()?).map_err(|_| "a count too large for this machine".to_string())
    }
    fn f64(&mut self) -> std::result::Result<f64, String> {
        self.u64().map(f64::from_bits)
    }
    fn f32(&mut self) -> std::result::Result<f32, String> {
        self.take::<4>().map(|b| f32::from_bits(u32::from_le_bytes(b)))
    }
    /// `count` items of `size` bytes each must still be there: a count is
    /// checked against the bytes left before anything is allocated for it.
    fn room(&self, count: usize, size: usize) -> std::result::Result<(), String> {
        match count.checked_mul(size) {
            Some(n) if n <= self.bytes.len() - self.at => Ok(()),
            _ => Err(format!("it declares {count} entries, more than it holds")),
        }
    }
    fn f32s(&mut self, n: usize) -> std::result::Result<Vec<f32>, String> {
        self.room(n, 4)?;
        (0..n).map(|_| self.f32()).collect()
    }
}

fn parse_body(r: &mut Reader<'_>) -> std::result::Result<Checkpoint, String> {
    let positive = |n: usize, what: &str| if n == 0 { Err(format!("{what} is 0")) } else { Ok(n) };
    let hidden = positive(r.usize()?, "hidden")?;
    let epochs = r.usize()?;
    let optimizer = MomentumSgd { learning_rate: r.f32()?, momentum: r.f32()? };
    let seed = r.u64()?;
    let batch_size = Some(r.usize()?).filter(|&b| b > 0);
    let patience = Some(r.usize()?).filter(|&p| p > 0);
    let velocity_init = r.f32()?;
    let config = TrainConfig { hidden, epochs, optimizer, seed, batch_size, patience, velocity_init };
    let [rows, features, train, valid, test] = [r.usize()?, r.usize()?, r.usize()?, r.usize()?, r.usize()?];
    let data = DataIdentity { rows, features, train, valid, test, checksum: r.u64()? };
    let epochs_done = r.usize()?;
    let state = match (r.u64()?, r.usize()?) {
        (0, _) => RunState::Running,
        (1, _) => RunState::EarlyStopped,
        (2, epoch) => RunState::Diverged { epoch },
        (other, _) => return Err(format!("unknown run state {other}")),
    };
    let wall_seconds = r.f64()?;
    let (loss, loss_epoch, accuracy, accuracy_epoch) = (r.f64()?, r.usize()?, r.f64()?, r.usize()?);
    let resume_count = r.usize()?;
    r.room(resume_count, 16)?;
    let resumes = (0..resume_count)
        .map(|_| Ok(ResumePoint { after_epoch: r.usize()?, unix_seconds: r.u64()? }))
        .collect::<std::result::Result<Vec<_>, String>>()?;
    let history_len = r.usize()?;
    if history_len != epochs_done {
        return Err(format!("{history_len} epoch records for {epochs_done} epochs done"));
    }
    r.room(history_len, 88)?;
    let mut history = Vec::with_capacity(history_len);
    for _ in 0..history_len {
        let epoch = r.usize()?;
        let mut parts = [Metrics::default(); 3];
        for m in &mut parts {
            *m = Metrics { loss: r.f64()?, accuracy: r.f64()?, rows: r.usize()? };
        }
        let [train, valid, test] = parts;
        history.push(EpochRecord { epoch, train, valid, test, seconds: r.f64()? });
    }
    let [inputs, layout_hidden, classes] = [r.usize()?, r.usize()?, r.usize()?];
    if layout_hidden != hidden || inputs != features || classes != crate::data::CLASSES {
        return Err(format!("a {inputs}-{layout_hidden}-{classes} network for {features} values and H = {hidden}"));
    }
    // Every size is checked here, before `Layout::new` (which panics on a
    // zero or overflowing size) is reached.
    let total = network_size(inputs, hidden, classes)
        .ok_or_else(|| format!("a {inputs}-{hidden}-{classes} network: a size is 0 or the count overflows"))?;
    let has_best = match r.u64()? {
        0 => false,
        1 => true,
        other => return Err(format!("best-parameters flag {other}, not 0 or 1")),
    };
    let buffers = if has_best { 4 } else { 3 };
    if total.checked_mul(4 * buffers) != Some(r.bytes.len() - r.at) {
        return Err("its parameter buffers do not match its network's size".into());
    }
    let layout = Layout::new(inputs, hidden, classes);
    let params = r.f32s(total)?;
    let velocity = r.f32s(total)?;
    let last_finite = r.f32s(total)?;
    let best_params = if has_best { r.f32s(total)? } else { Vec::new() };
    if has_best != patience.is_some() {
        return Err("best parameters stored without patience, or missing with it".into());
    }
    let trackers = Trackers { loss, loss_epoch, accuracy, accuracy_epoch, best_params, last_finite };
    let checkpoint = Checkpoint {
        config,
        data,
        epochs_done,
        state,
        history,
        wall_seconds,
        resumes,
        layout,
        params,
        velocity,
        trackers,
    };
    match checkpoint.inconsistency() {
        Some(what) => Err(what),
        None => Ok(checkpoint),
    }
}

/// Also used by the training loop's tests, which continue runs from
/// checkpoints made and crafted here.
#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::data::Dataset;

    pub(in crate::training) fn sample() -> Checkpoint {
        let split = Dataset::synthetic(200, 3).into_split(120, 40, 5).unwrap();
        let config = TrainConfig { hidden: 8, epochs: 3, patience: Some(2), ..TrainConfig::default() };
        let mut c = Checkpoint::start(&split, &config).unwrap();
        c.history.push(EpochRecord { epoch: 1, seconds: 0.5, ..EpochRecord::default() });
        c.epochs_done = 1;
        c.resumes.push(ResumePoint { after_epoch: 1, unix_seconds: 1_800_000_000 });
        c
    }

    #[test]
    fn bytes_round_trip_exactly() {
        let c = sample();
        assert_eq!(Checkpoint::from_bytes(&c.to_bytes(), Path::new("c")).unwrap(), c);
    }

    #[test]
    fn every_cut_and_every_flipped_byte_is_refused() {
        let bytes = sample().to_bytes();
        for cut in 0..bytes.len() {
            assert!(Checkpoint::from_bytes(&bytes[..cut], Path::new("c")).is_err(), "cut at {cut}");
        }
        // Each byte changed: the magic, version or length check, or the CRC, catches it.
        for at in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(Checkpoint::from_bytes(&bad, Path::new("c")).is_err(), "flip at {at}");
        }
    }

    /// Where the body starts in the file (magic, version, body length).
    pub(in crate::training) const BODY: usize = 20;
    /// Body offsets of the fixed fields (see `to_bytes`).
    const FEATURES: usize = 60;
    const EPOCHS_DONE: usize = 100;
    const STATE: usize = 108;
    const DIVERGED_AT: usize = 116;
    const LOSS_EPOCH: usize = 140;
    const ACCURACY_EPOCH: usize = 156;
    const RESUME_COUNT: usize = 164;

    /// `bytes` with the u64 at body offset `at` replaced by `value` and the
    /// CRC recomputed, as anyone crafting a file can: only the body's own
    /// checks stand between it and the parser.
    pub(in crate::training) fn patched(bytes: &[u8], at: usize, value: u64) -> Vec<u8> {
        let mut out = bytes.to_vec();
        out[BODY + at..BODY + at + 8].copy_from_slice(&value.to_le_bytes());
        let end = out.len() - 4;
        let crc = crc32(&out[BODY..end]);
        out[end..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// The body offset of the u64 counting history records in `sample()`.
    fn history_count_at(c: &Checkpoint) -> usize {
        RESUME_COUNT + 8 + 16 * c.resumes.len()
    }

    fn refusal(bytes: &[u8]) -> String {
        match Checkpoint::from_bytes(bytes, Path::new("c")) {
            Ok(_) => panic!("a crafted checkpoint was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_offsets_used_below_are_those_written() {
        // Guards the tests below: each patch must land on the field it names.
        let c = sample();
        let bytes = c.to_bytes();
        let read = |at: usize| u64::from_le_bytes(bytes[BODY + at..BODY + at + 8].try_into().unwrap());
        assert_eq!(read(FEATURES), c.data.features as u64);
        assert_eq!(read(EPOCHS_DONE), 1);
        assert_eq!(read(RESUME_COUNT), 1);
        assert_eq!(read(history_count_at(&c)), 1);
        assert_eq!(patched(&bytes, EPOCHS_DONE, 1), bytes, "patching in the same value changes nothing");
    }

    #[test]
    fn zero_or_huge_network_sizes_with_a_valid_crc_are_refused_not_a_panic() {
        let c = sample();
        let bytes = c.to_bytes();
        let layout_at = bytes.len() - 4 - BODY - 8 - 4 * 4 * c.layout.total() - 24;
        for value in [0, 1 << 40, u64::MAX >> 1] {
            // The data's feature count and the layout's inputs, changed together.
            let both = patched(&patched(&bytes, FEATURES, value), layout_at, value);
            assert!(refusal(&both).contains("not a usable checkpoint"), "features = {value}");
            // Hidden, in the settings and in the layout.
            let hidden = patched(&patched(&bytes, 0, value), layout_at + 8, value);
            assert!(refusal(&hidden).contains("not a usable checkpoint"), "hidden = {value}");
            // Classes.
            refusal(&patched(&bytes, layout_at + 16, value));
        }
        let zero = patched(&patched(&bytes, FEATURES, 0), layout_at, 0);
        assert!(refusal(&zero).contains("a size is 0"), "{}", refusal(&zero));
        // The same with buffers sized for the 0-input network (0·8 + 8 + 8·10
        // + 10 values), so that the length check is passed too: what reached
        // `Layout::new(0, …)` before.
        let mut crafted = sample();
        crafted.data.features = 0;
        crafted.layout = Layout { inputs: 0, ..crafted.layout };
        for buffer in [&mut crafted.params, &mut crafted.velocity, &mut crafted.trackers.last_finite] {
            buffer.truncate(98);
        }
        crafted.trackers.best_params.truncate(98);
        let message = refusal(&crafted.to_bytes());
        assert!(message.contains("a 0-8-10 network: a size is 0"), "{message}");
    }

    #[test]
    fn epoch_counters_past_the_epochs_done_are_refused() {
        let bytes = sample().to_bytes();
        for at in [LOSS_EPOCH, ACCURACY_EPOCH] {
            for value in [2, 1000, u64::MAX >> 1] {
                let message = refusal(&patched(&bytes, at, value));
                assert!(message.contains("after only 1 epochs done"), "{message}");
            }
        }
        // Diverged at an epoch not done, or at epoch 0.
        let diverged = patched(&bytes, STATE, 2);
        assert!(Checkpoint::from_bytes(&patched(&diverged, DIVERGED_AT, 1), Path::new("c")).is_ok());
        for value in [0, 2, u64::MAX >> 1] {
            assert!(refusal(&patched(&diverged, DIVERGED_AT, value)).contains("diverged at epoch"));
        }
        assert!(refusal(&patched(&bytes, STATE, 3)).contains("unknown run state"));
    }

    #[test]
    fn counts_and_records_that_disagree_are_refused() {
        let c = sample();
        let bytes = c.to_bytes();
        let history_at = history_count_at(&c);
        // More epochs done than records, and more records declared than held.
        assert!(refusal(&patched(&bytes, EPOCHS_DONE, 2)).contains("epoch records for 2 epochs done"));
        let both = patched(&patched(&bytes, EPOCHS_DONE, 1 << 40), history_at, 1 << 40);
        assert!(refusal(&both).contains("more than it holds"));
        assert!(refusal(&patched(&bytes, RESUME_COUNT, u64::MAX)).contains("not a usable checkpoint"));
        // The one record says it is epoch 5.
        let message = refusal(&patched(&bytes, history_at + 8, 5));
        assert!(message.contains("epoch record 1 says it is epoch 5"), "{message}");
        // The has-best flag says no while patience is set: the buffers no longer fit either.
        let flag_at = bytes.len() - 4 - BODY - 4 * 4 * c.layout.total() - 8;
        refusal(&patched(&bytes, flag_at, 0));
        assert!(refusal(&patched(&bytes, flag_at, 2)).contains("flag 2, not 0 or 1"));
    }

    #[test]
    fn buffers_of_the_wrong_length_are_refused() {
        // Written by `to_bytes` with a valid CRC, as a crafted file would be.
        let mut long = sample();
        long.params.push(0.0);
        assert!(refusal(&long.to_bytes()).contains("buffers do not match"));
        let mut no_best = sample();
        no_best.trackers.best_params.clear();
        refusal(&no_best.to_bytes());
    }

    #[test]
    fn fields_edited_after_loading_are_refused_before_continuing() {
        let split = Dataset::synthetic(200, 3).into_split(120, 40, 5).unwrap();
        let config = TrainConfig { hidden: 8, epochs: 3, patience: Some(2), ..TrainConfig::default() };
        let fits = |c: &Checkpoint| c.check_fits(&split, &config).map_err(|e| e.to_string());
        let c = sample();
        assert_eq!(fits(&c), Ok(()));
        let mut edited = c.clone();
        edited.trackers.loss_epoch = 7;
        assert!(fits(&edited).unwrap_err().contains("after only 1 epochs done"));
        let mut edited = c.clone();
        edited.epochs_done = 0;
        assert!(fits(&edited).unwrap_err().contains("1 epoch records for 0 epochs done"));
        let mut edited = c.clone();
        edited.history[0].epoch = 2;
        assert!(fits(&edited).unwrap_err().contains("says it is epoch 2"));
        let mut edited = c.clone();
        edited.params.pop();
        assert!(fits(&edited).unwrap_err().contains("buffers of"));
        let mut edited = c.clone();
        edited.config.hidden = 9;
        edited.layout = Layout::new(c.layout.inputs, 9, c.layout.classes);
        assert!(fits(&edited).is_err(), "another H than the run's");
    }

    #[test]
    fn start_refuses_bad_settings_instead_of_panicking() {
        let split = Dataset::synthetic(200, 3).into_split(120, 40, 5).unwrap();
        let config = TrainConfig { hidden: 0, ..TrainConfig::default() };
        let e = Checkpoint::start(&split, &config).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadSetting);
        assert!(e.to_string().contains("`hidden`"), "{e}");
    }

    #[test]
    fn identity_sees_one_changed_pixel_label_or_split() {
        let data = Dataset::synthetic(200, 3);
        let split = data.split(120, 40, 5).unwrap();
        let base = DataIdentity::of(&split);
        assert_eq!(base, DataIdentity::of(&data.split(120, 40, 5).unwrap()));
        assert_ne!(base, DataIdentity::of(&data.split(120, 40, 6).unwrap()), "another shuffle seed");
        assert_ne!(base, DataIdentity::of(&data.split(110, 50, 5).unwrap()), "another split");
        let mut pixel = split.clone();
        pixel.images[12_345] += 1e-6;
        assert_ne!(base, DataIdentity::of(&pixel));
        let mut label = split.clone();
        label.labels[150] = (label.labels[150] + 1) % 10;
        assert_ne!(base, DataIdentity::of(&label));
    }
}

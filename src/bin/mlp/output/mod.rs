//! The run folder and the files a run writes into it: the claim marker,
//! `metrics.csv` ([`metrics_csv`]: one row per epoch, appended as the epoch
//! ends, and read back),
//! `summary.json` ([`summary`]), a sweep's `sweep.csv` ([`sweep`]), and the
//! atomic writes that `model.npz` and the report's pages and plots
//! ([`crate::report`]) go through.
//!
//! A run claims its folder before its first epoch by creating the marker
//! `.mlp-run` exclusively (holding the process id and command) and keeping
//! it locked, so two runs can never share a folder: the second fails at
//! once naming the first. The claim ends with the run: the marker then says
//! `finished`, and a claim whose process is gone is stale; either kind of
//! folder is reopened only by `mlp train --resume`. Every write into a
//! claimed folder first checks that the path still names that folder.
//! Every file but `metrics.csv` is written to a temporary name unique to this process and
//! renamed into place, under one lock that a second Ctrl-C also takes before
//! it exits: a file is whole or absent, and no temporary file is left.

pub mod metrics_csv;
pub mod run_record;
pub mod summary;
pub mod sweep;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{CliError, CliResult, ToolFailure, ToolFailureKind};
use crate::json::Json;
use crate::signals::block_writes;
use mlp_engine::{Error, ErrorKind, Metrics, Result};

/// The claim marker of a run folder.
pub const MARKER: &str = ".mlp-run";

/// A run folder this process has claimed. The marker stays open and
/// locked while the folder is held, and says `state: finished` once the
/// folder is let go (however the command ends, short of SIGKILL, whose
/// claim the next look finds stale: the lock went with the process).
#[derive(Debug)]
pub struct RunFolder {
    dir: PathBuf,
    marker: File,
    /// Whether the marker is this process's claim (a reopened folder's is
    /// not until [`RunFolder::mark_running`]): only then is it rewritten.
    owned: bool,
    /// Whether [`RunFolder::reopen`] made the marker (the folder had none):
    /// a resume refused before [`RunFolder::mark_running`] removes it, so
    /// the folder is left as it was.
    made_marker: bool,
}

impl RunFolder {
    /// Claims `out` (which must be a new or empty folder), or a new folder
    /// `runs/<prefix>-<UTC date-time>` (with a suffix until it is new). A
    /// refused claim leaves nothing behind that was not there.
    pub fn claim(out: Option<&Path>, prefix: &str) -> CliResult<RunFolder> {
        let (dir, created) = match out {
            Some(dir) => {
                check_out(dir)?;
                let created = create_dirs(dir)?;
                (dir.to_path_buf(), created)
            }
            None => {
                let base = Path::new("runs");
                let mut created = create_dirs(base)?;
                let dir = fresh_dir(base, &format!("{prefix}-{}", utc_stamp(SystemTime::now())))
                    .inspect_err(|_| remove_created(&created))?;
                created.push(dir.clone());
                (dir, created)
            }
        };
        claim_marker(&dir).inspect_err(|_| remove_created(&created))
    }

    /// Claims a new folder `name` inside this one (a sweep's per-size runs).
    pub fn claim_inside(&self, name: &str) -> CliResult<RunFolder> {
        let dir = self.dir.join(name);
        self.check_in_place()?;
        std::fs::create_dir(&dir).map_err(|e| create_error(&dir, &e))?;
        claim_marker(&dir).inspect_err(|_| remove_created(std::slice::from_ref(&dir)))
    }

    /// Takes back a folder of a finished or abandoned run (for `--resume`),
    /// without changing a byte of it: refused while another process holds
    /// it. [`RunFolder::mark_running`] then makes the claim this process's.
    pub fn reopen(dir: &Path) -> CliResult<RunFolder> {
        let path = dir.join(MARKER);
        if std::fs::symlink_metadata(&path).is_ok() {
            check_regular_marker_path(dir)?;
        }
        let marker = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            // A folder of an older build, or whose marker was removed: a
            // marker made now holds it like any claim, and goes again with
            // the folder if the resume is refused.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut folder = claim_marker(dir)?;
                (folder.owned, folder.made_marker) = (false, true);
                return Ok(folder);
            }
            Err(e) => return Err(create_error(dir, &e)),
        };
        check_regular_marker(&marker, dir)?;
        match claim_state(&marker, dir) {
            ClaimState::Live => Err(claimed_error(dir)),
            ClaimState::Finished | ClaimState::Abandoned(_) => {
                // Held from now on: a second resume finds the lock taken,
                // even before this one rewrites the marker.
                if let Err(std::fs::TryLockError::WouldBlock) = marker.try_lock() {
                    return Err(claimed_error(dir));
                }
                register(dir)?;
                Ok(RunFolder { dir: dir.to_path_buf(), marker, owned: false, made_marker: false })
            }
        }
    }

    /// Rewrites the reopened marker as this process's claim.
    pub fn mark_running(&mut self) -> CliResult<()> {
        self.owned = true;
        rewrite_marker(&mut self.marker, &marker_text("running")).map_err(|e| create_error(&self.dir, &e))
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The path of a file in the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Fails if the path no longer names the folder that was claimed (it
    /// was renamed, removed, or replaced by another folder or a symlink).
    pub fn check_in_place(&self) -> CliResult<()> {
        check_claimed(&self.dir)
    }
}

impl Drop for RunFolder {
    /// The claim ends with the command: the marker says so. (If the folder
    /// moved, the marker is still this open file, wherever it went.) A
    /// marker made by a resume that was refused is removed instead.
    fn drop(&mut self) {
        if self.owned {
            let _writing = block_writes();
            let _ = rewrite_marker(&mut self.marker, &marker_text("finished"));
        } else if self.made_marker && check_claimed(&self.dir).is_ok() {
            let _ = std::fs::remove_file(self.dir.join(MARKER));
        }
        unregister(&self.dir);
    }
}

/// Whether a marker's claim still holds.
#[derive(Debug, PartialEq, Eq)]
enum ClaimState {
    /// A live process holds the folder.
    Live,
    /// Its run ended and let the folder go.
    Finished,
    /// Its process is gone without letting go (SIGKILL, a crash, a
    /// power cut): the reason.
    Abandoned(String),
}

/// The state of the claim `marker` (an open marker file) records. A
/// process holds the marker's lock while it runs, so a lock taken here
/// means nobody does; the recorded process is also looked up, for a
/// claim made without the lock (a file system without locks).
fn claim_state(marker: &File, dir: &Path) -> ClaimState {
    let text = read_marker(dir);
    let field = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).map(str::trim);
    match marker.try_lock() {
        Err(std::fs::TryLockError::WouldBlock) => return ClaimState::Live,
        Ok(()) => {
            let _ = marker.unlock();
        }
        Err(_) => {}
    }
    if field("state:") == Some("finished") {
        return ClaimState::Finished;
    }
    let pid = field("pid ").and_then(|p| p.parse::<u32>().ok());
    let Some(pid) = pid else {
        return ClaimState::Abandoned("its marker names no process".into());
    };
    match process_start(pid) {
        None => ClaimState::Abandoned(format!("process {pid} is gone")),
        Some(start) if field("process_start:").is_some_and(|s| s != start) => {
            ClaimState::Abandoned(format!("process {pid} is gone (its number now belongs to a later process)"))
        }
        // The same process, alive, but not holding the lock: it is between
        // making the marker and locking it, or on a file system without locks.
        Some(_) if pid == std::process::id() => ClaimState::Abandoned("this process let it go".into()),
        Some(_) => ClaimState::Live,
    }
}

/// The start time of process `pid` in clock ticks after boot (field 22 of
/// `/proc/PID/stat`), as text; `None` if there is no such process. Two
/// processes that had the same number have different start times.
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after its ')' are plain.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19).map(str::to_string)
}

/// The marker text of this process in `state`.
fn marker_text(state: &str) -> String {
    let command: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let pid = std::process::id();
    format!(
        "pid {pid}\ncommand: {}\nstarted: {} UTC\nprocess_start: {}\nstate: {state}\n",
        command.join(" "),
        utc_stamp(SystemTime::now()),
        process_start(pid).unwrap_or_default()
    )
}

/// Replaces the marker's text in place (the lock stays on this file):
/// one write after cutting it to nothing.
fn rewrite_marker(marker: &mut File, text: &str) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    marker.set_len(0)?;
    marker.seek(SeekFrom::Start(0))?;
    marker.write_all(text.as_bytes())
}

/// A folder this process holds: the identity (device, inode) it had when
/// claimed, and the folder itself held open.
struct Claimed {
    dir: PathBuf,
    dev: u64,
    ino: u64,
    handle: File,
}

/// The folders this process holds: every write into one first checks that
/// the path still names it, and then goes through the open folder itself
/// (`/proc/self/fd/N/NAME`), so that a folder moved in between still gets
/// the whole file and no file lands anywhere else.
static CLAIMED: Mutex<Vec<Claimed>> = Mutex::new(Vec::new());

fn claimed_list() -> MutexGuard<'static, Vec<Claimed>> {
    CLAIMED.lock().unwrap_or_else(|p| p.into_inner())
}

fn register(dir: &Path) -> CliResult<()> {
    use std::os::unix::fs::MetadataExt;
    let handle = File::open(dir).map_err(|e| create_error(dir, &e))?;
    let meta = handle.metadata().map_err(|e| create_error(dir, &e))?;
    claimed_list().push(Claimed { dir: dir.to_path_buf(), dev: meta.dev(), ino: meta.ino(), handle });
    Ok(())
}

fn unregister(dir: &Path) {
    claimed_list().retain(|c| c.dir != dir);
}

/// Fails if `dir`, a claimed folder, no longer is the folder it was.
fn check_claimed(dir: &Path) -> CliResult<()> {
    resolve_in_claimed(&dir.join("-")).map(|_| ())
}

/// The path to write `path` through: for a file of a claimed folder still
/// in place, the same name inside the open folder; other paths as they are.
fn resolve_in_claimed(path: &Path) -> CliResult<PathBuf> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return Ok(path.to_path_buf()) };
    let list = claimed_list();
    let Some(claimed) = list.iter().find(|c| c.dir == dir) else { return Ok(path.to_path_buf()) };
    // Followed through symlinks (an `--out` may be one): a symlink put in
    // the folder's place names another folder, and fails here.
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() && meta.dev() == claimed.dev && meta.ino() == claimed.ino => {}
        _ => return Err(folder_moved(dir)),
    }
    let through = Path::new("/proc/self/fd").join(claimed.handle.as_raw_fd().to_string());
    Ok(if through.is_dir() { through.join(name) } else { path.to_path_buf() })
}

fn folder_moved(dir: &Path) -> CliError {
    ToolFailure::new(
        ToolFailureKind::Output,
        "the run folder was moved, removed or replaced while the run was writing to it; nothing more is written",
    )
    .at(dir)
    .fix("leave a run folder in place while its run lasts; what was written is where the folder went, and mlp train --resume continues it there")
    .into()
}

/// Fails if `path` lies in a claimed folder that is no longer in place.
fn in_claimed_folder(path: &Path) -> CliResult<()> {
    resolve_in_claimed(path).map(|_| ())
}

/// Refuses an `--out` that cannot be a new run folder (exit 2), or one
/// that another run holds (exit 1).
fn check_out(dir: &Path) -> CliResult<()> {
    let usage = |what: &str| CliError::Usage(format!("--out {}: {what}", dir.display()));
    check_name_lengths(dir)?;
    if let Ok(meta) = std::fs::symlink_metadata(dir)
        && meta.file_type().is_symlink()
        && std::fs::metadata(dir).is_err()
    {
        let target = std::fs::read_link(dir).map(|t| t.display().to_string()).unwrap_or_default();
        return Err(usage(&format!(
            "this is a symbolic link to {target}, which does not exist; create the folder it points to, or pass another --out"
        )));
    }
    let Ok(meta) = std::fs::metadata(dir) else {
        return Ok(()); // does not exist yet: it will be created
    };
    if !meta.is_dir() {
        return Err(usage("this is not a folder; pass a new folder"));
    }
    let mut entries = std::fs::read_dir(dir).map_err(|e| create_error(dir, &e))?;
    if entries.next().is_none() {
        return Ok(());
    }
    let marker_path = dir.join(MARKER);
    if std::fs::symlink_metadata(&marker_path).is_ok() {
        check_regular_marker_path(dir)?;
        let marker = match OpenOptions::new().read(true).open(&marker_path) {
            Ok(marker) => marker,
            Err(_) => return Err(claimed_error(dir)),
        };
        check_regular_marker(&marker, dir)?;
        let what = match claim_state(&marker, dir) {
            ClaimState::Live => return Err(claimed_error(dir)),
            ClaimState::Finished => "this folder holds a finished run".to_string(),
            ClaimState::Abandoned(why) => format!("this folder holds an abandoned run ({why})"),
        };
        if std::fs::symlink_metadata(dir.join("checkpoint.bin")).is_err() {
            return Err(usage(&format!(
                "{what}, which stopped before saving anything to continue from; remove the folder, or pass another --out"
            )));
        }
        return Err(usage(&format!("{what}; pass --resume {} to continue it, or another --out", dir.display())));
    }
    Err(usage("this folder already exists and is not empty; pass a new folder"))
}

/// A marker that is not a regular file (a FIFO, a device) is never opened
/// (opening a FIFO would wait for a writer) …
fn check_regular_marker_path(dir: &Path) -> CliResult<()> {
    // Not followed: a marker that is a symlink would have its target rewritten.
    match std::fs::symlink_metadata(dir.join(MARKER)) {
        Ok(meta) if meta.is_file() => Ok(()),
        _ => Err(not_a_marker(dir)),
    }
}

/// … and, once open, checked again: it may have been swapped meanwhile.
fn check_regular_marker(marker: &File, dir: &Path) -> CliResult<()> {
    match marker.metadata() {
        Ok(meta) if meta.is_file() => Ok(()),
        _ => Err(not_a_marker(dir)),
    }
}

fn not_a_marker(dir: &Path) -> CliError {
    ToolFailure::new(ToolFailureKind::Output, format!("{MARKER} is not a regular file"))
        .at(dir)
        .fix("this is not a run folder written by mlp; pass another folder")
        .into()
}

/// The longest file name and path the system takes (Linux `NAME_MAX`,
/// `PATH_MAX`); longer ones fail with ENAMETOOLONG.
const NAME_MAX: usize = 255;
const PATH_MAX: usize = 4095;

/// Refuses an `--out` whose name, or the name of a file in it, is too
/// long for the file system, before anything is created.
fn check_name_lengths(dir: &Path) -> CliResult<()> {
    use std::os::unix::ffi::OsStrExt;
    // The longest name written inside: the temporary of the report.
    let inside = ".report.html.4294967295.tmp".len();
    if let Some(long) = dir.components().map(|c| c.as_os_str().as_bytes().len()).find(|&n| n > NAME_MAX) {
        return Err(CliError::Usage(format!(
            "--out has a folder name of {long} bytes, over the {NAME_MAX} the file system allows; pass a shorter --out"
        )));
    }
    let absolute = std::env::current_dir().map(|cwd| cwd.join(dir)).unwrap_or_else(|_| dir.to_path_buf());
    let length = absolute.as_os_str().as_bytes().len() + 1 + inside;
    if length > PATH_MAX {
        return Err(CliError::Usage(format!(
            "--out makes paths of {length} bytes, over the {PATH_MAX} the system allows; pass a shorter --out"
        )));
    }
    Ok(())
}

/// Creates `dir` and any missing folders above it; returns those it
/// created, the deepest last, so that a refused claim can remove them.
fn create_dirs(dir: &Path) -> CliResult<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(p) = at.filter(|p| !p.as_os_str().is_empty() && std::fs::symlink_metadata(p).is_err()) {
        missing.push(p.to_path_buf());
        at = p.parent();
    }
    missing.reverse();
    let mut created = Vec::new();
    for p in missing {
        match std::fs::create_dir(&p) {
            Ok(()) => created.push(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && p.is_dir() => {}
            Err(e) => {
                remove_created(&created);
                return Err(create_error(&p, &e));
            }
        }
    }
    Ok(created)
}

/// Removes folders this process created (deepest first) and the marker
/// temporary of its own it may have left in them. Never the marker itself:
/// a claim refused because another run linked its marker first must leave
/// that run's claim, and so the folder, alone (a marker of this process's
/// is removed by [`claim_marker`] itself when it fails after linking).
fn remove_created(created: &[PathBuf]) {
    for dir in created.iter().rev() {
        let _ = std::fs::remove_file(dir.join(format!("{MARKER}.{}.tmp", std::process::id())));
        let _ = std::fs::remove_dir(dir);
    }
}

/// Creates `base/name`, or `base/name-2`, `-3`, … whichever is new first.
fn fresh_dir(base: &Path, name: &str) -> CliResult<PathBuf> {
    let mut n = 1;
    loop {
        let dir = if n == 1 { base.join(name) } else { base.join(format!("{name}-{n}")) };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(create_error(&dir, &e)),
        }
    }
}

/// Creates the marker exclusively, whole, and locks it: it is written
/// under a name of this process's own, then hard-linked to `.mlp-run`,
/// which fails if the marker exists. Of two runs exactly one succeeds, and
/// the other always finds the winner's process id and command in it.
fn claim_marker(dir: &Path) -> CliResult<RunFolder> {
    let path = dir.join(MARKER);
    let text = marker_text("running");
    let tmp = dir.join(format!("{MARKER}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text.as_bytes()).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        create_error(dir, &e)
    })?;
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    // From here the marker is this process's: a failure removes it.
    let ours = |e: CliError| {
        let _ = std::fs::remove_file(&path);
        e
    };
    let marker = match linked {
        Ok(()) => OpenOptions::new().read(true).write(true).open(&path).map_err(|e| ours(create_error(dir, &e)))?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(claimed_error(dir)),
        // A file system without hard links: an exclusive create, then the text.
        Err(_) => {
            let mut file = match OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(claimed_error(dir)),
                Err(e) => return Err(create_error(dir, &e)),
            };
            file.write_all(text.as_bytes()).map_err(|e| ours(create_error(dir, &e)))?;
            file
        }
    };
    // Held until the process ends; a file system without locks still has
    // the process id and start time to tell a live claim.
    let _ = marker.try_lock();
    register(dir).map_err(ours)?;
    Ok(RunFolder { dir: dir.to_path_buf(), marker, owned: true, made_marker: false })
}

/// The marker's text (read as the data layer reads inputs: a FIFO
/// planted as the marker must not hang).
fn read_marker(dir: &Path) -> String {
    let marker = mlp_engine::data::file::read_regular_file(&dir.join(MARKER)).unwrap_or_default();
    String::from_utf8_lossy(&marker).into_owned()
}

fn claimed_error(dir: &Path) -> CliError {
    let holder = read_marker(dir);
    let holder = holder.lines().take(2).collect::<Vec<_>>().join(", ");
    ToolFailure::new(
        ToolFailureKind::Output,
        format!("this folder belongs to another run ({holder}), which is still running"),
    )
    .at(dir)
    .fix("wait for it to end or stop it, or pass a new folder to --out")
    .into()
}

fn create_error(dir: &Path, e: &std::io::Error) -> CliError {
    CliError::Run(Error::io(dir, "create the run folder", e).fix("choose a folder you can write to with --out"))
}

/// `YYYYmmdd-HHMMSS` in UTC.
pub fn utc_stamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}-{:02}{:02}{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Writes `bytes` to `path` through a temporary file unique to this process
/// and a rename, so the file is whole or absent. Into a claimed run folder
/// only while that folder is still in place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> CliResult<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("output");
    let _writing = block_writes();
    let target = resolve_in_claimed(path)?;
    let tmp = target.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)?;
        sync_folder_of(&target)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        // A folder moved meanwhile is the cause to name.
        in_claimed_folder(path)?;
        return Err(write_error(path, &e));
    }
    Ok(())
}

/// Syncs the folder holding `path`, which makes a rename into it durable
/// (else a power cut can bring back the older file). A file system that
/// cannot sync a folder (EINVAL, EOPNOTSUPP) or a folder that cannot be
/// opened for reading is let be: the file itself is synced.
fn sync_folder_of(path: &Path) -> std::io::Result<()> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match File::open(folder).and_then(|f| f.sync_all()) {
        Err(e) if matches!(e.raw_os_error(), Some(22 | 95)) || e.kind() == std::io::ErrorKind::PermissionDenied => {
            Ok(())
        }
        other => other,
    }
}

/// The disk condition behind a failed write, in words, with its fix.
fn disk_condition(e: &std::io::Error) -> Option<(&'static str, &'static str)> {
    // Linux errno values; std names only some of them as stable kinds.
    match e.raw_os_error()? {
        28 => Some(("no space left on the device", "free space on that disk (or pass another --out)")),
        27 => Some((
            "the file would pass this process's file size limit (ulimit -f)",
            "raise the limit (ulimit -f unlimited)",
        )),
        122 => Some(("the disk quota is exceeded", "free space within your quota")),
        30 => Some(("the file system is read-only", "write to a writable file system with --out")),
        _ => None,
    }
}

fn write_error(path: &Path, e: &std::io::Error) -> CliError {
    match disk_condition(e) {
        Some((what, fix)) => {
            ToolFailure::new(ToolFailureKind::Output, format!("cannot write the file: {what}")).at(path).fix(fix).into()
        }
        None => Error::io(path, "write the file", e)
            .fix("check that the output folder is writable and the disk is not full")
            .into(),
    }
}

/// A run-folder file as text, through the data layer's reader: a FIFO,
/// device or oversized file in a run folder is refused, never read forever.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = mlp_engine::data::file::read_regular_file(path)?;
    String::from_utf8(bytes).map_err(|_| {
        Error::new(ErrorKind::BadHeader, "not UTF-8 text").at(path).fix("this file was not written by mlp; train again")
    })
}

/// `{"loss": .., "accuracy": ..}` of a measurement, or `null` for a part
/// with no rows (never a made-up 0).
pub fn metrics_json(m: &Metrics) -> Json {
    if m.rows == 0 {
        return Json::Null;
    }
    Json::obj([("loss", Json::num(m.loss)), ("accuracy", Json::num(m.accuracy))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamp_of_known_instants() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101-000000");
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_796_013_296); // 2026-11-30 04:34:56 UTC
        assert_eq!(utc_stamp(t), "20261130-043456");
    }

    #[test]
    fn a_full_disk_is_the_tools_output_failure_and_other_write_errors_the_librarys() {
        let path = Path::new("run/metrics.csv");
        for (errno, condition) in [(28, "no space left"), (27, "file size limit"), (122, "quota"), (30, "read-only")] {
            match write_error(path, &std::io::Error::from_raw_os_error(errno)) {
                CliError::Tool(f) => {
                    assert_eq!(f.kind(), ToolFailureKind::Output);
                    let text = f.to_string();
                    assert!(text.starts_with("run/metrics.csv: cannot write the file: "), "{text}");
                    assert!(text.contains(condition) && text.contains("\n  fix: "), "{errno}: {text}");
                }
                other => panic!("{errno}: {other:?}"),
            }
        }
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        match write_error(path, &denied) {
            CliError::Run(e) => assert_eq!(e.kind(), ErrorKind::Io, "{e}"),
            other => panic!("{other:?}"),
        }
    }
}

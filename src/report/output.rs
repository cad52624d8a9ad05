//! Where reports land, and how they land whole.
//!
//! A command's reports are a *set*: `lbsim run` writes a summary, CSV files,
//! charts and two reports that only make sense together. [`OutputDir::stage`]
//! writes the set into a hidden staging folder beside the output folder and
//! [`OutputDir::land`] swaps it in with one atomic rename (on Linux,
//! `renameat2(RENAME_EXCHANGE)`), so a run killed at any moment leaves the
//! folder holding the old set or the new one, never a mix. Files in the folder
//! that are not this command's (another command's files, a user's notes, a
//! sweep's shard folders) are carried into the new folder by hard links before
//! the swap, so nothing but the set itself changes. A lock file beside the
//! folder serialises the swaps of two runs into one folder.
//!
//! [`OutputDir::create`] is the other mode, for folders that fill up over time
//! (a sweep shard keeps each finished work item; `lbsim graph` adds its two
//! files beside a run's): each file is written to a hidden temporary and
//! renamed into place, under the same folder lock.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::files::{self, Command};
use crate::error::Error;

/// The directory a command's reports go to.
#[derive(Debug)]
pub struct OutputDir {
    /// Where the files are once the command is done (what users are shown).
    pub path: PathBuf,
    /// Where they are written meanwhile: `path` itself, or the staging folder.
    work: PathBuf,
    /// Set mode: the command whose files make up the set, and the staging
    /// folder's lock (held while the staging folder is in use).
    set: Option<(Command, File)>,
    /// Per-file mode: the folder's lock, held for this value's lifetime.
    _folder_lock: Option<File>,
}

/// Suffix of the temporary file each report is written to before its rename.
const TMP_SUFFIX: &str = ".lbsim-tmp";

impl OutputDir {
    /// Per-file mode: creates the directory (and parents), takes its lock and
    /// removes temporary files a previously interrupted run may have left.
    pub fn create(path: &Path) -> Result<OutputDir, Error> {
        fs::create_dir_all(path).map_err(|e| Error::output(path, e))?;
        let lock = lock_folder(path)?;
        if let Ok(entries) = fs::read_dir(path) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && name.ends_with(TMP_SUFFIX) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(OutputDir { path: path.to_path_buf(), work: path.to_path_buf(), set: None, _folder_lock: Some(lock) })
    }

    /// Set mode: `command`'s files are staged beside `path` and replace the
    /// ones in it only at [`OutputDir::land`]. Dropped without landing (an
    /// error, a refused run), the staging folder goes and `path` is untouched.
    pub fn stage(path: &Path, command: Command) -> Result<OutputDir, Error> {
        let (parent, name) = split(path)?;
        fs::create_dir_all(&parent).map_err(|e| Error::output(&parent, e))?;
        refuse_enclosing_folder(path)?;
        // The staging folder and its held lock are made under the folder's
        // lock, so a sweep (also under it) never sees a live run's lock file
        // before it is held.
        let _folder = lock_folder(path)?;
        sweep_stale(&parent, &name);
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let stem = format!(".{name}.lbsim-stage-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let work = parent.join(&stem);
        let lock_path = parent.join(format!("{stem}.lock"));
        let lock = File::create(&lock_path).map_err(|e| Error::output(&work, e))?;
        lock.lock().map_err(|e| Error::output(&work, e))?;
        if let Err(e) = fs::create_dir(&work) {
            let _ = fs::remove_file(&lock_path);
            return Err(Error::output(&work, e));
        }
        Ok(OutputDir { path: path.to_path_buf(), work, set: Some((command, lock)), _folder_lock: None })
    }

    /// Where `name` is written before it is committed.
    pub fn temp_path(&self, name: &str) -> PathBuf {
        self.work.join(format!(".{name}.{}{TMP_SUFFIX}", std::process::id()))
    }

    /// Where `name` will be once the command is done.
    pub fn final_path(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Where a committed `name` is now (in the staging folder until the set
    /// lands), for a command that reads back what it wrote.
    pub fn written_path(&self, name: &str) -> PathBuf {
        self.work.join(name)
    }

    /// Renames a staged file into place; returns its final path.
    pub fn commit(&self, name: &str) -> Result<PathBuf, Error> {
        let tmp = self.temp_path(name);
        fs::rename(&tmp, self.written_path(name)).map_err(|e| Error::output(self.final_path(name), e))?;
        Ok(self.final_path(name))
    }

    /// Removes a staged file (after a failure).
    pub fn discard(&self, name: &str) {
        let _ = fs::remove_file(self.temp_path(name));
    }

    /// Writes `bytes` to `name` atomically; returns its final path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, Error> {
        self.write_with(name, |w| w.write_all(bytes))
    }

    /// Writes `name` atomically with `fill`, which streams into a buffered
    /// writer (a large report need not be held in memory whole).
    pub fn write_with(
        &self,
        name: &str,
        fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<PathBuf, Error> {
        let tmp = self.temp_path(name);
        let result = (|| {
            let mut w = std::io::BufWriter::with_capacity(1 << 16, File::create(&tmp)?);
            fill(&mut w)?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(Error::output(self.final_path(name), e));
        }
        self.commit(name)
    }

    /// Swaps the staged set in (set mode; a no-op in per-file mode). Under the
    /// folder's lock: the old folder's files that are not this command's are
    /// linked into the staging folder, the two folders are exchanged in one
    /// rename, and the old set is removed.
    pub fn land(self) -> Result<(), Error> {
        let Some((command, _)) = &self.set else { return Ok(()) };
        let command = *command;
        let _lock = lock_folder(&self.path)?;
        if self.path.exists() {
            carry_over(&self.path, &self.work, command).map_err(|e| Error::output(&self.path, e))?;
            sync_dir(&self.work);
            exchange(&self.work, &self.path).map_err(|e| Error::output(&self.path, e))?;
        } else {
            sync_dir(&self.work);
            fs::rename(&self.work, &self.path).map_err(|e| Error::output(&self.path, e))?;
        }
        if let Some(parent) = self.path.parent() {
            sync_dir(parent);
        }
        // `work` now holds the old set (or nothing); Drop removes it.
        Ok(())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if let Some((_, lock)) = self.set.take() {
            let _ = fs::remove_dir_all(&self.work);
            let _ = fs::remove_file(lock_path_of(&self.work));
            drop(lock);
        }
    }
}

/// Writes one file on its own (not part of a set, like `--junit FILE`)
/// atomically: a hidden temporary beside it, then a rename.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<PathBuf, Error> {
    let (parent, name) = split(path)?;
    fs::create_dir_all(&parent).map_err(|e| Error::output(&parent, e))?;
    let tmp = parent.join(format!(".{name}.{}{TMP_SUFFIX}", std::process::id()));
    write_temp(&tmp, bytes).map_err(|e| Error::output(path, e))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::output(path, e)
    })?;
    Ok(path.to_path_buf())
}

/// Writes and syncs a temporary file; removes it if that fails.
fn write_temp(tmp: &Path, bytes: &[u8]) -> io::Result<()> {
    let result = File::create(tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if result.is_err() {
        let _ = fs::remove_file(tmp);
    }
    result
}

/// `path`'s parent folder and last name.
fn split(path: &Path) -> Result<(PathBuf, String), Error> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    match name {
        Some(name) if name != ".." => {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            Ok((parent.to_path_buf(), name))
        }
        _ => Err(Error::Usage(format!(
            "cannot write reports to {}: name a folder for them (e.g. --out output/run)",
            path.display()
        ))),
    }
}

/// A report set replaces its folder, so the folder cannot hold the current
/// directory: `--out .` or `--out ..` would swap the ground under the shell.
fn refuse_enclosing_folder(path: &Path) -> Result<(), Error> {
    let (Ok(target), Ok(cwd)) = (fs::canonicalize(path), std::env::current_dir()) else { return Ok(()) };
    if cwd.starts_with(&target) {
        return Err(Error::Usage(format!(
            "cannot write reports to {}: it holds the current directory, and a report set replaces its \
             folder whole; name a folder of its own (e.g. --out output/run)",
            path.display()
        )));
    }
    Ok(())
}

/// The lock file that serialises writers of `path`: `.NAME.lbsim-lock` beside it.
fn lock_folder(path: &Path) -> Result<File, Error> {
    let (parent, name) = split(path)?;
    let lock_path = parent.join(format!(".{name}.lbsim-lock"));
    let file = File::create(&lock_path).map_err(|e| Error::output(&lock_path, e))?;
    file.lock().map_err(|e| Error::output(&lock_path, e))?;
    Ok(file)
}

fn lock_path_of(work: &Path) -> PathBuf {
    let mut s = work.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// Removes staging folders of `name` that no live process holds (left by a
/// run that was killed), and the lock files a kill left without their
/// folder (while a run was making or removing it); on systems without an
/// atomic exchange, puts back an old set a killed swap left aside. Called
/// under the folder's lock, which runs also hold while they make a staging
/// folder, so a lock file seen here is either held or abandoned.
fn sweep_stale(parent: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    let stage_prefix = format!(".{name}.lbsim-stage-");
    let old_prefix = format!(".{name}.lbsim-old-");
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if let Some(stem) = file_name.strip_prefix(&stage_prefix).and_then(|rest| rest.strip_suffix(".lock")) {
            // An orphan lock file: its folder is gone (or was never made).
            let folder = parent.join(format!("{stage_prefix}{stem}"));
            if !folder.exists() && File::open(&path).is_ok_and(|lock| lock.try_lock().is_ok()) {
                let _ = fs::remove_file(&path);
            }
        } else if file_name.starts_with(&stage_prefix) {
            let lock_path = lock_path_of(&path);
            let Ok(lock) = File::create(&lock_path) else { continue };
            if lock.try_lock().is_ok() {
                let _ = fs::remove_dir_all(&path);
                let _ = fs::remove_file(&lock_path);
            }
        } else if file_name.starts_with(&old_prefix) {
            let target = parent.join(name);
            if target.exists() {
                let _ = fs::remove_dir_all(&path);
            } else {
                let _ = fs::rename(&path, &target);
            }
        }
    }
}

/// Links every entry of `old` that is not `command`'s (and not already in
/// `new`) into `new`: files by hard link (a copy where links fail), folders
/// entry by entry.
fn carry_over(old: &Path, new: &Path, command: Command) -> io::Result<()> {
    for entry in fs::read_dir(old)? {
        let entry = entry?;
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if text.ends_with(TMP_SUFFIX) || files::owned_by(command, &text) || new.join(&name).exists() {
            continue;
        }
        link_tree(&entry.path(), &new.join(&name))?;
    }
    Ok(())
}

fn link_tree(from: &Path, to: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(from)?;
    if meta.is_dir() {
        fs::create_dir(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            link_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else if meta.file_type().is_symlink() {
        symlink(&fs::read_link(from)?, to)
    } else {
        fs::hard_link(from, to).or_else(|_| fs::copy(from, to).map(|_| ()))
    }
}

#[cfg(unix)]
fn symlink(target: &Path, at: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

#[cfg(not(unix))]
fn symlink(target: &Path, at: &Path) -> io::Result<()> {
    fs::copy(target, at).map(|_| ())
}

/// Exchanges the folders `a` and `b` in one atomic rename where the system
/// has one; elsewhere `b` is put aside, `a` renamed in, and the aside folder
/// (which [`sweep_stale`] puts back if a kill comes between) moved to `a`.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut aside = a.as_os_str().to_owned();
    aside.push(".old");
    let aside = PathBuf::from(aside.to_string_lossy().replace(".lbsim-stage-", ".lbsim-old-"));
    fs::rename(b, &aside)?;
    fs::rename(a, b)?;
    fs::rename(&aside, a)
}

/// Makes a rename or the files of a folder durable (best effort).
fn sync_dir(path: &Path) {
    if let Ok(d) = File::open(path) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lbsim-out-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn writes_land_whole_and_leave_no_temporaries() {
        let dir = scratch("file").join("out");
        let out = OutputDir::create(&dir).unwrap();
        fs::write(out.temp_path("stale.csv"), "half").unwrap();
        drop(out);
        let out = OutputDir::create(&dir).unwrap();
        out.write("a.json", b"{}").unwrap();
        assert_eq!(names(&dir), ["a.json"]);
        assert_eq!(fs::read_to_string(dir.join("a.json")).unwrap(), "{}");
    }

    #[test]
    fn a_set_replaces_its_own_files_and_keeps_the_others() {
        let root = scratch("set");
        let dir = root.join("out");
        fs::create_dir_all(dir.join("shard-1-of-2")).unwrap();
        fs::write(dir.join("shard-1-of-2").join("plan.json"), "p").unwrap();
        fs::write(dir.join("summary.json"), "old").unwrap();
        fs::write(dir.join("latency.svg"), "old chart").unwrap();
        fs::write(dir.join("topology.dot"), "graph's").unwrap();
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        let out = OutputDir::stage(&dir, Command::Run).unwrap();
        let shown = out.write("summary.json", b"new").unwrap();
        assert_eq!(shown, dir.join("summary.json"));
        assert_eq!(fs::read_to_string(dir.join("summary.json")).unwrap(), "old", "nothing lands before land()");
        out.land().unwrap();
        // The run's stale chart went with the old set; the rest came across.
        assert_eq!(names(&dir), ["notes.txt", "shard-1-of-2", "summary.json", "topology.dot"]);
        assert_eq!(fs::read_to_string(dir.join("summary.json")).unwrap(), "new");
        assert_eq!(fs::read_to_string(dir.join("shard-1-of-2").join("plan.json")).unwrap(), "p");
        // Beside the folder: only its lock file.
        assert_eq!(names(&root), [".out.lbsim-lock", "out"]);
    }

    #[test]
    fn a_set_dropped_before_landing_leaves_the_folder_untouched() {
        let root = scratch("drop");
        let dir = root.join("out");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("summary.json"), "old").unwrap();
        let out = OutputDir::stage(&dir, Command::Run).unwrap();
        out.write("summary.json", b"new").unwrap();
        drop(out);
        assert_eq!(names(&dir), ["summary.json"]);
        assert_eq!(fs::read_to_string(dir.join("summary.json")).unwrap(), "old");
        assert_eq!(names(&root), [".out.lbsim-lock", "out"]);
    }

    #[test]
    fn a_new_folder_is_created_by_the_landing() {
        let root = scratch("new");
        let dir = root.join("a").join("b");
        let out = OutputDir::stage(&dir, Command::Sweep).unwrap();
        out.write("sweep.csv", b"x").unwrap();
        assert!(!dir.exists());
        out.land().unwrap();
        assert_eq!(names(&dir), ["sweep.csv"]);
    }

    #[test]
    fn stale_staging_folders_of_killed_runs_are_removed() {
        let root = scratch("stale");
        let dir = root.join("out");
        // A killed run's staging folder: its lock file exists, nobody holds it.
        fs::create_dir_all(root.join(".out.lbsim-stage-1-0")).unwrap();
        fs::write(root.join(".out.lbsim-stage-1-0.lock"), "").unwrap();
        // Lock files a kill left without their folder: one killed before it
        // made the folder, one killed while removing it.
        fs::write(root.join(".out.lbsim-stage-1-1.lock"), "").unwrap();
        fs::write(root.join(".out.lbsim-stage-1-2.lock"), "").unwrap();
        // A live one, held by this process.
        let live = OutputDir::stage(&dir, Command::Run).unwrap();
        let out = OutputDir::stage(&dir, Command::Run).unwrap();
        let left: Vec<String> = names(&root).into_iter().filter(|n| n.contains("stage-1-")).collect();
        assert!(left.is_empty(), "{left:?}");
        assert!(live.work.exists(), "a live staging folder is kept");
        assert!(lock_path_of(&live.work).exists(), "and so is its lock file");
        drop(out);
        drop(live);
    }

    #[test]
    fn the_current_directory_is_refused() {
        let cwd = std::env::current_dir().unwrap();
        let err = OutputDir::stage(&cwd, Command::Run).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("holds the current directory"), "{err}");
    }
}

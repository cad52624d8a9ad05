//! Atomic output files: each report is written to a hidden temporary file in
//! the output directory and renamed into place once complete, so an
//! interrupted run never leaves a half-written report behind.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The directory a run's reports go to.
#[derive(Clone, Debug)]
pub struct OutputDir {
    pub path: PathBuf,
}

impl OutputDir {
    /// Creates the directory (and parents) and removes temporary files a
    /// previously interrupted run may have left.
    pub fn create(path: &Path) -> Result<OutputDir, Error> {
        fs::create_dir_all(path).map_err(|e| Error::output(path, e))?;
        if let Ok(entries) = fs::read_dir(path) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && name.ends_with(".lbsim-tmp") {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(OutputDir { path: path.to_path_buf() })
    }

    /// Where `name` is staged before it is committed.
    pub fn temp_path(&self, name: &str) -> PathBuf {
        self.path.join(format!(".{name}.{}.lbsim-tmp", std::process::id()))
    }

    pub fn final_path(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Renames a staged file into place.
    pub fn commit(&self, name: &str) -> Result<PathBuf, Error> {
        let tmp = self.temp_path(name);
        let dst = self.final_path(name);
        fs::rename(&tmp, &dst).map_err(|e| Error::output(&dst, e))?;
        Ok(dst)
    }

    /// Removes a staged file (after a failure).
    pub fn discard(&self, name: &str) {
        let _ = fs::remove_file(self.temp_path(name));
    }

    /// Writes `bytes` to `name` atomically.
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
            let mut w = std::io::BufWriter::with_capacity(1 << 16, fs::File::create(&tmp)?);
            fill(&mut w)?;
            w.into_inner().map_err(|e| e.into_error())?.sync_all()
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(Error::output(self.final_path(name), e));
        }
        self.commit(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_land_whole_and_leave_no_temporaries() {
        let dir = std::env::temp_dir().join(format!("lbsim-out-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let out = OutputDir::create(&dir).unwrap();
        fs::write(out.temp_path("stale.csv"), "half").unwrap();
        let out = OutputDir::create(&dir).unwrap();
        out.write("a.json", b"{}").unwrap();
        let names: Vec<String> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["a.json"]);
        assert_eq!(fs::read_to_string(dir.join("a.json")).unwrap(), "{}");
        fs::remove_dir_all(&dir).ok();
    }
}

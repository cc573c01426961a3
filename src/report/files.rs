//! Writing files whole: a temporary file in the same folder, then a rename,
//! so a crash never leaves a half-written result.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The temporary name used while `path` is being written: hidden, tagged
/// with the process id, and with the same extension (encoders pick the
/// format from it).
pub fn temp_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!(".{stem}.tmp-{}{ext}", std::process::id()))
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| -> Result<()> {
        let mut f = fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all().ok();
        fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Publishes a file already written at its temporary name.
pub fn publish(tmp: &Path, path: &Path) -> Result<()> {
    fs::rename(tmp, path).with_context(|| format!("renaming into {}", path.display()))
}

/// Files that mark a folder as a capsim result (of any command).
const RESULT_MARKERS: [&str; 6] = [
    "summary.json",
    "sweep.json",
    "compare.json",
    "headroom.json",
    "shard.json",
    ".units",
];

/// A command's output folder, written whole: everything goes into a
/// staging folder beside it (same parent, so the final move is a rename),
/// which takes its place only once complete. Until then the folder holds
/// the previous result untouched; an interrupted command leaves no
/// half-written file in it, only the hidden staging folder (removed when
/// the command fails cleanly).
#[derive(Debug)]
pub struct OutputFolder {
    dest: PathBuf,
    staging: PathBuf,
    published: bool,
}

impl OutputFolder {
    /// Prepares to write `dest`. A folder already there that holds anything
    /// is replaced only when `replace` is true (`--force`), and only if it
    /// is a capsim result: capsim never deletes a folder it did not write.
    pub fn create(dest: &Path, replace: bool) -> Result<OutputFolder> {
        if dest.exists() {
            if !dest.is_dir() {
                anyhow::bail!("{} exists and is not a folder", dest.display());
            }
            let empty = fs::read_dir(dest)
                .with_context(|| format!("reading {}", dest.display()))?
                .next()
                .is_none();
            if !empty {
                if !RESULT_MARKERS.iter().any(|m| dest.join(m).exists()) {
                    anyhow::bail!(
                        "{} is not empty and holds no capsim result; refusing to replace it (choose another --out)",
                        dest.display()
                    );
                }
                if !replace {
                    anyhow::bail!(
                        "{} already holds a result; pass --force to replace it, or --out to write elsewhere",
                        dest.display()
                    );
                }
            }
        }
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        let staging = parent.join(format!(".{name}.staging-{}", std::process::id()));
        if staging.exists() {
            fs::remove_dir_all(&staging).with_context(|| format!("clearing {}", staging.display()))?;
        }
        fs::create_dir(&staging).with_context(|| format!("creating {}", staging.display()))?;
        Ok(OutputFolder {
            dest: dest.to_path_buf(),
            staging,
            published: false,
        })
    }

    /// Where the command writes until it publishes.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Puts the finished folder in place of the destination, carrying over
    /// the entries of the old one named in `keep` (a sweep's checkpoint).
    pub fn publish(mut self, keep: &[&str]) -> Result<()> {
        let old = self.dest.with_file_name(format!(
            ".{}.old-{}",
            self.dest
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        if self.dest.exists() {
            for entry in keep {
                let from = self.dest.join(entry);
                if from.exists() {
                    fs::rename(&from, self.staging.join(entry))
                        .with_context(|| format!("moving {}", from.display()))?;
                }
            }
            fs::rename(&self.dest, &old).with_context(|| format!("moving {} aside", self.dest.display()))?;
        }
        if let Err(e) = fs::rename(&self.staging, &self.dest) {
            // Put the previous result back, with what was carried over, rather than leave nothing.
            for entry in keep {
                let _ = fs::rename(self.staging.join(entry), old.join(entry));
            }
            let _ = fs::rename(&old, &self.dest);
            return Err(e).with_context(|| format!("moving the new result into {}", self.dest.display()));
        }
        self.published = true;
        if old.exists() {
            fs::remove_dir_all(&old).with_context(|| format!("removing the previous {}", old.display()))?;
        }
        Ok(())
    }
}

impl Drop for OutputFolder {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

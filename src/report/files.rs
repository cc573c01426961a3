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

/// The file that marks a folder as written by capsim. Every output folder
/// gets it first; capsim replaces or deletes only folders that hold it.
pub const MARKER: &str = ".capsim";
const MARKER_TEXT: &str = "This folder was written by capsim; `--force` lets capsim replace it whole.\n";

/// Whether `dir` is a folder capsim wrote: it holds capsim's marker (checked
/// without following a link, so a link named like the marker does not count).
pub fn is_capsim_output(dir: &Path) -> bool {
    let marker = dir.join(MARKER);
    fs::symlink_metadata(&marker).is_ok_and(|m| m.is_file())
        && fs::read(&marker).is_ok_and(|text| text == MARKER_TEXT.as_bytes())
}

fn write_marker(dir: &Path) -> Result<()> {
    fs::write(dir.join(MARKER), MARKER_TEXT).with_context(|| format!("writing {}", dir.join(MARKER).display()))
}

/// What `dir` holds: nothing at all, an empty folder, or something else.
enum Found {
    Nothing,
    EmptyFolder,
    CapsimOutput,
    Foreign(&'static str),
}

fn inspect(dir: &Path) -> Result<Found> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Nothing),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    if meta.file_type().is_symlink() {
        return Ok(Found::Foreign("is a symbolic link"));
    }
    if !meta.is_dir() {
        return Ok(Found::Foreign("exists and is not a folder"));
    }
    let empty = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .next()
        .is_none();
    Ok(if empty {
        Found::EmptyFolder
    } else if is_capsim_output(dir) {
        Found::CapsimOutput
    } else {
        Found::Foreign("is not empty and holds no capsim result")
    })
}

/// Test hook: `CAPSIM_FAULT_PUBLISH` makes publishing stop where a kill
/// could (`after-swap`: the new result in place, the old one not yet
/// removed), or take the path of a file system without an atomic exchange
/// (`no-exchange`, and `no-exchange-kill` to stop between its two renames).
fn publish_fault() -> String {
    std::env::var("CAPSIM_FAULT_PUBLISH").unwrap_or_default()
}

/// Swaps two paths in one step where the system can (Linux's
/// `renameat2(RENAME_EXCHANGE)`); `Ok(false)` where it cannot.
fn exchange(a: &Path, b: &Path) -> Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        if publish_fault().starts_with("no-exchange") {
            return Ok(false);
        }
        let a_c = CString::new(a.as_os_str().as_bytes()).context("a path with a NUL byte")?;
        let b_c = CString::new(b.as_os_str().as_bytes()).context("a path with a NUL byte")?;
        // SAFETY: both paths are valid NUL-terminated strings for the call's duration.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                a_c.as_ptr(),
                libc::AT_FDCWD,
                b_c.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if rc == 0 {
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) => Ok(false),
            _ => Err(err).with_context(|| format!("swapping {} and {}", a.display(), b.display())),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Ok(false)
    }
}

/// Whether process `pid` may still be running (so its staging folder is
/// not stale). Only Linux can tell; elsewhere every process may be.
fn may_be_running(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// A command's output folder, written whole: everything goes into a
/// staging folder beside it (same parent, so the final move is a rename),
/// which takes its place only once complete. Until then the folder holds
/// the previous result untouched; an interrupted command leaves no
/// half-written file in it, only the hidden staging folder (removed when
/// the command fails cleanly, or by the next command once its process is
/// gone).
#[derive(Debug)]
pub struct OutputFolder {
    dest: PathBuf,
    staging: PathBuf,
    published: bool,
    /// What the destination may hold when it is replaced: the entries it
    /// held when it was judged replaceable, and those capsim wrote into it
    /// since. Anything else means it changed under capsim: not replaced.
    known: std::collections::BTreeSet<std::ffi::OsString>,
}

/// The folder a user-given output path names, resolved (links and `..`
/// followed, as the system will follow them) without creating anything, so
/// every later decision is about the folder that will really be written.
/// Parts that do not exist yet cannot be links, so `..` after them is
/// resolved by name.
pub fn resolve(dest: &Path) -> Result<PathBuf> {
    use std::path::Component;
    let mut components = dest.components();
    let name = match components.next_back() {
        Some(Component::Normal(name)) => name.to_os_string(),
        _ => anyhow::bail!(
            "{}: an output path must end in a folder name (not `/`, `.` or `..`)",
            dest.display()
        ),
    };
    let mut at = std::env::current_dir().context("reading the current folder")?;
    for part in components {
        match part {
            Component::Prefix(_) | Component::RootDir => at.push(part.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                at.pop();
            }
            Component::Normal(p) => {
                at.push(p);
                if fs::symlink_metadata(&at).is_ok() {
                    at = fs::canonicalize(&at).with_context(|| format!("resolving {}", at.display()))?;
                }
            }
        }
    }
    if fs::symlink_metadata(&at).is_ok() {
        at = fs::canonicalize(&at).with_context(|| format!("resolving {}", at.display()))?;
    }
    Ok(at.join(name))
}

impl OutputFolder {
    /// Prepares to write `dest`. A folder already there that holds anything
    /// is replaced only when `replace` is true (`--force`), and only if it
    /// is a capsim result (it holds capsim's marker): capsim never deletes
    /// a folder it did not write. The decision is made on the resolved
    /// path, after the parent folders exist.
    pub fn create(dest: &Path, replace: bool) -> Result<OutputFolder> {
        let given = dest;
        let dest = resolve(given)?;
        let shown = if dest == given {
            given.display().to_string()
        } else {
            format!("{} (that is {})", given.display(), dest.display())
        };
        let parent = dest.parent().expect("a resolved path has a parent").to_path_buf();
        let name = dest
            .file_name()
            .expect("a resolved path ends in a name")
            .to_string_lossy()
            .into_owned();
        clean_stale(&parent, &name, &dest)?;
        match inspect(&dest)? {
            Found::Nothing | Found::EmptyFolder => {}
            Found::CapsimOutput if replace => {}
            Found::CapsimOutput => {
                anyhow::bail!("{shown} already holds a result; pass --force to replace it, or --out to write elsewhere")
            }
            Found::Foreign(why) => anyhow::bail!(
                "{shown} {why}; refusing to replace it (capsim replaces only folders it wrote: choose another --out)"
            ),
        }
        fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
        let staging = parent.join(format!(".{name}.staging-{}", std::process::id()));
        if fs::symlink_metadata(&staging).is_ok() {
            fs::remove_dir_all(&staging).with_context(|| format!("clearing {}", staging.display()))?;
        }
        fs::create_dir(&staging).with_context(|| format!("creating {}", staging.display()))?;
        let mut known = entries(&dest)?;
        known.insert(MARKER.into());
        let folder = OutputFolder {
            dest,
            staging,
            published: false,
            known,
        };
        write_marker(&folder.staging)?;
        Ok(folder)
    }

    /// Where the command writes until it publishes.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// A folder inside the destination itself, written while the command
    /// runs (a sweep's checkpoint): the destination is created, marked as
    /// capsim's, if it is not there yet.
    pub fn live_subfolder(&mut self, name: &str) -> Result<PathBuf> {
        match inspect(&self.dest)? {
            Found::Nothing => {
                fs::create_dir(&self.dest).with_context(|| format!("creating {}", self.dest.display()))?;
                write_marker(&self.dest)?;
            }
            Found::EmptyFolder => write_marker(&self.dest)?,
            Found::CapsimOutput => {}
            Found::Foreign(why) => anyhow::bail!("{} {why}; refusing to write into it", self.dest.display()),
        }
        let sub = self.dest.join(name);
        match fs::symlink_metadata(&sub) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => anyhow::bail!(
                "{} is not a folder (a link or a file); refusing to write into it",
                sub.display()
            ),
            Err(_) => fs::create_dir(&sub).with_context(|| format!("creating {}", sub.display()))?,
        }
        self.known.insert(name.into());
        Ok(sub)
    }

    /// Puts the finished folder in place of the destination in one step,
    /// carrying over the entries of the old one named in `keep` (a sweep's
    /// checkpoint). Where the file system cannot swap two folders at once,
    /// the old one is moved aside first; if the process dies between the
    /// two moves, the next command puts it back.
    pub fn publish(mut self, keep: &[&str]) -> Result<()> {
        let fault = publish_fault();
        match inspect(&self.dest)? {
            Found::Nothing => {
                fs::rename(&self.staging, &self.dest)
                    .with_context(|| format!("moving the new result into {}", self.dest.display()))?;
                self.published = true;
                return Ok(());
            }
            Found::EmptyFolder | Found::CapsimOutput => {}
            Found::Foreign(why) => anyhow::bail!(
                "{} {why} (it changed while capsim ran); refusing to replace it",
                self.dest.display()
            ),
        }
        self.check_unchanged(&self.dest)?;
        for entry in keep {
            let from = self.dest.join(entry);
            if fs::symlink_metadata(&from).is_ok() {
                fs::rename(&from, self.staging.join(entry)).with_context(|| format!("moving {}", from.display()))?;
            }
        }
        if exchange(&self.staging, &self.dest)? {
            self.published = true;
            // The staging name now holds the previous result: check it is
            // what was inspected (capsim's, or empty) before removing it.
            if matches!(inspect(&self.staging)?, Found::Foreign(_)) || self.check_unchanged(&self.staging).is_err() {
                exchange(&self.staging, &self.dest)?;
                self.published = false;
                // What was carried over goes back with it.
                for entry in keep {
                    let _ = fs::rename(self.staging.join(entry), self.dest.join(entry));
                }
                anyhow::bail!(
                    "{} changed while capsim ran; refusing to replace it",
                    self.dest.display()
                );
            }
            if fault == "after-swap" {
                std::process::abort();
            }
            fs::remove_dir_all(&self.staging)
                .with_context(|| format!("removing the previous result, now {}", self.staging.display()))?;
            return Ok(());
        }
        let old = self.aside();
        fs::rename(&self.dest, &old).with_context(|| format!("moving {} aside", self.dest.display()))?;
        if fault == "no-exchange-kill" {
            std::process::abort();
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
        fs::remove_dir_all(&old).with_context(|| format!("removing the previous {}", old.display()))?;
        Ok(())
    }

    /// Refuses when `dir` (the destination, or where it was moved) holds an
    /// entry that was neither there when capsim judged it nor written by
    /// capsim since: someone else is writing there.
    fn check_unchanged(&self, dir: &Path) -> Result<()> {
        let found = entries(dir)?;
        if let Some(new) = found.iter().find(|e| !self.known.contains(*e)) {
            anyhow::bail!(
                "{} changed while capsim ran (`{}` appeared in it); refusing to replace it",
                self.dest.display(),
                new.to_string_lossy()
            );
        }
        Ok(())
    }

    /// Where the previous result waits while the new one moves in, on file
    /// systems without an atomic exchange.
    fn aside(&self) -> PathBuf {
        aside_path(&self.dest, std::process::id())
    }
}

impl Drop for OutputFolder {
    /// A command that fails (or refuses) before publishing leaves nothing.
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

fn aside_path(dest: &Path, pid: u32) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.old-{pid}"))
}

/// The names in folder `dir` (none when it does not exist).
fn entries(dir: &Path) -> Result<std::collections::BTreeSet<std::ffi::OsString>> {
    match fs::read_dir(dir) {
        Ok(list) => Ok(list.filter_map(|e| e.ok().map(|e| e.file_name())).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound || e.kind() == std::io::ErrorKind::NotADirectory => {
            Ok(Default::default())
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", dir.display())),
    }
}

/// Cleans up after commands that died while writing `dest`: a previous
/// result left aside between two moves is put back when `dest` is missing,
/// and staging or set-aside folders of processes that are gone are removed —
/// only when they are capsim's (marked, or empty).
fn clean_stale(parent: &Path, name: &str, dest: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    let me = std::process::id();
    let staging_prefix = format!(".{name}.staging-");
    let aside_prefix = format!(".{name}.old-");
    let mut stale: Vec<(PathBuf, bool)> = Vec::new();
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let (pid, aside) = if let Some(pid) = file.strip_prefix(&staging_prefix) {
            (pid, false)
        } else if let Some(pid) = file.strip_prefix(&aside_prefix) {
            (pid, true)
        } else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if pid != me && !may_be_running(pid) {
            stale.push((entry.path(), aside));
        }
    }
    stale.sort();
    for (path, aside) in stale {
        match inspect(&path)? {
            Found::CapsimOutput | Found::EmptyFolder => {}
            Found::Nothing | Found::Foreign(_) => continue,
        }
        if aside && matches!(inspect(dest)?, Found::Nothing) {
            fs::rename(&path, dest).with_context(|| {
                format!(
                    "restoring the previous result {} into {}",
                    path.display(),
                    dest.display()
                )
            })?;
        } else {
            fs::remove_dir_all(&path).with_context(|| format!("removing the stale {}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_that_changes_while_capsim_writes_is_not_replaced() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("sweep");
        // A sweep writes its checkpoint into the destination as it runs.
        let mut folder = OutputFolder::create(&dest, false).unwrap();
        folder.live_subfolder(".units").unwrap();
        fs::write(folder.path().join("sweep.csv"), "new").unwrap();
        // Meanwhile someone else puts a file there.
        fs::write(dest.join("notes.txt"), "mine").unwrap();
        let err = folder.publish(&[".units"]).unwrap_err().to_string();
        assert!(err.contains("changed while capsim ran (`notes.txt` appeared"), "{err}");
        assert_eq!(fs::read_to_string(dest.join("notes.txt")).unwrap(), "mine");
        // Nothing of capsim's is left beside it.
        let hidden: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with('.'))
            .collect();
        assert!(hidden.is_empty(), "{hidden:?}");
    }

    #[test]
    fn a_checkpoint_folder_that_is_a_link_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("sweep");
        let theirs = root.path().join("theirs");
        fs::create_dir_all(&theirs).unwrap();
        fs::create_dir_all(&dest).unwrap();
        write_marker(&dest).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&theirs, dest.join(".units")).unwrap();
        let mut folder = OutputFolder::create(&dest, true).unwrap();
        let err = folder.live_subfolder(".units").unwrap_err().to_string();
        assert!(err.contains("is not a folder (a link or a file)"), "{err}");
        assert_eq!(fs::read_dir(&theirs).unwrap().count(), 0);
    }
}

//! Reading the files capsim takes as input, each kind within a size limit.
//!
//! Every input file (scenarios, sweep files and their base scenarios,
//! replay CSVs, HPA manifests) is read here: at most one byte past its
//! kind's limit is read, so an endless file (`/dev/zero`) stops at once,
//! and text that is not UTF-8 is refused with the place of its first bad
//! byte. The limits are documented in README.md ("Limits").

use std::fmt;
use std::io::Read;
use std::path::Path;

const MIB: u64 = 1 << 20;

/// What a file is read as; each kind has its own limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// A scenario (also a sweep's base scenario). Its structure is bounded
    /// by the parser's node budget (250,000 nodes); 64 MiB leaves room for
    /// long comments and descriptions around the largest such document.
    Scenario,
    /// A sweep file: parsed like a scenario, so bounded like one.
    Sweep,
    /// An HPA manifest. The Kubernetes API server stores no object larger
    /// than etcd's default request limit of 1.5 MiB, so no real HPA is
    /// larger.
    Manifest,
    /// A replay CSV of `time,rate` rows. 256 MiB holds a per-second
    /// recording of more than three months (about 20 bytes a row); its
    /// points take about as much memory as the file. Longer recordings can
    /// be resampled: the curve holds or interpolates between points.
    Replay,
}

impl InputKind {
    /// The most bytes a file of this kind may hold.
    pub const fn limit(self) -> u64 {
        match self {
            InputKind::Scenario | InputKind::Sweep => 64 * MIB,
            InputKind::Manifest => 3 * MIB / 2,
            InputKind::Replay => 256 * MIB,
        }
    }

    fn name(self) -> &'static str {
        match self {
            InputKind::Scenario => "scenario",
            InputKind::Sweep => "sweep",
            InputKind::Manifest => "HPA manifest",
            InputKind::Replay => "replay",
        }
    }
}

/// Why an input file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// It could not be opened or read (missing, a folder, not allowed).
    Io(std::io::Error),
    /// It holds more than its kind's limit.
    TooLarge { kind: InputKind },
    /// Its text is not UTF-8: the first bad byte and where it is
    /// (1-based line and column, the column counted in characters).
    NotUtf8 {
        byte: u8,
        offset: usize,
        line: u64,
        column: u64,
    },
}

impl ReadError {
    /// Whether the file itself is unacceptable (too large, not text), as
    /// opposed to unreadable.
    pub fn is_invalid_input(&self) -> bool {
        !matches!(self, ReadError::Io(_))
    }

    /// Line and column of the problem in the file, when it has one.
    pub fn position(&self) -> Option<(u64, u64)> {
        match self {
            ReadError::NotUtf8 { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }

    /// The message for a problem that shows [`ReadError::position`] itself
    /// (as `file:line:column`).
    pub fn unplaced(&self) -> String {
        match self {
            ReadError::NotUtf8 { byte, offset, .. } => {
                format!(
                    "not UTF-8 text: byte 0x{byte:02x} (offset {offset}) is not valid UTF-8; save the file as UTF-8"
                )
            }
            other => other.to_string(),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::TooLarge { kind } => write!(
                f,
                "larger than {}, the limit for {} files",
                size_words(kind.limit()),
                kind.name()
            ),
            ReadError::NotUtf8 {
                byte,
                offset,
                line,
                column,
            } => write!(
                f,
                "not UTF-8 text: byte 0x{byte:02x} at line {line}, column {column} (offset {offset}) is not valid UTF-8; save the file as UTF-8"
            ),
        }
    }
}

impl std::error::Error for ReadError {}

/// `64 MiB`, `1.5 MiB`.
fn size_words(bytes: u64) -> String {
    let mib = bytes as f64 / MIB as f64;
    format!("{mib} MiB")
}

/// Reads `path` as text of `kind`, within its limit.
pub fn read_input(path: &Path, kind: InputKind) -> Result<String, ReadError> {
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let limit = kind.limit();
    // A regular file says its size: one too large is refused unread.
    if let Ok(meta) = file.metadata()
        && meta.is_file()
        && meta.len() > limit
    {
        return Err(ReadError::TooLarge { kind });
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { kind });
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line_start = bytes[..offset].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = 1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64;
        let column = 1 + std::str::from_utf8(&bytes[line_start..offset]).map_or(0, |s| s.chars().count()) as u64;
        ReadError::NotUtf8 {
            byte: bytes[offset],
            offset,
            line,
            column,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], kind: InputKind) -> Result<String, ReadError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).unwrap();
        read_input(&path, kind)
    }

    #[test]
    fn the_first_bad_byte_is_located() {
        let e = read("name: t\nwhé\u{1}\u{ff}x".as_bytes(), InputKind::Scenario).unwrap();
        assert!(e.ends_with("ÿx"));
        let mut bytes = b"name: t\nd\xc3\xa9j\xe0 ".to_vec();
        bytes.extend_from_slice(b"vu\n");
        match read(&bytes, InputKind::Scenario) {
            Err(ReadError::NotUtf8 {
                byte,
                offset,
                line,
                column,
            }) => {
                assert_eq!((byte, offset, line, column), (0xe0, 12, 2, 4));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_file_over_its_limit_is_refused() {
        let big = vec![b'#'; (InputKind::Manifest.limit() + 1) as usize];
        let e = read(&big, InputKind::Manifest).unwrap_err();
        assert_eq!(e.to_string(), "larger than 1.5 MiB, the limit for HPA manifest files");
        assert!(e.is_invalid_input());
        let at_limit = vec![b'#'; InputKind::Manifest.limit() as usize];
        assert!(read(&at_limit, InputKind::Manifest).is_ok());
    }

    #[test]
    fn an_endless_file_stops_at_its_limit() {
        let e = read_input(Path::new("/dev/zero"), InputKind::Manifest).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { .. }), "{e:?}");
    }
}

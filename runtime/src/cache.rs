//! The cache of compiled artifacts: native code the host maps and runs, so
//! it is trusted only after it proves it is what this host wrote.
//!
//! A corrupted artifact would crash the host, and whoever can write the
//! cache directory could otherwise make the host execute native code of
//! their choosing. So:
//! - the directory is created `0700`, and it is not used at all when it is
//!   not owned by the current user or is writable by group or others;
//! - an entry is read only when it is a regular file (no symlink) owned by
//!   the current user and not writable by group or others;
//! - every entry carries a keyed BLAKE3 digest of its name and contents,
//!   under a random 32-byte key kept in the directory (`key`, `0600`);
//!   an entry whose digest does not match (bytes flipped, truncated, written
//!   by someone without the key) is ignored and rebuilt;
//! - the digest is checked on the bytes in memory, and those same bytes are
//!   what the runtime deserializes, so the file cannot change in between.
//!
//! Any doubt means a recompile, never an error: the cache only saves time.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The first bytes of every entry: format and version.
const MAGIC: &[u8; 8] = b"CHCACHE1";
const DIGEST_LEN: usize = 32;
const KEY_FILE: &str = "key";

/// An opened, trusted cache directory.
#[derive(Clone)]
pub(crate) struct ArtifactCache {
    dir: PathBuf,
    key: [u8; 32],
}

impl ArtifactCache {
    /// Opens the cache in `dir`, creating it `0700`; `None` (with a
    /// warning) when the directory cannot be trusted or used.
    pub fn open(dir: &Path) -> Option<ArtifactCache> {
        if let Err(e) = create_private_dir(dir) {
            tracing::warn!(error = %e, dir = %dir.display(), "artifact cache unavailable");
            return None;
        }
        if let Err(why) = trusted_dir(dir) {
            tracing::warn!(dir = %dir.display(), %why, "not using an untrusted artifact cache");
            return None;
        }
        match load_or_create_key(dir) {
            Ok(key) => Some(ArtifactCache {
                dir: dir.to_owned(),
                key,
            }),
            Err(why) => {
                tracing::warn!(dir = %dir.display(), %why, "artifact cache key unavailable");
                None
            }
        }
    }

    /// The verified contents of entry `name`; `None` when it is missing or
    /// fails any check (and is then rebuilt by the caller).
    pub fn load(&self, name: &str) -> Option<bytes::Bytes> {
        let path = self.dir.join(name);
        let bytes = match read_trusted_file(&path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return None,
            Err(why) => {
                tracing::warn!(path = %path.display(), %why, "ignoring a cache entry");
                return None;
            }
        };
        let header = MAGIC.len() + DIGEST_LEN;
        if bytes.len() < header || &bytes[..MAGIC.len()] != MAGIC {
            tracing::warn!(path = %path.display(), "ignoring a cache entry of unknown format");
            return None;
        }
        let stored = &bytes[MAGIC.len()..header];
        let payload = &bytes[header..];
        // `blake3::Hash` compares in constant time.
        if self.digest(name, payload) != blake3::Hash::from_bytes(stored.try_into().ok()?) {
            tracing::warn!(path = %path.display(), "ignoring a corrupted or foreign cache entry");
            return None;
        }
        // The payload is the verified bytes themselves, not a copy: an
        // artifact is megabytes, and every copy is a page fault per page.
        Some(bytes::Bytes::from(bytes).slice(header..))
    }

    /// Stores `payload` as entry `name`: written to a private temporary
    /// file, then renamed over the old entry, so readers never see half.
    pub fn store(&self, name: &str, payload: &[u8]) {
        let digest = self.digest(name, payload);
        let written = (|| -> std::io::Result<()> {
            let tmp = self
                .dir
                .join(format!(".{name}.{:016x}.tmp", rand::random::<u64>()));
            let mut file = private_file(&tmp)?;
            file.write_all(MAGIC)?;
            file.write_all(digest.as_bytes())?;
            file.write_all(payload)?;
            drop(file);
            std::fs::rename(&tmp, self.dir.join(name)).inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })
        })();
        if let Err(e) = written {
            tracing::warn!(error = %e, dir = %self.dir.display(), "cannot write a cache entry");
        }
    }

    fn digest(&self, name: &str, payload: &[u8]) -> blake3::Hash {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(&(name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update(payload);
        hasher.finalize()
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// A new file only its owner can read and write; fails if `path` exists.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(unix)]
fn owned_and_private(metadata: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if metadata.uid() != me {
        return Err(format!(
            "owned by uid {}, not by this user ({me})",
            metadata.uid()
        ));
    }
    if metadata.mode() & 0o022 != 0 {
        return Err(format!(
            "writable by group or others (mode {:o})",
            metadata.mode() & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn owned_and_private(_: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

fn trusted_dir(dir: &Path) -> Result<(), String> {
    let metadata = std::fs::metadata(dir).map_err(|e| e.to_string())?;
    if !metadata.is_dir() {
        return Err("not a directory".into());
    }
    owned_and_private(&metadata)
}

/// Reads `path` if it is a regular file (not a symlink) owned by this user
/// and not writable by others; `Ok(None)` when it does not exist.
fn read_trusted_file(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let metadata = file.metadata().map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    owned_and_private(&metadata)?;
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    Ok(Some(bytes))
}

/// The cache's key: read when present and trusted, else created. A new key
/// is written to a temporary file and hard-linked into place, which fails
/// if another process got there first; then that process's key is read.
fn load_or_create_key(dir: &Path) -> Result<[u8; 32], String> {
    let path = dir.join(KEY_FILE);
    for _ in 0..2 {
        if let Some(bytes) = read_trusted_file(&path)? {
            return bytes
                .try_into()
                .map_err(|_| "the key file is not 32 bytes".to_owned());
        }
        let key: [u8; 32] = rand::random();
        let tmp = dir.join(format!(".key.{:016x}.tmp", rand::random::<u64>()));
        let mut file = private_file(&tmp).map_err(|e| e.to_string())?;
        file.write_all(&key).map_err(|e| e.to_string())?;
        drop(file);
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => return Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("the key file keeps changing".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn entries_round_trip_and_fail_closed() {
        let dir = temp_dir("roundtrip");
        let cache = ArtifactCache::open(&dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        cache.store("a", b"payload");
        assert_eq!(cache.load("a").as_deref(), Some(&b"payload"[..]));
        assert_eq!(cache.load("missing"), None);
        // The same key is found again by another opener.
        assert_eq!(
            ArtifactCache::open(&dir).unwrap().load("a").as_deref(),
            Some(&b"payload"[..])
        );
        // Flipped bytes, a truncation, an entry renamed to another name.
        let path = dir.join("a");
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(cache.load("a"), None);
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert_eq!(cache.load("a"), None);
        cache.store("a", b"payload");
        std::fs::rename(&path, dir.join("b")).unwrap();
        assert_eq!(cache.load("b"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn loose_permissions_are_not_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("perms");
        let cache = ArtifactCache::open(&dir).unwrap();
        cache.store("a", b"payload");
        let path = dir.join("a");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(cache.load("a"), None, "an entry others could write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(cache.load("a").is_some());
        std::os::unix::fs::symlink(&path, dir.join("link")).unwrap();
        assert_eq!(cache.load("link"), None, "a symlink");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(
            ArtifactCache::open(&dir).is_none(),
            "a directory others could write"
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Secrets: values that are never shown, and the operator's references to
//! them (`env:NAME`, `file:PATH`), which only operator configuration may use.

use std::fmt;
use std::io::Read;

use serde::Deserialize;

use crate::error::Error;

/// The largest secret a reference may resolve to (an OAuth client secret
/// is 64 characters; a key file or certificate is still far below this).
pub const MAX_SECRET_BYTES: usize = 16 * 1024;

/// A secret string: shown as `***` by `Debug` and `Display`, so it cannot
/// slip into logs or errors by accident.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value. Whether it is taken literally or as a
    /// reference depends on who supplied it (see [`crate::Trust`]).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// Resolves an operator's reference: `env:NAME` reads the variable
    /// NAME, `file:PATH` reads the regular file PATH (at most
    /// [`MAX_SECRET_BYTES`], trailing newline dropped); anything else is the
    /// secret itself. `field` names the setting in errors, which never
    /// contain the secret.
    pub(crate) fn resolve_reference(&self, field: &str) -> Result<Secret, Error> {
        let bad = |message: String| Error::Tenant {
            field: field.into(),
            message,
        };
        if let Some(name) = self.0.strip_prefix("env:") {
            let value = std::env::var(name)
                .map_err(|_| bad(format!("environment variable {name} is not set")))?;
            if value.len() > MAX_SECRET_BYTES {
                return Err(bad(format!(
                    "environment variable {name} is longer than {MAX_SECRET_BYTES} bytes"
                )));
            }
            Ok(Secret(value))
        } else if let Some(path) = self.0.strip_prefix("file:") {
            read_secret_file(path)
                .map(|s| Secret(s.trim_end_matches(['\n', '\r']).to_owned()))
                .map_err(|why| bad(format!("{path}: {why}")))
        } else {
            Ok(self.clone())
        }
    }

    /// The secret itself; call sites are the only places that may see it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Reads a secret file without ever blocking on it or reading more than
/// [`MAX_SECRET_BYTES`] + 1 bytes: it is opened non-blocking (a FIFO
/// without a writer would block the open forever) and must be a regular
/// file (`/dev/zero` or `/dev/urandom` would never end).
fn read_secret_file(path: &str) -> Result<String, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options
        .open(path)
        .map_err(|e| format!("cannot be read ({})", e.kind()))?;
    let metadata = file
        .metadata()
        .map_err(|e| format!("cannot be read ({})", e.kind()))?;
    if !metadata.is_file() {
        return Err("is not a regular file".into());
    }
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read ({})", e.kind()))?;
    if bytes.len() > MAX_SECRET_BYTES {
        return Err(format!("is larger than {MAX_SECRET_BYTES} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".into())
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_within_bounds() {
        std::env::set_var("SECRET_TEST_VALUE", "from-the-environment");
        let resolve = |s: &str| Secret::new(s).resolve_reference("clientSecret");
        assert_eq!(
            resolve("env:SECRET_TEST_VALUE").unwrap().expose(),
            "from-the-environment"
        );
        assert_eq!(resolve("literal").unwrap().expose(), "literal");
        let dir = std::env::temp_dir().join(format!("secret-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("s");
        std::fs::write(&file, "from-a-file\n").unwrap();
        assert_eq!(
            resolve(&format!("file:{}", file.display()))
                .unwrap()
                .expose(),
            "from-a-file"
        );
        std::fs::write(&file, vec![b'x'; MAX_SECRET_BYTES + 1]).unwrap();
        for (reference, why) in [
            (format!("file:{}", file.display()), "larger than"),
            ("file:/dev/zero".to_owned(), "not a regular file"),
            ("file:/dev/urandom".to_owned(), "not a regular file"),
            ("env:SECRET_TEST_UNSET".to_owned(), "not set"),
        ] {
            match resolve(&reference) {
                Err(Error::Tenant { field, message }) => {
                    assert_eq!(field, "clientSecret");
                    assert!(message.contains(why), "{reference}: {message}");
                }
                other => panic!("{reference}: expected a tenant error, got {other:?}"),
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

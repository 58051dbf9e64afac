//! Typed errors of the library. One bad file is a finding, not an error: these are for the
//! failures that stop a whole run (the input is not an image, the report cannot be written).

use std::path::PathBuf;

/// A failure that stops the run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is not a Windows image (exit 66).
    #[error("{path}: not a Windows image: {reason}")]
    NotAnImage {
        /// What the user gave.
        path: PathBuf,
        /// What was looked for.
        reason: String,
    },
    /// Wrong use of flags or arguments (exit 64).
    #[error("{0}")]
    Usage(String),
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Something we wrote the wrong way round.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Attach a path to an I/O error.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The exit status this error maps to.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::NotAnImage { .. } => crate::exit::NOT_AN_IMAGE,
            Error::Usage(_) => crate::exit::USAGE,
            Error::Io { .. } | Error::Internal(_) => crate::exit::INTERNAL,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

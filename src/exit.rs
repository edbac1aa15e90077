//! How the `orderdesk` command ends: every exit code it uses is decided here, and only here,
//! and README ("Exit codes") lists them. Scripts and service managers tell a mistyped command
//! from a database that is down, or a schema to migrate, by the code alone.
//!
//! Usage errors keep 2, the code clap (and most Unix tools) give them; 1 is any other failure
//! the message explains, so the codes from 3 on each name one cause an operator acts on.

use std::process::ExitCode;

use crate::db::DbError;
use crate::server::StartError;

/// The exit codes of `orderdesk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It did what was asked.
    Success,
    /// It could not do what was asked for a reason the message gives (a user who exists
    /// already, a file in the way, a failed migration).
    Failed,
    /// The command line is wrong: an unknown command or flag, a missing or malformed argument
    /// or value (a role that does not exist, a user name with spaces, a short password).
    Usage,
    /// The configuration is wrong: an unknown time zone, an address the server cannot listen
    /// on, a database URL of an unsupported kind, an SQLite file that is not there.
    Config,
    /// The database cannot be reached or opened.
    Unreachable,
    /// The database's schema is not the one this binary expects (none yet, migrations pending,
    /// or written by a newer version).
    Schema,
    /// `orderdesk check` (or the check of a fresh backup) found an invariant violated.
    Invariant,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Config => 3,
            Exit::Unreachable => 4,
            Exit::Schema => 5,
            Exit::Invariant => 6,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// Why a command failed: what to tell the operator, and how the process ends.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Failure {
        Failure {
            exit,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Usage, message)
    }

    pub fn config(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Config, message)
    }

    pub fn schema(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Schema, message)
    }
}

/// Any other failure, explained by its message.
impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::new(Exit::Failed, message)
    }
}

/// A database that cannot be reached is [`Exit::Unreachable`]; a URL of the wrong kind is
/// configuration; anything else failed while working.
impl From<DbError> for Failure {
    fn from(err: DbError) -> Failure {
        let exit = match &err {
            DbError::Connect(_) => Exit::Unreachable,
            DbError::UnsupportedUrl(_) => Exit::Config,
            _ => Exit::Failed,
        };
        Failure::new(exit, err.to_string())
    }
}

impl From<StartError> for Failure {
    fn from(err: StartError) -> Failure {
        match err {
            StartError::Db(db) => db.into(),
            StartError::Schema(m) => Failure::schema(m),
            e @ (StartError::Zone(_) | StartError::Bind { .. }) => Failure::config(e.to_string()),
            e @ StartError::Io(_) => Failure::new(Exit::Failed, e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_has_its_own_code() {
        let all = [
            Exit::Success,
            Exit::Failed,
            Exit::Usage,
            Exit::Config,
            Exit::Unreachable,
            Exit::Schema,
            Exit::Invariant,
        ];
        let codes: Vec<u8> = all.iter().map(|e| e.code()).collect();
        assert_eq!(codes, vec![0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(
            Failure::from(DbError::Connect("down".into())).exit,
            Exit::Unreachable
        );
        assert_eq!(
            Failure::from(DbError::UnsupportedUrl("mysql".into())).exit,
            Exit::Config
        );
        assert_eq!(Failure::from(DbError::Busy).exit, Exit::Failed);
        assert_eq!(
            Failure::from(StartError::Schema("migrate".into())).exit,
            Exit::Schema
        );
    }
}

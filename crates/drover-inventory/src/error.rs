//! The one error type of this crate.
//!
//! Every variant that comes from a file carries a [`SourceLocation`], so that
//! the binary can render the offending line with a caret, and most carry a
//! hint telling the operator what to do next.

use std::fmt;
use std::path::PathBuf;

/// Where in a source file something went wrong.
///
/// Lines and columns count from 1, as editors and compilers show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file that holds the offending text.
    pub path: PathBuf,
    /// The 1-based line number.
    pub line: usize,
    /// The 1-based column, counted in characters.
    pub column: usize,
    /// How many characters the offending text spans (at least 1).
    pub length: usize,
}

impl SourceLocation {
    /// A location one character wide.
    pub fn new(path: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Self {
            path: path.into(),
            line,
            column,
            length: 1,
        }
    }

    /// The same location, widened to cover `length` characters.
    #[must_use]
    pub fn with_length(mut self, length: usize) -> Self {
        self.length = length.max(1);
        self
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}:{}:{}",
            self.path.display(),
            self.line,
            self.column
        )
    }
}

/// Everything that can go wrong while reading an inventory or matching hosts.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The path that could not be read.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// A vault-encrypted file (or value) could not be decrypted.
    #[error("`{}`: {source}", path.display())]
    Vault {
        /// The file that holds it.
        path: PathBuf,
        /// Why.
        #[source]
        source: drover_vault::Error,
    },

    /// A line of an INI inventory (or a key of a YAML one) has the wrong shape.
    #[error("{message}")]
    Syntax {
        /// Where the bad text is.
        location: SourceLocation,
        /// What is wrong with it.
        message: String,
        /// What the operator can do about it.
        hint: Option<String>,
    },

    /// A host range such as `web[01:10]` that cannot be expanded.
    #[error("bad host range `{pattern}`: {message}")]
    Range {
        /// Where the range is written, when it came from a file.
        location: Option<SourceLocation>,
        /// The pattern holding the range.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },

    /// A `[parent:children]` section names a group that is never defined.
    #[error("section `[{parent}:children]` includes undefined group `{child}`")]
    UndefinedChildGroup {
        /// Where the child is named.
        location: SourceLocation,
        /// The group whose children are listed.
        parent: String,
        /// The child that does not exist.
        child: String,
    },

    /// A `[group:vars]` section for a group that is never defined.
    #[error("section `[{group}:vars]` is for undefined group `{group}`")]
    UndefinedVarsGroup {
        /// Where the section header is.
        location: SourceLocation,
        /// The undefined group.
        group: String,
    },

    /// Adding a child group would make a group its own ancestor.
    #[error("adding group `{child}` as a child of `{parent}` creates a loop")]
    GroupLoop {
        /// Where the relation is declared, when it came from a file.
        location: Option<SourceLocation>,
        /// The would-be parent.
        parent: String,
        /// The would-be child.
        child: String,
    },

    /// YAML that does not parse.
    #[error("invalid YAML: {message}")]
    Yaml {
        /// Where the parser stopped.
        location: SourceLocation,
        /// What the parser said.
        message: String,
    },

    /// JSON (from an inventory script) that does not parse or has the wrong shape.
    #[error("inventory script `{}` printed invalid JSON: {message}", path.display())]
    ScriptOutput {
        /// The script.
        path: PathBuf,
        /// What is wrong with its output.
        message: String,
    },

    /// An inventory script could not be started or exited with an error.
    #[error("inventory script `{}` failed: {message}", path.display())]
    ScriptFailed {
        /// The script.
        path: PathBuf,
        /// The exit status or launch error.
        message: String,
        /// What the script wrote to stderr, trimmed.
        stderr: String,
    },

    /// An `-i` source that is neither a file, a directory nor a host list.
    #[error("inventory source `{source_text}` does not exist")]
    MissingSource {
        /// The source as the operator gave it.
        source_text: String,
    },

    /// A host pattern that cannot be evaluated.
    #[error("invalid host pattern `{pattern}`: {message}")]
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
}

impl Error {
    /// Where in a file the error is, if it came from one.
    pub fn location(&self) -> Option<&SourceLocation> {
        match self {
            Self::Syntax { location, .. }
            | Self::UndefinedChildGroup { location, .. }
            | Self::UndefinedVarsGroup { location, .. }
            | Self::Yaml { location, .. } => Some(location),
            Self::Range { location, .. } | Self::GroupLoop { location, .. } => location.as_ref(),
            _ => None,
        }
    }

    /// A line telling the operator what to do next, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Syntax { hint, .. } => hint.clone(),
            Self::Range { .. } => Some(
                "a range is `[START:END]` or `[START:END:STEP]`, numeric (`[01:20]`) or one \
                 letter each (`[a:f]`)"
                    .to_owned(),
            ),
            Self::UndefinedChildGroup { child, .. } => Some(format!(
                "define the group with a `[{child}]` section, or remove it from the list"
            )),
            Self::UndefinedVarsGroup { group, .. } => Some(format!(
                "add a `[{group}]` section (it may be empty) or a `[{group}:children]` section"
            )),
            Self::GroupLoop { .. } => {
                Some("a group cannot be its own ancestor; remove one of the relations".to_owned())
            }
            Self::Yaml { .. } => Some(
                "check the indentation and quoting near this line; YAML inventories nest \
                 `hosts`, `vars` and `children` under group names"
                    .to_owned(),
            ),
            Self::ScriptOutput { .. } => Some(
                "run the script with `--list` yourself: it must print one JSON object of groups"
                    .to_owned(),
            ),
            Self::ScriptFailed { .. } => {
                Some("run the script with `--list` yourself to see why it fails".to_owned())
            }
            Self::MissingSource { source_text } => Some(format!(
                "to name hosts directly, end the list with a comma: `-i '{source_text},'`"
            )),
            Self::Pattern { .. } => Some(
                "patterns are names, globs (`web*`), regexes (`~web\\d+`), joined by `:` or `,`, \
                 with `&` (and) and `!` (not) prefixes and optional `[0]` or `[1:3]` slices"
                    .to_owned(),
            ),
            Self::Vault { source, .. } => source.hint().map(str::to_owned),
            Self::Read { .. } => None,
        }
    }
}

/// Shorthand used throughout this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! Splitting an INI host line into words, as Python's `shlex.split(line, comments=True)` does.
//!
//! This is not POSIX shell splitting: in Python's splitter a `#` ends the line
//! even in the middle of a word (`color=#fff` becomes `color=`), and Ansible
//! inherits that. The `shlex` crate follows the shell instead, so this small
//! splitter exists to keep inventories reading exactly as they do in Ansible.

/// Why a line could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SplitError {
    /// A quote was opened and never closed.
    NoClosingQuotation,
    /// A backslash ended the line.
    NoEscapedCharacter,
}

impl std::fmt::Display for SplitError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::NoClosingQuotation => "no closing quotation",
            Self::NoEscapedCharacter => "no escaped character after `\\`",
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Between,
    Word,
    Quoted(char),
    Escaped { resume: Resume },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Resume {
    Word,
    Quoted(char),
}

/// Splits `line` into words, removing quotes and the trailing comment.
pub(crate) fn split(line: &str) -> Result<Vec<String>, SplitError> {
    let mut splitter = Splitter {
        words: Vec::new(),
        word: String::new(),
        has_word: false,
        state: State::Between,
    };
    for character in line.chars() {
        if !splitter.feed(character) {
            break;
        }
    }
    splitter.finish()
}

/// The words so far, the one being read, and where in it the splitter is.
struct Splitter {
    words: Vec<String>,
    word: String,
    /// A word has begun (it may be empty: `''`).
    has_word: bool,
    state: State,
}

impl Splitter {
    /// Takes one character; `false` at a comment, which ends the line.
    fn feed(&mut self, character: char) -> bool {
        match self.state {
            State::Between | State::Word => return self.outside_quotes(character),
            State::Quoted(quote) => {
                if character == quote {
                    self.state = State::Word;
                } else if character == '\\' && quote == '"' {
                    self.state = State::Escaped {
                        resume: Resume::Quoted(quote),
                    };
                } else {
                    self.word.push(character);
                }
            }
            State::Escaped { resume } => {
                // Inside double quotes only `\"` and `\\` are escapes.
                if let Resume::Quoted(quote) = resume
                    && character != quote
                    && character != '\\'
                {
                    self.word.push('\\');
                }
                self.word.push(character);
                self.state = match resume {
                    Resume::Word => State::Word,
                    Resume::Quoted(quote) => State::Quoted(quote),
                };
            }
        }
        true
    }

    /// A character between words or inside an unquoted one.
    fn outside_quotes(&mut self, character: char) -> bool {
        if character.is_whitespace() {
            if self.has_word {
                self.words.push(std::mem::take(&mut self.word));
                self.has_word = false;
            }
            self.state = State::Between;
            return true;
        }
        if character == '#' {
            return false;
        }
        self.has_word = true;
        self.state = match character {
            '\\' => State::Escaped {
                resume: Resume::Word,
            },
            '\'' | '"' => State::Quoted(character),
            _ => {
                self.word.push(character);
                State::Word
            }
        };
        true
    }

    fn finish(mut self) -> Result<Vec<String>, SplitError> {
        match self.state {
            State::Quoted(_) => Err(SplitError::NoClosingQuotation),
            State::Escaped { .. } => Err(SplitError::NoEscapedCharacter),
            State::Between | State::Word => {
                if self.has_word {
                    self.words.push(self.word);
                }
                Ok(self.words)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split(line).unwrap()
    }

    #[test]
    fn quotes_are_removed_and_group_words() {
        assert_eq!(
            words(r#"web1 a="x y" b='1 2' c=plain"#),
            ["web1", "a=x y", "b=1 2", "c=plain"]
        );
    }

    #[test]
    fn a_hash_ends_the_line_even_inside_a_word() {
        assert_eq!(words("h color=#fff # note"), ["h", "color="]);
        assert_eq!(words("h a='#kept'"), ["h", "a=#kept"]);
    }

    #[test]
    fn escapes_follow_python() {
        assert_eq!(words(r#"a\ b "c\"d" "e\f""#), ["a b", "c\"d", "e\\f"]);
        assert_eq!(words("''"), [""]);
    }

    #[test]
    fn unbalanced_quotes_are_errors() {
        assert_eq!(split("h a='x"), Err(SplitError::NoClosingQuotation));
        assert_eq!(split("h a\\"), Err(SplitError::NoEscapedCharacter));
    }
}

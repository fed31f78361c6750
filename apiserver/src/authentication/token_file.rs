//! Static bearer tokens from a CSV file in kube-apiserver's `--token-auth-file` format:
//! `token,user,uid[,"group1,group2,..."]` per line (k8s.io/apiserver
//! `pkg/authentication/token/tokenfile/tokenfile.go`).

use std::collections::HashMap;
use std::path::Path;

use super::User;

/// A token file that did not load.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    /// The file could not be read.
    #[error("reading {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A line has fewer than three columns.
    #[error("token file '{path}' must have at least 3 columns (token, user name, user uid), found {found}")]
    Columns {
        path: String,
        line: usize,
        found: usize,
    },
    /// A line's quoting is broken.
    #[error("token file '{path}': line {line}: unterminated quoted field")]
    Quote { path: String, line: usize },
}

/// Tokens and the users they stand for.
#[derive(Debug, Clone, Default)]
pub struct TokenFile {
    users: HashMap<String, User>,
}

impl TokenFile {
    pub fn load(path: &Path) -> Result<TokenFile, TokenFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TokenFileError::Read {
            path: shown.clone(),
            source,
        })?;
        TokenFile::parse(&text, &shown)
    }

    /// Parses the CSV text; `path` names the file in errors. Blank lines are skipped, nothing
    /// is trimmed; a duplicate token keeps the last line, as upstream (which logs a warning).
    pub fn parse(text: &str, path: &str) -> Result<TokenFile, TokenFileError> {
        let mut users = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line_number = index + 1;
            if line.trim().is_empty() {
                continue;
            }
            let fields = csv_fields(line).ok_or_else(|| TokenFileError::Quote {
                path: path.into(),
                line: line_number,
            })?;
            if fields.len() < 3 {
                return Err(TokenFileError::Columns {
                    path: path.into(),
                    line: line_number,
                    found: fields.len(),
                });
            }
            let token = fields[0].clone();
            if token.is_empty() {
                tracing::warn!(
                    path,
                    line = line_number,
                    "skipping a line with an empty token"
                );
                continue;
            }
            // As upstream: split on commas, nothing trimmed.
            let groups = fields
                .get(3)
                .map(|g| g.split(',').map(str::to_owned).collect())
                .unwrap_or_default();
            if users.contains_key(&token) {
                tracing::warn!(
                    path,
                    line = line_number,
                    "duplicate token; the last one wins"
                );
            }
            users.insert(
                token,
                User {
                    name: fields[1].clone(),
                    uid: fields[2].clone(),
                    groups,
                    ..User::default()
                },
            );
        }
        Ok(TokenFile { users })
    }

    /// The user of `token`.
    pub fn authenticate(&self, token: &str) -> Option<User> {
        self.users.get(token).cloned()
    }
}

/// The fields of one CSV line (RFC 4180 quoting, as Go's `encoding/csv`); `None` when a quote
/// is not closed.
fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let field = fields.last_mut()?;
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if field.is_empty() => quoted = true,
            ',' if !quoted => fields.push(String::new()),
            c => field.push(c),
        }
    }
    (!quoted).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_token_user_uid_and_groups() {
        let file = TokenFile::parse(
            "t1,alice,1001,\"team-a,devs\"\n\nt2,bob,1002\nt3,carol,1003,ops\n",
            "tokens.csv",
        )
        .unwrap();
        let alice = file.authenticate("t1").unwrap();
        assert_eq!((alice.name.as_str(), alice.uid.as_str()), ("alice", "1001"));
        assert_eq!(alice.groups, ["team-a", "devs"]);
        assert!(file.authenticate("t2").unwrap().groups.is_empty());
        assert_eq!(file.authenticate("t3").unwrap().groups, ["ops"]);
        assert_eq!(file.authenticate("nope"), None);
    }

    #[test]
    fn short_lines_and_broken_quotes_are_errors() {
        let short = TokenFile::parse("t1,alice\n", "tokens.csv").unwrap_err();
        assert_eq!(
            short.to_string(),
            "token file 'tokens.csv' must have at least 3 columns (token, user name, user uid), found 2"
        );
        assert!(matches!(
            TokenFile::parse("t1,alice,1,\"a,b\n", "f").unwrap_err(),
            TokenFileError::Quote { line: 1, .. }
        ));
    }

    #[test]
    fn csv_quoting_follows_rfc_4180() {
        assert_eq!(csv_fields("a,\"b,c\",d").unwrap(), ["a", "b,c", "d"]);
        assert_eq!(csv_fields("\"x\"\"y\",z").unwrap(), ["x\"y", "z"]);
        assert_eq!(csv_fields("a,b,").unwrap(), ["a", "b", ""]);
    }
}

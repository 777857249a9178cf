//! Splits a wrapper command given as one string (`--wrapper 'unshare -m sh -c "..."'`)
//! into words, with POSIX shell quoting: '...', "..." (with \" and \\) and \ escapes.

/// The words of `line`, or an error naming the unterminated quote.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unterminated ' in `{line}`")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("unterminated \" in `{line}`")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("unterminated \" in `{line}`")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn plain_and_quoted() {
        assert_eq!(split("a  b\tc").unwrap(), ["a", "b", "c"]);
        assert_eq!(
            split(r#"unshare -m sh -c 'umount /x; exec "$0" "$@"'"#).unwrap(),
            ["unshare", "-m", "sh", "-c", r#"umount /x; exec "$0" "$@""#]
        );
        assert_eq!(split(r#"a"b c"d '' x\ y"#).unwrap(), ["ab cd", "", "x y"]);
        assert_eq!(split(r#""a\"b\n""#).unwrap(), [r#"a"b\n"#]);
    }

    #[test]
    fn unterminated_quotes_fail() {
        assert!(split("sh -c 'oops").unwrap_err().contains("unterminated '"));
        assert!(split("\"oops").is_err());
    }
}

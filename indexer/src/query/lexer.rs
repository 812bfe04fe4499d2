//! Query text → tokens with byte spans.
//!
//! The lexer never fails: a problem (an unclosed quote, `NEAR` without a distance, `juice~1`) is
//! recorded and lexing goes on, so that validation can report every problem at once.

use super::ast::Span;
use super::limits::clip;
use super::QueryProblem;

/// Largest `n` accepted in `NEAR/n` and `"…"~n`.
pub const MAX_DISTANCE: u32 = 1000;

/// A token of the query language.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `AND`
    And,
    /// `OR`
    Or,
    /// `NOT`
    Not,
    /// `NEAR/n` or `NEAR/nf`.
    Near {
        /// Most words between the operands.
        distance: u32,
        /// `f`: left operand first.
        ordered: bool,
    },
    /// `name:` (the span covers the name and the colon).
    Field(String),
    /// A bare word.
    Word(String),
    /// `"…"` with an optional `~n`.
    Phrase {
        /// The text between the quotes.
        text: String,
        /// The proximity.
        slop: Option<u32>,
    },
    /// `{…}`
    CaseSensitive(String),
}

/// A token and its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Its byte range.
    pub span: Span,
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"' | '{' | '}')
}

/// Splits `text` into tokens; problems go to `problems`.
pub fn lex(text: &str, problems: &mut Vec<QueryProblem>) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    while let Some(c) = text[pos..].chars().next() {
        let start = pos;
        if c.is_whitespace() {
            pos += c.len_utf8();
        } else if text[pos..].starts_with("<<<") {
            pos = match text[pos + 3..].find(">>>") {
                Some(i) => pos + 3 + i + 3,
                None => {
                    problems.push(QueryProblem::new(
                        "`<<<` starts a comment that is never closed with `>>>`",
                        (start, start + 3),
                    ));
                    text.len()
                }
            };
        } else if let Some(tok) = single(c) {
            pos += 1;
            tokens.push(Token { tok, span: (start, pos) });
        } else if c == '"' {
            pos = lex_phrase(text, pos, &mut tokens, problems);
        } else if c == '{' {
            pos = match text[pos + 1..].find(['}', '{']) {
                Some(i) if text[pos + 1 + i..].starts_with('}') => {
                    let content = &text[pos + 1..pos + 1 + i];
                    tokens.push(Token { tok: Tok::CaseSensitive(content.to_owned()), span: (start, pos + i + 2) });
                    pos + i + 2
                }
                _ => {
                    problems.push(QueryProblem::new("`{` is never closed with `}`", (start, start + 1)));
                    pos + 1
                }
            };
        } else if c == '}' {
            problems.push(QueryProblem::new("`}` has no matching `{`", (start, start + 1)));
            pos += 1;
        } else {
            pos = lex_word(text, pos, &mut tokens, problems);
        }
    }
    tokens
}

fn single(c: char) -> Option<Tok> {
    match c {
        '(' => Some(Tok::LParen),
        ')' => Some(Tok::RParen),
        '[' => Some(Tok::LBracket),
        ']' => Some(Tok::RBracket),
        _ => None,
    }
}

/// Lexes `"…"` and an optional `~n`; returns the position after it.
fn lex_phrase(text: &str, start: usize, tokens: &mut Vec<Token>, problems: &mut Vec<QueryProblem>) -> usize {
    let Some(close) = text[start + 1..].find('"').map(|i| start + 1 + i) else {
        problems.push(QueryProblem::new("this quote is never closed", (start, start + 1)));
        tokens.push(Token {
            tok: Tok::Phrase { text: text[start + 1..].to_owned(), slop: None },
            span: (start, text.len()),
        });
        return text.len();
    };
    let content = text[start + 1..close].to_owned();
    let mut end = close + 1;
    let mut slop = None;
    if text[end..].starts_with('~') {
        let digits = text[end + 1..].chars().take_while(char::is_ascii_digit).count();
        let number = &text[end + 1..end + 1 + digits];
        match number.parse::<u32>() {
            Ok(n) if n <= MAX_DISTANCE => slop = Some(n),
            Ok(_) | Err(_) if digits > 0 => problems.push(QueryProblem::new(
                format!("the proximity after `~` must be at most {MAX_DISTANCE}"),
                (end, end + 1 + digits),
            )),
            _ => {
                problems.push(QueryProblem::new("`~` must be followed by a number of words, like `~5`", (end, end + 1)))
            }
        }
        end += 1 + digits;
    }
    tokens.push(Token { tok: Tok::Phrase { text: content, slop }, span: (start, end) });
    end
}

/// Lexes a word, an operator or a `field:` prefix; returns the position after it.
fn lex_word(text: &str, start: usize, tokens: &mut Vec<Token>, problems: &mut Vec<QueryProblem>) -> usize {
    let mut end = start;
    for (i, c) in text[start..].char_indices() {
        if is_delimiter(c) || text[start + i..].starts_with("<<<") {
            break;
        }
        end = start + i + c.len_utf8();
        // A `name:` prefix ends the token (but not `http://`).
        if c == ':' && is_field_name(&text[start..start + i]) && !text[end..].starts_with("//") {
            let name = text[start..start + i].to_owned();
            let value_follows = text[end..].chars().next().is_some_and(|n| !n.is_whitespace());
            if !value_follows {
                problems.push(QueryProblem::new(
                    format!("`{}:` needs a value right after the colon", clip(&name)),
                    (start, end),
                ));
            }
            tokens.push(Token { tok: Tok::Field(name), span: (start, end) });
            return end;
        }
    }
    let word = &text[start..end];
    let span = (start, end);
    let tok = match word {
        "AND" => Tok::And,
        "OR" => Tok::Or,
        "NOT" => Tok::Not,
        _ if word.starts_with("NEAR") => match parse_near(word) {
            Ok((distance, ordered)) => Tok::Near { distance, ordered },
            Err(message) => {
                problems.push(QueryProblem::new(message, span));
                return end;
            }
        },
        _ => {
            check_word(word, span, problems);
            Tok::Word(word.to_owned())
        }
    };
    tokens.push(Token { tok, span });
    end
}

fn is_field_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic())
}

/// Parses `NEAR/3` or `NEAR/3f`.
fn parse_near(word: &str) -> Result<(u32, bool), String> {
    let usage = "NEAR needs a distance: `NEAR/3` (any order) or `NEAR/3f` (left word first)";
    let Some(rest) = word.strip_prefix("NEAR/") else { return Err(usage.into()) };
    let (digits, ordered) = match rest.strip_suffix('f') {
        Some(d) => (d, true),
        None => (rest, false),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(usage.into());
    }
    match digits.parse::<u32>() {
        Ok(n) if n <= MAX_DISTANCE => Ok((n, ordered)),
        _ => Err(format!("the distance of NEAR must be at most {MAX_DISTANCE}")),
    }
}

/// Flags words that Tantivy's parser would silently misread.
fn check_word(word: &str, span: Span, problems: &mut Vec<QueryProblem>) {
    let lower = word.to_ascii_lowercase();
    if lower.starts_with("near/") {
        problems.push(QueryProblem::new(
            format!("operators are upper case: write `{}`", clip(&word.to_ascii_uppercase())),
            span,
        ));
    } else if let Some(i) = word.find('~') {
        problems.push(QueryProblem::new(
            "`~n` works only after a quoted phrase, like `\"apple juice\"~5`",
            (span.0 + i, span.1),
        ));
    } else if word.len() > 1 && (word.starts_with('-') || word.starts_with('+')) {
        problems.push(QueryProblem::new(
            "`-word` and `+word` are not operators here: use `NOT word`, or `AND word`",
            (span.0, span.0 + 1),
        ));
    } else if matches!(word, "&&" | "||" | "!") {
        problems.push(QueryProblem::new("use the operators AND, OR and NOT (upper case)", span));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> (Vec<Tok>, Vec<QueryProblem>) {
        let mut problems = Vec::new();
        let tokens = lex(text, &mut problems);
        (tokens.into_iter().map(|t| t.tok).collect(), problems)
    }

    #[test]
    fn lexes_operators_fields_and_phrases() {
        let (t, p) = toks(r#"a AND author:"Bob" NEAR/3f (x) "y z"~4 {BT} <<<note>>> rating:[1 TO 2]"#);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            t,
            vec![
                Tok::Word("a".into()),
                Tok::And,
                Tok::Field("author".into()),
                Tok::Phrase { text: "Bob".into(), slop: None },
                Tok::Near { distance: 3, ordered: true },
                Tok::LParen,
                Tok::Word("x".into()),
                Tok::RParen,
                Tok::Phrase { text: "y z".into(), slop: Some(4) },
                Tok::CaseSensitive("BT".into()),
                Tok::Field("rating".into()),
                Tok::LBracket,
                Tok::Word("1".into()),
                Tok::Word("TO".into()),
                Tok::Word("2".into()),
                Tok::RBracket,
            ]
        );
    }

    #[test]
    fn urls_are_words_not_fields() {
        let (t, p) = toks("https://bbc.co.uk/news");
        assert!(p.is_empty());
        assert_eq!(t, vec![Tok::Word("https://bbc.co.uk/news".into())]);
    }

    #[test]
    fn reports_problems_with_spans() {
        let (_, p) = toks("juice~1 \"open");
        assert_eq!(p[0].span, (5, 7));
        assert_eq!(p[1].span, (8, 9));
        let (_, p) = toks("a NEAR b near/2 c <<<x");
        assert_eq!(p.iter().map(|p| p.span).collect::<Vec<_>>(), vec![(2, 6), (9, 15), (18, 21)]);
    }
}

//! Field operators: suggestions for unknown ones, and reading their values.

use super::ast::FieldOp;
use super::limits::clip;
use super::words::{keyword_slot, Slot};
use crate::tokenizer::url_host;

/// Edit distance (insertions, deletions, substitutions) between two strings, ignoring ASCII case.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            cur.push(substitute.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Extra names people type for our operators.
const ALIASES: [(&str, &str); 6] = [
    ("handle", "author"),
    ("domain", "site"),
    ("lang", "language"),
    ("tag", "tags"),
    ("followers", "authorFollowers"),
    ("verified", "authorVerified"),
];

/// `"; did you mean `x:`?"` for the closest known operator, or a list of them when none is close.
pub fn suggest_field(name: &str) -> String {
    if let Some((_, to)) = ALIASES.iter().find(|(from, _)| from.eq_ignore_ascii_case(name)) {
        return format!("; did you mean `{to}:`?");
    }
    let known = FieldOp::ALL.iter().map(|f| f.name()).chain(std::iter::once("topic"));
    let best = known.map(|k| (edit_distance(name, k), k)).min_by_key(|(d, _)| *d);
    match best {
        Some((d, k)) if d <= 2.max(name.len() / 3) => format!("; did you mean `{k}:`?"),
        _ => {
            let all: Vec<&str> = FieldOp::ALL.iter().map(|f| f.name()).collect();
            format!("; known fields are {}, topic", all.join(", "))
        }
    }
}

/// The value of a numeric operator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// `authorFollowers`.
    Count(u64),
    /// `rating`, rounded through `f32` the way it is stored.
    Rating(f64),
}

/// Reads a number for a numeric operator.
pub fn number(field: FieldOp, raw: &str) -> Result<Number, String> {
    match field {
        FieldOp::AuthorFollowers => raw
            .parse::<u64>()
            .map(Number::Count)
            .map_err(|_| format!("`{}` is not a whole number of followers", clip(raw))),
        _ => match raw.parse::<f32>() {
            // Ratings are stored as f32 widened to f64: the bound must go the same way to compare equal.
            Ok(v) if v.is_finite() => Ok(Number::Rating(f64::from(v))),
            _ => Err(format!("`{}` is not a number", clip(raw))),
        },
    }
}

/// Checks a range's bounds and their order.
pub fn range(
    field: FieldOp,
    low: Option<&str>,
    high: Option<&str>,
) -> Result<(Option<Number>, Option<Number>), String> {
    let low = low.map(|l| number(field, l)).transpose()?;
    let high = high.map(|h| number(field, h)).transpose()?;
    let inverted = match (low, high) {
        (Some(Number::Count(l)), Some(Number::Count(h))) => l > h,
        (Some(Number::Rating(l)), Some(Number::Rating(h))) => l > h,
        _ => false,
    };
    if inverted {
        return Err("this range is empty: its low bound is above its high bound".into());
    }
    Ok((low, high))
}

/// Reads `true` or `false`.
pub fn boolean(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => Err(format!("`authorVerified:` takes `true` or `false`, not `{}`", clip(raw))),
    }
}

/// The indexed term (or pattern) of a keyword operator's value.
pub fn keyword(field: FieldOp, raw: &str) -> Result<Slot, String> {
    let value = match field {
        FieldOp::Author => raw.trim_start_matches('@').to_lowercase(),
        FieldOp::Country => raw.to_uppercase(),
        FieldOp::Site => {
            let host = url_host(raw);
            // `host` is a slice of `raw`: what follows it starts where it ends.
            let rest = &raw[host.as_ptr() as usize - raw.as_ptr() as usize + host.len()..];
            if !rest.trim_start_matches(|c: char| c == ':' || c.is_ascii_digit()).trim_matches('/').is_empty() {
                return Err(format!(
                    "`site:` takes a domain, like `site:bbc.co.uk`; use `url:{}` to match a path",
                    clip(raw)
                ));
            }
            host.to_lowercase()
        }
        _ => raw.to_lowercase(),
    };
    if value.trim().is_empty() {
        return Err(format!("`{field}:` needs a value"));
    }
    keyword_slot(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_field() {
        assert_eq!(suggest_field("autor"), "; did you mean `author:`?");
        assert_eq!(suggest_field("authorfolowers"), "; did you mean `authorFollowers:`?");
        assert_eq!(suggest_field("lang"), "; did you mean `language:`?");
        assert!(suggest_field("zzzzzzzzzz").starts_with("; known fields are"));
    }

    #[test]
    fn reads_values() {
        assert_eq!(number(FieldOp::Rating, "3.7"), Ok(Number::Rating(f64::from(3.7f32))));
        assert!(number(FieldOp::AuthorFollowers, "1.5").is_err());
        assert!(range(FieldOp::Rating, Some("5"), Some("3")).is_err());
        assert!(keyword(FieldOp::Site, "bbc.co.uk/news").is_err());
        assert_eq!(keyword(FieldOp::Site, "https://BBC.co.uk/"), Ok(Slot::Exact("bbc.co.uk".into())));
        assert_eq!(keyword(FieldOp::Country, "gb"), Ok(Slot::Exact("GB".into())));
    }
}

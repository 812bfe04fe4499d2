//! Validation of one mention at the ingest boundary: each problem names the field and says why.

use std::time::{SystemTime, UNIX_EPOCH};

use earshot_proto::v1::{EngagementType, Mention, Sentiment, SourceNetwork};

/// Largest accepted text, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// How far in the future `created_at` may be (clock skew between sources).
pub const MAX_FUTURE_SECS: i64 = 24 * 3600;
const MAX_ID_BYTES: usize = 256;
const MAX_URL_BYTES: usize = 4096;
const MAX_TAGS: usize = 64;
const MAX_TAG_BYTES: usize = 128;
const MAX_NAME_BYTES: usize = 512;

/// Why a mention was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Field path, e.g. `author.handle`.
    pub field: &'static str,
    /// Plain-language reason.
    pub reason: String,
}

fn reject(field: &'static str, reason: impl Into<String>) -> Rejection {
    Rejection { field, reason: reason.into() }
}

/// Checks a tenant name: 1–64 of `[a-z0-9_-]`.
pub fn validate_tenant(tenant: &str) -> Result<(), String> {
    if tenant.is_empty() || tenant.len() > 64 {
        return Err("must be 1 to 64 characters".into());
    }
    if !tenant.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_') {
        return Err("may contain only a-z, 0-9, '-' and '_'".into());
    }
    Ok(())
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn check_id(field: &'static str, id: &str, required: bool) -> Result<(), Rejection> {
    if id.is_empty() {
        return if required { Err(reject(field, "is required")) } else { Ok(()) };
    }
    if id.len() > MAX_ID_BYTES {
        return Err(reject(field, format!("is longer than {MAX_ID_BYTES} bytes")));
    }
    if id.chars().any(char::is_control) {
        return Err(reject(field, "contains control characters"));
    }
    Ok(())
}

/// An assigned ISO 639-1 or 639-3 code, with an optional region (an assigned ISO 3166-1 code, or a UN
/// M.49 area of three digits) or script subtag: "en", "pt-BR", "zh-Hant", "es-419". "und" (ISO 639-2's
/// undetermined) is accepted too.
fn is_language_code(code: &str) -> bool {
    if code.len() > 16 {
        return false;
    }
    let mut parts = code.split(['-', '_']);
    let Some(primary) = parts.next() else { return false };
    let primary = primary.to_ascii_lowercase();
    let primary_ok = match primary.len() {
        2 => isolang::Language::from_639_1(&primary).is_some(),
        3 => primary == "und" || isolang::Language::from_639_3(&primary).is_some(),
        _ => false,
    };
    primary_ok
        && parts.all(|p| match p.len() {
            2 => is_country_code(p),
            3 => p.bytes().all(|b| b.is_ascii_digit()),
            4..=8 => p.bytes().all(|b| b.is_ascii_alphanumeric()),
            _ => false,
        })
}

/// A value quoted in a rejection, cut to a few dozen characters: reasons must not echo unbounded input.
fn quoted(value: &str) -> String {
    const MAX_CHARS: usize = 24;
    if value.chars().count() <= MAX_CHARS {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(MAX_CHARS).collect();
    format!("{head:?}… ({} bytes)", value.len())
}

/// An assigned ISO 3166-1 alpha-2 code, any case ("DE", "de").
fn is_country_code(code: &str) -> bool {
    code.len() == 2 && isocountry::CountryCode::for_alpha2_caseless(code).is_ok()
}

/// Checks a mention as sent by a client of `tenant`; on success the mention is normalised in place
/// (tenant set, service-owned fields cleared).
pub fn validate_mention(mention: &mut Mention, tenant: &str) -> Result<(), Rejection> {
    check_id("id", &mention.id, true)?;
    if !mention.tenant.is_empty() && mention.tenant != tenant {
        return Err(reject("tenant", "does not match the caller's tenant"));
    }
    if mention.text.trim().is_empty() {
        return Err(reject("text", "is required"));
    }
    if mention.text.len() > MAX_TEXT_BYTES {
        return Err(reject("text", format!("is longer than {MAX_TEXT_BYTES} bytes")));
    }
    if SourceNetwork::try_from(mention.source).is_err() {
        return Err(reject("source", format!("unknown source network {}", mention.source)));
    }
    if EngagementType::try_from(mention.engagement_type).is_err() {
        return Err(reject("engagement_type", format!("unknown engagement type {}", mention.engagement_type)));
    }
    let Some(created) = mention.created_at else {
        return Err(reject("created_at", "is required"));
    };
    if !(0..1_000_000_000).contains(&created.nanos) {
        return Err(reject("created_at", "nanos must be within 0..1e9"));
    }
    if created.seconds < 0 {
        return Err(reject("created_at", "is before 1970"));
    }
    if created.seconds > now_secs() + MAX_FUTURE_SECS {
        return Err(reject("created_at", "is more than 24 hours in the future"));
    }
    if !mention.url.is_empty() {
        if mention.url.len() > MAX_URL_BYTES {
            return Err(reject("url", format!("is longer than {MAX_URL_BYTES} bytes")));
        }
        let lower = mention.url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(reject("url", "must be an http(s) URL"));
        }
    }
    if !mention.language.is_empty() && !is_language_code(&mention.language) {
        return Err(reject(
            "language",
            format!("{} is not an assigned ISO 639 language code", quoted(&mention.language)),
        ));
    }
    if !mention.country.is_empty() && !is_country_code(&mention.country) {
        return Err(reject(
            "country",
            format!("{} is not an assigned ISO 3166-1 alpha-2 code", quoted(&mention.country)),
        ));
    }
    if let Some(author) = &mention.author {
        check_id("author.id", &author.id, false)?;
        if author.handle.len() > MAX_NAME_BYTES || author.handle.chars().any(char::is_whitespace) {
            return Err(reject("author.handle", "must be a single word of at most 512 bytes"));
        }
        if author.display_name.len() > MAX_NAME_BYTES {
            return Err(reject("author.display_name", "is longer than 512 bytes"));
        }
    }
    check_id("parent_id", &mention.parent_id, false)?;
    check_id("root_id", &mention.root_id, false)?;
    if mention.tags.len() > MAX_TAGS {
        return Err(reject("tags", format!("more than {MAX_TAGS} tags")));
    }
    if mention.tags.iter().any(|t| t.trim().is_empty() || t.len() > MAX_TAG_BYTES) {
        return Err(reject("tags", format!("tags must be non-empty and at most {MAX_TAG_BYTES} bytes")));
    }
    if !mention.rating.is_finite() || !(0.0..=100.0).contains(&mention.rating) {
        return Err(reject("rating", "must be a number from 0 to 100"));
    }
    mention.tenant = tenant.to_owned();
    // Sentiment belongs to the service: whatever a client sends is replaced by the classifier.
    mention.sentiment = Sentiment::Unspecified as i32;
    mention.sentiment_score = 0.0;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::Timestamp;

    fn good() -> Mention {
        Mention {
            id: "1".into(),
            text: "hello".into(),
            created_at: Some(Timestamp { seconds: 1_700_000_000, nanos: 0 }),
            ..Default::default()
        }
    }

    fn field_of(mut m: Mention) -> Option<&'static str> {
        validate_mention(&mut m, "acme").err().map(|r| r.field)
    }

    fn field_reason(mut m: Mention) -> String {
        validate_mention(&mut m, "acme").err().map(|r| r.reason).unwrap_or_default()
    }

    #[test]
    fn good_mention_is_normalised() {
        let mut m = good();
        m.sentiment = 3;
        validate_mention(&mut m, "acme").expect("valid");
        assert_eq!(m.tenant, "acme");
        assert_eq!(m.sentiment, 0);
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(field_of(Mention { id: String::new(), ..good() }), Some("id"));
        assert_eq!(field_of(Mention { text: "  ".into(), ..good() }), Some("text"));
        assert_eq!(field_of(Mention { text: "x".repeat(MAX_TEXT_BYTES + 1), ..good() }), Some("text"));
        assert_eq!(field_of(Mention { created_at: None, ..good() }), Some("created_at"));
        let future = Some(Timestamp { seconds: now_secs() + 3 * 86400, nanos: 0 });
        assert_eq!(field_of(Mention { created_at: future, ..good() }), Some("created_at"));
        assert_eq!(field_of(Mention { language: "english".into(), ..good() }), Some("language"));
        assert_eq!(field_of(Mention { country: "USA".into(), ..good() }), Some("country"));
        assert_eq!(field_of(Mention { source: 99, ..good() }), Some("source"));
        assert_eq!(field_of(Mention { url: "ftp://x".into(), ..good() }), Some("url"));
        assert_eq!(field_of(Mention { tenant: "other".into(), ..good() }), Some("tenant"));
        assert_eq!(field_of(Mention { rating: f32::NAN, ..good() }), Some("rating"));
    }

    #[test]
    fn country_codes_must_be_assigned() {
        assert!(is_country_code("DE") && is_country_code("it"));
        assert!(!is_country_code("ZZ") && !is_country_code("XX") && !is_country_code("DEU"));
    }

    #[test]
    fn rejections_do_not_echo_unbounded_input() {
        let long = "x".repeat(100_000);
        let reason = field_reason(Mention { language: long.clone(), ..good() });
        assert!(reason.len() < 100, "{reason}");
        let reason = field_reason(Mention { country: long, ..good() });
        assert!(reason.len() < 100, "{reason}");
    }

    #[test]
    fn language_codes() {
        for ok in ["en", "pt-BR", "zh-Hant", "fil", "es-419", "und", "de-de", "DE"] {
            assert!(is_language_code(ok), "{ok}");
        }
        for bad in ["e", "english", "en-", "12", "", "zz", "en-ZZ", "qqq"] {
            assert!(!is_language_code(bad), "{bad}");
        }
    }

    #[test]
    fn tenants() {
        assert!(validate_tenant("acme-1").is_ok());
        assert!(validate_tenant("Acme").is_err());
        assert!(validate_tenant("").is_err());
    }
}

//! PII redaction at ingest: e-mail addresses become `[email]` and phone numbers `[phone]` in a mention's
//! text before it is logged, so the raw value is never stored (`--redact-pii`, or per tenant in the
//! key store).
//!
//! Phone numbers are found in two steps: a permissive pattern finds runs of digits joined by spaces,
//! dots, dashes and parentheses; `is_phone` then keeps only what looks like a phone number and not
//! like a date, a price, an amount with thousands separators, an IP address or an order number:
//! international numbers (`+…`, `00…`), national numbers with a trunk zero (`020 7946 0958`,
//! `01.23.45.67.89`) or an area code in parentheses, and North American `555-123-4567`. A bare run of
//! digits (`123456789`) is left alone: without separators it is as likely an order number.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use regex::{Captures, Regex};

/// Replacement of an e-mail address.
pub const EMAIL: &str = "[email]";
/// Replacement of a phone number.
pub const PHONE: &str = "[phone]";

/// A tenant's own redaction setting (`None`: it has none), e.g. read from the key store.
pub type TenantRedaction = Arc<dyn Fn(&str) -> Option<bool> + Send + Sync>;

/// Who gets redaction.
#[derive(Clone, Default)]
pub struct PiiPolicy {
    /// For tenants without a setting of their own.
    pub default: bool,
    /// Per-tenant settings, where there are any.
    pub tenants: Option<TenantRedaction>,
}

impl PiiPolicy {
    /// Whether `tenant`'s texts are redacted.
    pub fn applies_to(&self, tenant: &str) -> bool {
        self.tenants.as_ref().and_then(|setting| setting(tenant)).unwrap_or(self.default)
    }
}

fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)\b[a-z0-9][a-z0-9._%+\-_]*@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}\b")
            .expect("valid e-mail pattern")
    })
}

fn phone_candidate_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\+?\(?\d(?:[ .\-()]{0,2}\d)+").expect("valid phone pattern"))
}

/// Whether a candidate (digits joined by ` .-()`, maybe a leading `+`) is a phone number; `before` is
/// the text before it.
fn is_phone(candidate: &str, before: &str) -> bool {
    let previous = before.chars().next_back();
    if previous.is_some_and(|c| c.is_alphanumeric() || matches!(c, '#' | '/' | '.' | ',' | '-' | '_')) {
        return false;
    }
    if before.trim_end().chars().next_back().is_some_and(|c| matches!(c, '$' | '€' | '£' | '¥' | '₹')) {
        return false;
    }
    let groups: Vec<&str> = candidate.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let digits: usize = lengths.iter().sum();
    if !(7..=15).contains(&digits) {
        return false;
    }
    let separators: Vec<char> = candidate.chars().filter(|c| matches!(c, ' ' | '.' | '-')).collect();
    let one_separator = separators.windows(2).all(|w| w[0] == w[1]);
    // 1 299 000 / 1.299.000: an amount.
    if one_separator && lengths.len() >= 3 && lengths[0] <= 3 && lengths[1..].iter().all(|&n| n == 3) {
        return false;
    }
    // 01.05.2024, 2024-05-01: a date.
    let date = matches!(lengths.as_slice(), [1 | 2, 1 | 2, 2 | 4] | [4, 2, 2]);
    if date && one_separator {
        return false;
    }
    if candidate.starts_with('+') {
        return digits >= 8;
    }
    if let Some(rest) = candidate.strip_prefix("00") {
        return rest.starts_with(|c: char| c.is_ascii_digit() && c != '0') && digits >= 9;
    }
    if lengths.len() < 2 {
        return false;
    }
    candidate.starts_with('0')
        || candidate.starts_with('(')
        || matches!(lengths.as_slice(), [3, 3, 4] | [1, 3, 3, 4] | [3, 4])
}

/// The text with e-mail addresses and phone numbers replaced (borrowed when there is none).
pub fn redact(text: &str) -> Cow<'_, str> {
    let emails = email_re().replace_all(text, EMAIL);
    let replaced = phone_candidate_re().replace_all(&emails, |caps: &Captures<'_>| {
        let whole = caps.get(0).map_or("", |m| m.as_str());
        let start = caps.get(0).map_or(0, |m| m.start());
        if is_phone(whole, &emails[..start]) {
            PHONE.to_owned()
        } else {
            whole.to_owned()
        }
    });
    if matches!((&emails, &replaced), (Cow::Borrowed(_), Cow::Borrowed(_))) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(replaced.into_owned())
}

/// Redacts a mention's text in place; returns whether anything changed.
pub fn redact_mention(mention: &mut earshot_proto::v1::Mention) -> bool {
    match redact(&mention.text) {
        Cow::Borrowed(_) => false,
        Cow::Owned(text) => {
            mention.text = text;
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_redacted() {
        assert_eq!(redact("mail jane.doe+cs@example.co.uk now"), "mail [email] now");
        assert_eq!(redact("Write to SUPPORT@Acme-Corp.com."), "Write to [email].");
        assert_eq!(redact("two: a@b.io, c_d@mail.example.org"), "two: [email], [email]");
        // Handles and bare domains are not e-mail addresses.
        assert_eq!(redact("thanks @acme, see acme.com"), "thanks @acme, see acme.com");
        assert_eq!(redact("user@localhost is not routable"), "user@localhost is not routable");
    }

    #[test]
    fn international_and_national_phone_numbers_are_redacted() {
        for (text, expected) in [
            ("call +44 20 7946 0958 today", "call [phone] today"),
            ("US: +1 (202) 555-0143", "US: [phone]"),
            ("+1-202-555-0143", "[phone]"),
            ("Berlin +49 30 1234567", "Berlin [phone]"),
            ("0049 30 1234567", "[phone]"),
            ("Paris 01.23.45.67.89", "Paris [phone]"),
            ("+33 1 23 45 67 89", "[phone]"),
            ("mobile 07700 900123", "mobile [phone]"),
            ("London 020 7946 0958", "London [phone]"),
            ("(555) 123-4567 or 555.123.4567", "[phone] or [phone]"),
            ("ring 555-123-4567!", "ring [phone]!"),
            ("India +91 98765 43210", "India [phone]"),
            ("Tokyo +81 3-1234-5678", "Tokyo [phone]"),
        ] {
            assert_eq!(redact(text), expected, "{text}");
        }
    }

    #[test]
    fn dates_prices_amounts_and_order_numbers_are_kept() {
        for text in [
            "delivered 2024-05-01, ordered 01.05.2024 and 05/01/2024",
            "only $1,299.99 or €1.299,00",
            "price: € 1 299 000",
            "raised 1.299.000 last year",
            "order #123456789 and order 123456789",
            "ticket 2024-123456",
            "ISBN 978-3-16-148410-0",
            "server 192.168.100.200 is down",
            "card 4111 1111 1111 1111",
            "version 1.2.3 at 10:30-12:00",
            "SKU AB12345678",
        ] {
            assert_eq!(redact(text), text, "{text}");
        }
        assert!(matches!(redact("nothing to see"), Cow::Borrowed(_)));
    }
}

//! Turning a mention into a Tantivy document, and a stored document back into a mention.

use earshot_proto::v1::{EngagementType, Mention, Sentiment, SourceNetwork};
use prost::Message;
use tantivy::schema::Value;
use tantivy::{DateTime, TantivyDocument};

use crate::noise::NearDuplicates;
use crate::schema::Fields;

/// Separates tenant and id in the unique key; it cannot appear in a valid tenant name.
pub const KEY_SEPARATOR: char = '\u{1f}';

/// The unique key of a mention: tenant and id.
pub fn mention_key(tenant: &str, id: &str) -> String {
    let mut key = String::with_capacity(tenant.len() + id.len() + 1);
    key.push_str(tenant);
    key.push(KEY_SEPARATOR);
    key.push_str(id);
    key
}

/// A 128-bit hash of a key, for compact in-memory dedupe sets.
pub fn key_hash(key: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(key.as_bytes())
}

/// Lower-case name of a source network as indexed (`twitter`).
pub fn source_name(source: SourceNetwork) -> &'static str {
    match source {
        SourceNetwork::Unspecified => "unknown",
        SourceNetwork::Twitter => "twitter",
        SourceNetwork::Reddit => "reddit",
        SourceNetwork::Mastodon => "mastodon",
        SourceNetwork::Bluesky => "bluesky",
        SourceNetwork::Facebook => "facebook",
        SourceNetwork::Instagram => "instagram",
        SourceNetwork::Youtube => "youtube",
        SourceNetwork::Tiktok => "tiktok",
        SourceNetwork::News => "news",
        SourceNetwork::Blog => "blog",
        SourceNetwork::Forum => "forum",
        SourceNetwork::Review => "review",
        SourceNetwork::Other => "other",
    }
}

/// Lower-case name of an engagement type as indexed (`reply`).
pub fn engagement_name(kind: EngagementType) -> &'static str {
    match kind {
        EngagementType::Unspecified => "unknown",
        EngagementType::Post => "post",
        EngagementType::Reply => "reply",
        EngagementType::Repost => "repost",
        EngagementType::Quote => "quote",
        EngagementType::Comment => "comment",
        EngagementType::Review => "review",
    }
}

/// Lower-case name of a sentiment label as indexed (`negative`).
pub fn sentiment_name(label: Sentiment) -> &'static str {
    match label {
        Sentiment::Unspecified => "unclassified",
        Sentiment::Negative => "negative",
        Sentiment::Neutral => "neutral",
        Sentiment::Positive => "positive",
    }
}

fn to_date(ts: Option<&prost_types::Timestamp>) -> DateTime {
    DateTime::from_timestamp_secs(ts.map_or(0, |t| t.seconds))
}

/// Builds the Tantivy document of a validated mention whose tenant is set, not flagged as a near-duplicate.
pub fn to_document(fields: &Fields, mention: &Mention, model_version: &str) -> TantivyDocument {
    to_document_flagged(fields, mention, model_version, false)
}

/// Builds the Tantivy document of a validated mention, with its near-duplicate flag (the indexing thread
/// decides it, see [`crate::noise::NearDuplicates`]).
pub fn to_document_flagged(
    fields: &Fields,
    mention: &Mention,
    model_version: &str,
    near_duplicate: bool,
) -> TantivyDocument {
    prepare(fields, mention, model_version).finish(fields, near_duplicate)
}

/// A mention's document without its near-duplicate flag: everything that depends on the mention alone,
/// so that it can be built off the indexing thread, which decides the flag against the mentions before.
pub struct Prepared {
    doc: TantivyDocument,
    /// The SimHash of the text, which the near-duplicate decision needs.
    pub simhash: Option<u64>,
}

impl Prepared {
    /// Whether `seen` holds a near-identical text of the mention's tenant from an earlier mention; records
    /// this one. Called in mention order, by the indexing thread and by a rebuild alike.
    pub fn is_near_duplicate(&self, mention: &Mention, seen: &mut NearDuplicates) -> bool {
        self.simhash.is_some_and(|hash| {
            let key = key_hash(&mention_key(&mention.tenant, &mention.id)) as u64;
            seen.check(&mention.tenant, key, hash)
        })
    }

    /// The document, with its near-duplicate flag.
    pub fn finish(mut self, fields: &Fields, near_duplicate: bool) -> TantivyDocument {
        self.doc.add_bool(fields.near_duplicate, near_duplicate);
        self.doc
    }
}

/// Builds everything of a validated mention's document but its near-duplicate flag.
pub fn prepare(fields: &Fields, mention: &Mention, model_version: &str) -> Prepared {
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.key, mention_key(&mention.tenant, &mention.id));
    doc.add_text(fields.tenant, &mention.tenant);
    doc.add_text(fields.id, &mention.id);
    doc.add_text(fields.source, source_name(mention.source()));
    if !mention.url.is_empty() {
        doc.add_text(fields.url, &mention.url);
    }
    if let Some(author) = &mention.author {
        if !author.id.is_empty() {
            doc.add_text(fields.author_id, &author.id);
        }
        if !author.handle.is_empty() {
            doc.add_text(fields.author_handle, author.handle.trim_start_matches('@'));
        }
        if !author.display_name.is_empty() {
            doc.add_text(fields.author_name, &author.display_name);
        }
        doc.add_u64(fields.author_followers, author.followers);
        doc.add_bool(fields.author_verified, author.verified);
    } else {
        doc.add_u64(fields.author_followers, 0);
        doc.add_bool(fields.author_verified, false);
    }
    doc.add_text(fields.text, &mention.text);
    doc.add_text(fields.text_cs, &mention.text);
    if !mention.language.is_empty() {
        doc.add_text(fields.language, mention.language.to_ascii_lowercase());
    }
    if !mention.country.is_empty() {
        doc.add_text(fields.country, mention.country.to_ascii_uppercase());
    }
    doc.add_date(fields.created_at, to_date(mention.created_at.as_ref()));
    doc.add_text(fields.engagement_type, engagement_name(mention.engagement_type()));
    if !mention.parent_id.is_empty() {
        doc.add_text(fields.parent_id, &mention.parent_id);
    }
    if !mention.root_id.is_empty() {
        doc.add_text(fields.root_id, &mention.root_id);
    }
    let counts = mention.counts.unwrap_or_default();
    doc.add_u64(fields.likes, counts.likes);
    doc.add_u64(fields.shares, counts.shares);
    doc.add_u64(fields.replies, counts.replies);
    for tag in &mention.tags {
        doc.add_text(fields.tags, tag);
    }
    doc.add_f64(fields.rating, f64::from(mention.rating));
    doc.add_text(fields.sentiment, sentiment_name(mention.sentiment()));
    doc.add_f64(fields.sentiment_score, f64::from(mention.sentiment_score));
    doc.add_text(fields.model_version, model_version);
    doc.add_date(fields.ingested_at, to_date(mention.ingested_at.as_ref()));
    doc.add_bytes(fields.raw, &mention.encode_to_vec());
    let features = crate::noise::features(mention);
    for term in features.terms {
        doc.add_text(fields.terms, term);
    }
    doc.add_u64(fields.simhash, features.simhash.unwrap_or(0));
    doc.add_bool(fields.spam, features.spam);
    Prepared { doc, simhash: features.simhash }
}

/// Decodes the mention stored in a document.
pub fn from_document(fields: &Fields, doc: &TantivyDocument) -> Option<Mention> {
    let raw = doc.get_first(fields.raw)?.as_bytes()?;
    Mention::decode(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_proto::v1::Author;

    #[test]
    fn document_round_trips_the_mention() {
        let (_, fields) = crate::schema::build_schema();
        let mention = Mention {
            id: "42".into(),
            tenant: "acme".into(),
            text: "Hello #world".into(),
            author: Some(Author { handle: "@Bob".into(), followers: 7, ..Default::default() }),
            tags: vec!["a".into()],
            ..Default::default()
        };
        let doc = to_document(&fields, &mention, "");
        assert_eq!(from_document(&fields, &doc), Some(mention));
        let handle = doc.get_first(fields.author_handle).and_then(|v| v.as_str().map(str::to_owned));
        assert_eq!(handle.as_deref(), Some("Bob"));
    }

    #[test]
    fn keys_of_different_tenants_differ() {
        assert_ne!(key_hash(&mention_key("a", "b1")), key_hash(&mention_key("ab", "1")));
    }
}

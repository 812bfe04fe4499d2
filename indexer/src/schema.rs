//! The Tantivy schema of a mention and the tokenizers it needs.
//!
//! Every field insights aggregate on is a fast field. The mention itself is stored once, as its protobuf
//! encoding in `raw`, so that a hit decodes back to exactly what was ingested.

use tantivy::schema::{
    DateOptions, DateTimePrecision, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
    FAST, INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, TextAnalyzer, TokenizerManager};

use crate::tokenizer::{Case, SocialTokenizer, UrlTokenizer};

/// Version of what is computed from a mention's text at indexing time: segmentation and analysis
/// ([`crate::tokenizer`]), terms and SimHash ([`crate::noise`], [`crate::stopwords`]). It is part of
/// the text analyzers' names, which an index keeps in its schema, so an index built with another
/// version is rebuilt from its stored mentions on open ([`crate::migrate`]). Bump it, and the names
/// below, whenever any of these changes.
///
/// - 1: the first analyzers (names without a version).
/// - 2: French/Italian elisions dropped, German transcription as primary, NLTK stopwords per language.
pub const ANALYSIS_VERSION: u32 = 2;

/// Name of the analyzer for free text (mention text, author names): see [`crate::tokenizer`].
pub const SOCIAL_TOKENIZER: &str = "earshot_social_v2";
/// Name of the case-preserving analyzer of `text_cs` (for `{BT}` case-sensitive matches).
pub const SOCIAL_CS_TOKENIZER: &str = "earshot_social_cs_v2";
/// Name of the analyzer of urls: host, its suffixes and labels at position 0, then path words.
pub const URL_TOKENIZER: &str = "earshot_url_v2";
/// Name of the analyzer for keyword fields we match case-insensitively (handles, tags).
pub const KEYWORD_LOWER_TOKENIZER: &str = "earshot_keyword_lower";

/// Handles to every field of the schema.
#[derive(Clone, Debug)]
pub struct Fields {
    /// `tenant \x1f id`: unique key, used to rebuild the dedupe set on start.
    pub key: Field,
    /// Owning tenant; every query is filtered on it.
    pub tenant: Field,
    /// The mention id within its tenant.
    pub id: Field,
    /// Source network, lower case (`twitter`).
    pub source: Field,
    /// The url: host, host suffixes and labels at position 0, then path words (see [`URL_TOKENIZER`]).
    pub url: Field,
    /// Author id on the source network.
    pub author_id: Field,
    /// Author handle, lower case, without `@`.
    pub author_handle: Field,
    /// Author display name, tokenized.
    pub author_name: Field,
    /// Follower count (reach).
    pub author_followers: Field,
    /// Whether the author is verified.
    pub author_verified: Field,
    /// The mention text, lower-cased, with positions for phrase and proximity queries.
    pub text: Field,
    /// The mention text again, case kept, with positions; token positions line up with `text`'s.
    pub text_cs: Field,
    /// ISO 639-1 language code, lower case.
    pub language: Field,
    /// ISO 3166-1 alpha-2 country code, upper case.
    pub country: Field,
    /// Publication time, second precision.
    pub created_at: Field,
    /// `post`, `reply`, `repost`, `quote`, `comment` or `review`.
    pub engagement_type: Field,
    /// Id of the mention replied to / reposted / quoted.
    pub parent_id: Field,
    /// Id of the conversation root.
    pub root_id: Field,
    /// Like count.
    pub likes: Field,
    /// Share count.
    pub shares: Field,
    /// Reply count.
    pub replies: Field,
    /// Tags, lower case.
    pub tags: Field,
    /// Review rating; 0 when none.
    pub rating: Field,
    /// `negative`, `neutral`, `positive`, or `unclassified`.
    pub sentiment: Field,
    /// Probability of the sentiment label.
    pub sentiment_score: Field,
    /// Version of the model that set the sentiment; empty when unclassified.
    pub model_version: Field,
    /// Ingest time, second precision.
    pub ingested_at: Field,
    /// The protobuf-encoded mention, stored.
    pub raw: Field,
    /// Distinct words and hashtags of the text without stopwords (see [`crate::noise::terms_of`]),
    /// multi-valued, fast only: what trending terms count.
    pub terms: Field,
    /// SimHash of the text; 0 for texts too short to have one.
    pub simhash: Field,
    /// Whether an earlier mention of the tenant has a near-identical text.
    pub near_duplicate: Field,
    /// The simple spam/bot flag (see [`crate::noise::is_spam`]).
    pub spam: Field,
}

/// A field every index built by this version has; an index without it predates insights and is rebuilt
/// from its stored mentions on open (see [`crate::migrate`]).
pub const NEWEST_FIELD: &str = "spam";

/// Whether an index's schema is this version's: it has [`NEWEST_FIELD`] and its `text` field uses
/// this [`ANALYSIS_VERSION`]'s analyzer.
pub fn is_current(schema: &Schema) -> bool {
    let text_analyzer = schema.get_field("text").ok().and_then(|f| match schema.get_field_entry(f).field_type() {
        tantivy::schema::FieldType::Str(options) => options.get_indexing_options().map(|i| i.tokenizer().to_owned()),
        _ => None,
    });
    schema.get_field(NEWEST_FIELD).is_ok() && text_analyzer.as_deref() == Some(SOCIAL_TOKENIZER)
}

fn keyword() -> TextOptions {
    STRING | FAST
}

fn keyword_lower() -> TextOptions {
    TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(KEYWORD_LOWER_TOKENIZER)
                .set_index_option(IndexRecordOption::Basic),
        )
        .set_fast(KEYWORD_LOWER_TOKENIZER)
}

fn free_text(tokenizer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

fn count() -> NumericOptions {
    NumericOptions::default().set_fast().set_indexed()
}

fn date() -> DateOptions {
    DateOptions::default().set_indexed().set_fast().set_precision(DateTimePrecision::Seconds)
}

/// Builds the schema and the handles to its fields.
pub fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        key: b.add_text_field("key", keyword()),
        tenant: b.add_text_field("tenant", keyword()),
        id: b.add_text_field("id", STRING),
        source: b.add_text_field("source", keyword()),
        url: b.add_text_field("url", free_text(URL_TOKENIZER)),
        author_id: b.add_text_field("author_id", keyword()),
        author_handle: b.add_text_field("author_handle", keyword_lower()),
        author_name: b.add_text_field("author_name", free_text(SOCIAL_TOKENIZER)),
        author_followers: b.add_u64_field("author_followers", count()),
        author_verified: b.add_bool_field("author_verified", INDEXED | FAST),
        text: b.add_text_field("text", free_text(SOCIAL_TOKENIZER)),
        text_cs: b.add_text_field("text_cs", free_text(SOCIAL_CS_TOKENIZER)),
        language: b.add_text_field("language", keyword()),
        country: b.add_text_field("country", keyword()),
        created_at: b.add_date_field("created_at", date()),
        engagement_type: b.add_text_field("engagement_type", keyword()),
        parent_id: b.add_text_field("parent_id", STRING),
        root_id: b.add_text_field("root_id", STRING),
        likes: b.add_u64_field("likes", count()),
        shares: b.add_u64_field("shares", count()),
        replies: b.add_u64_field("replies", count()),
        tags: b.add_text_field("tags", keyword_lower()),
        rating: b.add_f64_field("rating", count()),
        sentiment: b.add_text_field("sentiment", keyword()),
        sentiment_score: b.add_f64_field("sentiment_score", FAST),
        model_version: b.add_text_field("model_version", keyword()),
        ingested_at: b.add_date_field("ingested_at", date()),
        raw: b.add_bytes_field("raw", STORED),
        terms: b.add_text_field("terms", TextOptions::default().set_fast("raw")),
        simhash: b.add_u64_field("simhash", NumericOptions::default().set_fast()),
        near_duplicate: b.add_bool_field("near_duplicate", INDEXED | FAST),
        spam: b.add_bool_field("spam", INDEXED | FAST),
    };
    (b.build(), fields)
}

/// Registers earshot's analyzers on an index's tokenizer manager.
pub fn register_tokenizers(manager: &TokenizerManager) {
    manager.register(SOCIAL_TOKENIZER, TextAnalyzer::from(SocialTokenizer::new(Case::Lower)));
    manager.register(SOCIAL_CS_TOKENIZER, TextAnalyzer::from(SocialTokenizer::new(Case::Keep)));
    manager.register(URL_TOKENIZER, TextAnalyzer::from(UrlTokenizer::default()));
    manager.register(
        KEYWORD_LOWER_TOKENIZER,
        TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
            .filter(RemoveLongFilter::limit(200))
            .filter(LowerCaser)
            .build(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyzer_names_carry_the_analysis_version() {
        let suffix = format!("_v{ANALYSIS_VERSION}");
        for name in [SOCIAL_TOKENIZER, SOCIAL_CS_TOKENIZER, URL_TOKENIZER] {
            assert!(name.ends_with(&suffix), "{name} should end with {suffix}");
        }
        assert!(is_current(&build_schema().0));
    }
}

//! Analyzers for social text.
//!
//! Every segment (see [`segment`]) takes one token position. At that position the index holds a
//! *primary* token and its *alternates*:
//!
//! | segment        | primary          | alternates                                        |
//! |----------------|------------------|---------------------------------------------------|
//! | `Café`         | `café`           | `cafe` (accent-folded)                            |
//! | `#Café`        | `#café`          | `#cafe`, `café`, `cafe`                           |
//! | `Müller`       | `mueller`        | `müller`, `muller` (German transcription, folded) |
//! | `Straße`       | `strasse`        | `straße`                                          |
//! | `l'app`        | `app`            | (the elision is dropped, see [`segment`])         |
//! | `@Bob`         | `@bob`           | `bob`                                             |
//! | `www.bbc.co.uk`| `www.bbc.co.uk`  | `bbc.co.uk`, `co.uk`, `uk`, `www`, `bbc`, `co`    |
//! | a url          | its host         | as a domain; the path is not indexed in text      |
//! | `👍🏽`           | `👍🏽`             | `👍` (skin tone removed)                           |
//!
//! A query word is analyzed the same way and looks up its primary only. So `cafe` finds `café` and
//! `cafe`, while `café` finds only `café` (the accent rule); `apple` finds `#apple`, `#apple` only
//! hashtags; `bbc.co.uk` finds `www.bbc.co.uk`. The case-sensitive analyzer (for `{BT}`) is the same
//! without lower-casing, so its positions line up with the lower-cased field's.
//!
//! The German rule sits beside the accent rule: `ä`/`ae`, `ö`/`oe`, `ü`/`ue` and `ß`/`ss` are one
//! letter spelled two ways, so a word with `ä`, `ö`, `ü` or `ß` has its transcription as primary
//! (`Müller` → `mueller`) and either spelling finds both: `Müller` and `Mueller` find `Müller` and
//! `Mueller`, `Straße` and `Strasse` find both. The plain vowel is the accent rule: `Muller` finds
//! `Müller` and `Muller`, but `Müller` does not find `Muller` (a different name in German), and
//! `Muller` does not find `Mueller`. `ue` is never folded back to `u` (`blue`, `queue`).
//!
//! Changing what any analyzer here produces changes what is indexed: bump
//! [`crate::schema::ANALYSIS_VERSION`] so existing indexes are rebuilt (see [`crate::migrate`]).
//!
//! The url analyzer (for the `url` field) puts the host, its suffixes and labels at position 0 and the
//! words of path, query and fragment after it.

pub mod segment;

use tantivy::tokenizer::{AsciiFoldingFilter, RawTokenizer, TextAnalyzer, Token, TokenStream, Tokenizer};
use unicode_normalization::UnicodeNormalization;

pub use segment::{segments, Segment, SegmentKind};

/// Tokens longer than this many bytes are not indexed, and a query word that long is refused.
pub const MAX_TOKEN_BYTES: usize = 100;

/// Whether an analyzer lower-cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Lower-case everything (the `text` field).
    Lower,
    /// Keep case (the `text_cs` field).
    Keep,
}

/// One position of analyzed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analyzed {
    /// Token position (the segment's index: a segment that yields no token still takes its position).
    pub position: usize,
    /// Byte offset of the segment in the text.
    pub start: usize,
    /// Byte offset past the segment.
    pub end: usize,
    /// What the segment is.
    pub kind: SegmentKind,
    /// The token a query for this segment looks up.
    pub primary: String,
    /// Other tokens indexed at the same position.
    pub alternates: Vec<String>,
}

/// Accent folding (`é` → `e`, `ß` → `ss`), reusing Tantivy's ASCII folding table.
#[derive(Clone)]
pub struct Folder(TextAnalyzer);

impl Default for Folder {
    fn default() -> Self {
        Folder(TextAnalyzer::builder(RawTokenizer::default()).filter(AsciiFoldingFilter).build())
    }
}

impl Folder {
    /// The folded form of `s`; combining marks are dropped.
    pub fn fold(&mut self, s: &str) -> String {
        if s.is_ascii() {
            return s.to_owned();
        }
        let mut stream = self.0.token_stream(s);
        let folded = if stream.advance() { stream.token().text.clone() } else { s.to_owned() };
        folded.chars().filter(|c| !segment::is_combining_mark(*c)).collect()
    }
}

/// The German transcription of `s` (`ä` → `ae`, `ö` → `oe`, `ü` → `ue`, `ß` → `ss`, capitals too:
/// `Ü` → `Ue`, or `UE` inside an upper-case word), or `None` when `s` has none of these letters.
/// Expects NFC text (see [`normalize`]).
pub fn transcribe_german(s: &str) -> Option<String> {
    if !s.contains(['ä', 'ö', 'ü', 'ß', 'Ä', 'Ö', 'Ü', 'ẞ']) {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 2);
    let mut prev: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied().filter(|n| n.is_alphabetic());
        // `ÜBER` → `UEBER`, `Über` → `Ueber`, `MÜ` → `MUE`.
        let shout = next.map_or(prev.is_some_and(char::is_uppercase), char::is_uppercase);
        let pair = |upper: &'static str, title: &'static str| if shout { upper } else { title };
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'Ä' => out.push_str(pair("AE", "Ae")),
            'Ö' => out.push_str(pair("OE", "Oe")),
            'Ü' => out.push_str(pair("UE", "Ue")),
            'ẞ' => out.push_str("SS"),
            _ => out.push(c),
        }
        prev = Some(c);
    }
    Some(out)
}

/// NFC composition, then lower-casing unless `case` is [`Case::Keep`].
pub fn normalize(s: &str, case: Case) -> String {
    // Most social text is ASCII, which NFC leaves alone: one allocation instead of two.
    if s.is_ascii() {
        return match case {
            Case::Lower => s.to_ascii_lowercase(),
            Case::Keep => s.to_owned(),
        };
    }
    let composed: String = match unicode_normalization::is_nfc_quick(s.chars()) {
        unicode_normalization::IsNormalized::Yes => s.to_owned(),
        _ => s.nfc().collect(),
    };
    match case {
        Case::Lower => composed.to_lowercase(),
        Case::Keep => composed,
    }
}

fn push_unique(list: &mut Vec<String>, primary: &str, token: String) {
    if token != primary && !token.is_empty() && !list.contains(&token) {
        list.push(token);
    }
}

/// The host of a url-ish string: scheme, user info, port, path, query and fragment removed.
pub fn url_host(url: &str) -> &str {
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url,
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..host_end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    host.split(':').next().unwrap_or(host).trim_end_matches('.')
}

/// Suffixes (`bbc.co.uk`, `co.uk`, `uk`) and labels (`www`, `bbc`, `co`) of a host.
fn host_alternates(host: &str, out: &mut Vec<String>) {
    let mut rest = host;
    while let Some(i) = rest.find('.') {
        rest = &rest[i + 1..];
        push_unique(out, host, rest.to_owned());
    }
    for label in host.split('.') {
        push_unique(out, host, label.to_owned());
    }
}

/// Analyzes one segment of `text`.
fn analyze_segment(text: &str, position: usize, seg: Segment, case: Case, folder: &mut Folder) -> Option<Analyzed> {
    let raw = &text[seg.start..seg.end];
    let mut alternates = Vec::new();
    let primary = match seg.kind {
        SegmentKind::Word | SegmentKind::Hashtag | SegmentKind::Handle => {
            let written = normalize(raw, case);
            // The German rule: the transcription is what a query looks up (see the module docs).
            let transcribed = transcribe_german(&written);
            let primary = transcribed.as_deref().unwrap_or(&written);
            if transcribed.is_some() {
                push_unique(&mut alternates, primary, written.clone());
            }
            // ASCII folds to itself: skipping the fold saves an allocation per word and adds nothing.
            let ascii = written.is_ascii();
            if !ascii {
                push_unique(&mut alternates, primary, folder.fold(&written));
            }
            if let Some(bare) = written.strip_prefix(['#', '@']) {
                if !ascii {
                    push_unique(&mut alternates, primary, folder.fold(bare));
                }
                push_unique(&mut alternates, primary, bare.to_owned());
                if let Some(bare_primary) = primary.strip_prefix(['#', '@']) {
                    push_unique(&mut alternates, primary, bare_primary.to_owned());
                }
            }
            transcribed.unwrap_or(written)
        }
        SegmentKind::Domain | SegmentKind::Url => {
            let host = normalize(url_host(raw), case);
            if host.is_empty() {
                return None;
            }
            host_alternates(&host, &mut alternates);
            push_unique(&mut alternates, &host, folder.fold(&host));
            host
        }
        SegmentKind::Emoji => {
            let primary: String = raw.chars().filter(|c| !segment::is_emoji_presentation(*c)).collect();
            let plain: String = primary.chars().filter(|c| !segment::is_skin_tone(*c)).collect();
            push_unique(&mut alternates, &primary, plain);
            primary
        }
    };
    if primary.len() > MAX_TOKEN_BYTES {
        return None;
    }
    alternates.retain(|a| a.len() <= MAX_TOKEN_BYTES);
    Some(Analyzed { position, start: seg.start, end: seg.end, kind: seg.kind, primary, alternates })
}

/// Analyzes social text: one entry per token position.
pub fn analyze(text: &str, case: Case, folder: &mut Folder) -> Vec<Analyzed> {
    segments(text)
        .into_iter()
        .enumerate()
        .filter_map(|(position, seg)| analyze_segment(text, position, seg, case, folder))
        .collect()
}

/// Analyzes a url for the `url` field: the host (with its suffixes and labels) at position 0, then the
/// words of the rest. A value without a host (no dot before the first `/`) is all words.
pub fn analyze_url(url: &str, folder: &mut Folder) -> Vec<Analyzed> {
    let host = url_host(url);
    let has_host = url.contains("://") || host.contains('.');
    let mut out = Vec::new();
    let rest_start = if has_host && !host.is_empty() {
        let primary = normalize(host, Case::Lower);
        let mut alternates = Vec::new();
        host_alternates(&primary, &mut alternates);
        // `host` is a slice of `url`: its offset is the distance between the two.
        let start = host.as_ptr() as usize - url.as_ptr() as usize;
        let end = start + host.len();
        out.push(Analyzed { position: 0, start, end, kind: SegmentKind::Domain, primary, alternates });
        // Skip a port after the host.
        let after = &url[end..];
        let port = after
            .strip_prefix(':')
            .map_or(0, |p| 1 + p.len() - p.trim_start_matches(|c: char| c.is_ascii_digit()).len());
        end + port
    } else {
        0
    };
    let rest = &url[rest_start..];
    let mut position = out.len();
    for seg in segments(rest) {
        // Inside a url every segment is a plain run of words.
        for word in segments_as_words(rest, seg) {
            position += 1;
            if let Some(mut a) = analyze_segment(rest, position - 1, word, Case::Lower, folder) {
                a.start += rest_start;
                a.end += rest_start;
                out.push(a);
            }
        }
    }
    out
}

/// Splits a segment found inside a url into word segments (a path has no hashtags or domains).
fn segments_as_words(text: &str, seg: Segment) -> Vec<Segment> {
    if seg.kind == SegmentKind::Word || seg.kind == SegmentKind::Emoji {
        return vec![seg];
    }
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text[seg.start..seg.end].char_indices() {
        let at = seg.start + i;
        if c.is_alphanumeric() || segment::is_combining_mark(c) {
            start.get_or_insert(at);
        } else if let Some(s) = start.take() {
            out.push(Segment { kind: SegmentKind::Word, start: s, end: at });
        }
    }
    if let Some(s) = start {
        out.push(Segment { kind: SegmentKind::Word, start: s, end: seg.end });
    }
    out
}

/// A token stream over tokens computed up front.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    index: usize,
    empty: Token,
}

impl VecTokenStream {
    fn new(analyzed: Vec<Analyzed>) -> Self {
        let mut tokens = Vec::with_capacity(analyzed.len() * 2);
        for a in analyzed {
            let token = |text: String| Token {
                offset_from: a.start,
                offset_to: a.end,
                position: a.position,
                text,
                position_length: 1,
            };
            tokens.push(token(a.primary));
            for alternate in a.alternates {
                tokens.push(token(alternate));
            }
        }
        VecTokenStream { tokens, index: 0, empty: Token::default() }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        self.index.checked_sub(1).and_then(|i| self.tokens.get(i)).unwrap_or(&self.empty)
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.index.checked_sub(1) {
            Some(i) if i < self.tokens.len() => &mut self.tokens[i],
            _ => &mut self.empty,
        }
    }
}

/// The Tantivy tokenizer for social text (fields `text`, `text_cs`, `author_name`).
#[derive(Clone)]
pub struct SocialTokenizer {
    case: Case,
    folder: Folder,
}

impl SocialTokenizer {
    /// A tokenizer that lower-cases or keeps case.
    pub fn new(case: Case) -> Self {
        SocialTokenizer { case, folder: Folder::default() }
    }
}

impl Tokenizer for SocialTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream::new(analyze(text, self.case, &mut self.folder))
    }
}

/// The Tantivy tokenizer for the `url` field.
#[derive(Clone, Default)]
pub struct UrlTokenizer {
    folder: Folder,
}

impl Tokenizer for UrlTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream::new(analyze_url(text, &mut self.folder))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn primaries_and_alternates(text: &str, case: Case) -> Vec<(String, Vec<String>)> {
        analyze(text, case, &mut Folder::default()).into_iter().map(|a| (a.primary, a.alternates)).collect()
    }

    #[test]
    fn accents_hashtags_and_handles() {
        let got = primaries_and_alternates("Café #Café @Bob", Case::Lower);
        assert_eq!(got[0], ("café".into(), vec!["cafe".into()]));
        assert_eq!(got[1], ("#café".into(), vec!["#cafe".into(), "cafe".into(), "café".into()]));
        assert_eq!(got[2], ("@bob".into(), vec!["bob".into()]));
        let cs = primaries_and_alternates("Café", Case::Keep);
        assert_eq!(cs[0], ("Café".into(), vec!["Cafe".into()]));
    }

    #[test]
    fn german_transcription_is_the_primary() {
        let got = primaries_and_alternates("Müller Straße #Grüße @Bär", Case::Lower);
        assert_eq!(got[0], ("mueller".into(), vec!["müller".into(), "muller".into()]));
        assert_eq!(got[1], ("strasse".into(), vec!["straße".into()]));
        assert_eq!(
            got[2],
            (
                "#gruesse".into(),
                vec!["#grüße".into(), "#grusse".into(), "grusse".into(), "grüße".into(), "gruesse".into()]
            )
        );
        assert_eq!(
            got[3],
            ("@baer".into(), vec!["@bär".into(), "@bar".into(), "bar".into(), "bär".into(), "baer".into()])
        );
        // Words without those letters are as before.
        assert_eq!(primaries_and_alternates("Mueller", Case::Lower)[0], ("mueller".into(), vec![]));
    }

    #[test]
    fn german_transcription_keeps_case_shape() {
        assert_eq!(transcribe_german("Übel ÜBER MÜ Fuß STRAẞE").as_deref(), Some("Uebel UEBER MUE Fuss STRASSE"));
        assert_eq!(transcribe_german("Cafe"), None);
        let cs = primaries_and_alternates("Müller", Case::Keep);
        assert_eq!(cs[0], ("Mueller".into(), vec!["Müller".into(), "Muller".into()]));
    }

    #[test]
    fn decomposed_accents_compose() {
        let got = primaries_and_alternates("Cafe\u{301}", Case::Lower);
        assert_eq!(got[0], ("café".into(), vec!["cafe".into()]));
    }

    #[test]
    fn domains_urls_and_emoji() {
        let got = primaries_and_alternates("https://WWW.bbc.co.uk/news 👍🏽", Case::Lower);
        assert_eq!(got[0].0, "www.bbc.co.uk");
        assert!(got[0].1.contains(&"bbc.co.uk".to_owned()) && got[0].1.contains(&"bbc".to_owned()));
        assert_eq!(got[1], ("👍🏽".into(), vec!["👍".into()]));
    }

    #[test]
    fn url_field_has_host_then_path_words() {
        let got = analyze_url("https://user@www.Example.com:8080/Shop/Café?q=x", &mut Folder::default());
        let primaries: Vec<&str> = got.iter().map(|a| a.primary.as_str()).collect();
        assert_eq!(primaries, vec!["www.example.com", "shop", "café", "q", "x"]);
        let words = analyze_url("news/world", &mut Folder::default());
        assert_eq!(words.iter().map(|a| a.primary.as_str()).collect::<Vec<_>>(), vec!["news", "world"]);
    }

    #[test]
    fn token_stream_positions_share_alternates() {
        let mut tokenizer = SocialTokenizer::new(Case::Lower);
        let mut stream = tokenizer.token_stream("Café bar");
        let mut seen = Vec::new();
        while stream.advance() {
            seen.push((stream.token().position, stream.token().text.clone()));
        }
        assert_eq!(seen, vec![(0, "café".into()), (0, "cafe".into()), (1, "bar".into())]);
    }
}

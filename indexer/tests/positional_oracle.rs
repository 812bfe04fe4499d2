//! The positional query against a brute-force oracle: random documents over a tiny vocabulary, random
//! `NEAR`, `NEAR/nf`, `"…"~n` and wildcard-phrase queries, and the exact set of matches computed by
//! trying every choice of positions. Documents go into several segments.

use earshot_indexer::query::parse_query;
use earshot_indexer::schema::{build_schema, register_tokenizers};
use earshot_proto::v1::Mention;
use proptest::prelude::*;
use tantivy::collector::DocSetCollector;
use tantivy::{Index, TantivyDocument};

const VOCAB: [&str; 6] = ["ab", "abc", "b", "c", "d", "e"];

/// An operand: an OR-group of words, or a two-word phrase.
#[derive(Debug, Clone)]
enum Operand {
    Words(Vec<usize>),
    Phrase(usize, usize),
}

impl Operand {
    fn text(&self) -> String {
        match self {
            Operand::Words(w) if w.len() == 1 => VOCAB[w[0]].to_owned(),
            Operand::Words(w) => format!("({})", w.iter().map(|&i| VOCAB[i]).collect::<Vec<_>>().join(" OR ")),
            Operand::Phrase(a, b) => format!("\"{} {}\"", VOCAB[*a], VOCAB[*b]),
        }
    }

    /// Inclusive position spans of the operand in a document.
    fn spans(&self, doc: &[usize]) -> Vec<(usize, usize)> {
        match self {
            Operand::Words(w) => (0..doc.len()).filter(|&p| w.contains(&doc[p])).map(|p| (p, p)).collect(),
            Operand::Phrase(a, b) => (0..doc.len().saturating_sub(1))
                .filter(|&p| doc[p] == *a && doc[p + 1] == *b)
                .map(|p| (p, p + 1))
                .collect(),
        }
    }
}

fn near_oracle(doc: &[usize], left: &Operand, right: &Operand, distance: usize, ordered: bool) -> bool {
    let (ls, rs) = (left.spans(doc), right.spans(doc));
    ls.iter().any(|&(a0, a1)| {
        rs.iter().any(|&(b0, b1)| {
            if a1 < b0 {
                b0 - a1 - 1 <= distance
            } else if b1 < a0 {
                !ordered && a0 - b1 - 1 <= distance
            } else {
                false
            }
        })
    })
}

/// Every word at distinct positions, window with at most `distance` other words.
fn within_oracle(doc: &[usize], words: &[usize], distance: usize) -> bool {
    fn pick(doc: &[usize], words: &[usize], used: &mut Vec<usize>, distance: usize) -> bool {
        let Some((&w, rest)) = words.split_first() else {
            let lo = used.iter().min().copied().unwrap_or(0);
            let hi = used.iter().max().copied().unwrap_or(0);
            return hi - lo + 1 - used.len() <= distance;
        };
        for p in 0..doc.len() {
            if doc[p] == w && !used.contains(&p) {
                used.push(p);
                if pick(doc, rest, used, distance) {
                    return true;
                }
                used.pop();
            }
        }
        false
    }
    pick(doc, words, &mut Vec::new(), distance)
}

fn build(docs: &[Vec<usize>]) -> Index {
    let (schema, fields) = build_schema();
    let index = Index::create_in_ram(schema);
    register_tokenizers(index.tokenizers());
    register_tokenizers(index.fast_field_tokenizer());
    let mut writer = index.writer_with_num_threads(1, 15_000_000).expect("writer");
    for (i, doc) in docs.iter().enumerate() {
        let text: Vec<&str> = doc.iter().map(|&w| VOCAB[w]).collect();
        let mention = Mention { id: i.to_string(), tenant: "t".into(), text: text.join(" "), ..Default::default() };
        writer.add_document(earshot_indexer::doc::to_document(&fields, &mention, "")).expect("add");
        if i % 7 == 6 {
            writer.commit().expect("commit");
        }
    }
    writer.commit().expect("commit");
    index
}

fn search(index: &Index, query: &str) -> Vec<usize> {
    let (_, fields) = build_schema();
    let parsed = parse_query(index, &fields, query).unwrap_or_else(|e| panic!("`{query}`: {e:?}"));
    let searcher = index.reader().expect("reader").searcher();
    let found = searcher.search(&parsed, &DocSetCollector).expect("search");
    let mut ids: Vec<usize> = found
        .into_iter()
        .map(|address| {
            let doc: TantivyDocument = searcher.doc(address).expect("doc");
            let mention = earshot_indexer::doc::from_document(&fields, &doc).expect("stored mention");
            mention.id.parse().expect("numeric id")
        })
        .collect();
    ids.sort_unstable();
    ids
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        prop::collection::vec(0..VOCAB.len(), 1..3).prop_map(Operand::Words),
        (0..VOCAB.len(), 0..VOCAB.len()).prop_map(|(a, b)| Operand::Phrase(a, b)),
    ]
}

fn docs() -> impl Strategy<Value = Vec<Vec<usize>>> {
    prop::collection::vec(prop::collection::vec(0..VOCAB.len(), 0..12), 1..30)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn near_matches_the_oracle(docs in docs(), left in operand(), right in operand(), distance in 0usize..5, ordered: bool) {
        let index = build(&docs);
        let query = format!("{} NEAR/{distance}{} {}", left.text(), if ordered { "f" } else { "" }, right.text());
        let expected: Vec<usize> =
            (0..docs.len()).filter(|&i| near_oracle(&docs[i], &left, &right, distance, ordered)).collect();
        prop_assert_eq!(search(&index, &query), expected, "{}", query);
    }

    #[test]
    fn proximity_matches_the_oracle(docs in docs(), words in prop::collection::vec(0..VOCAB.len(), 2..4), distance in 0usize..4) {
        let index = build(&docs);
        let text: Vec<&str> = words.iter().map(|&w| VOCAB[w]).collect();
        let query = format!("\"{}\"~{distance}", text.join(" "));
        let expected: Vec<usize> = (0..docs.len()).filter(|&i| within_oracle(&docs[i], &words, distance)).collect();
        prop_assert_eq!(search(&index, &query), expected, "{}", query);
    }

    #[test]
    fn wildcard_phrase_matches_the_oracle(docs in docs(), next in 0..VOCAB.len()) {
        let index = build(&docs);
        // `ab*` is `ab` or `abc`.
        let query = format!("\"ab* {}\"", VOCAB[next]);
        let expected: Vec<usize> = (0..docs.len())
            .filter(|&i| docs[i].windows(2).any(|w| (w[0] == 0 || w[0] == 1) && w[1] == next))
            .collect();
        prop_assert_eq!(search(&index, &query), expected, "{}", query);
    }
}

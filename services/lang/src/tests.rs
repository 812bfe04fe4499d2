//! The identifier on texts written here (the tuning texts in `tests/data/own.jsonl` cover more).

use std::sync::OnceLock;

use super::*;

fn identifier() -> &'static Identifier {
    static ID: OnceLock<Identifier> = OnceLock::new();
    ID.get_or_init(Identifier::new)
}

#[test]
fn sentences_in_each_language() {
    let cases = [
        ("en", "The app has been down since this morning and support is not answering"),
        ("de", "Seit heute Morgen geht die App nicht mehr und der Support antwortet nicht"),
        ("fr", "L'application ne marche plus depuis ce matin et le support ne répond pas"),
        ("it", "L'app non funziona da stamattina e l'assistenza non risponde"),
        ("es", "La aplicación no funciona desde esta mañana y el soporte no contesta"),
    ];
    for (lang, text) in cases {
        let got = identifier().detect(text);
        assert_eq!(got.code, lang, "{text}");
        assert!(got.is_determined() && got.confidence > 0.5, "{got:?}");
    }
}

#[test]
fn too_few_letters_is_undetermined() {
    for text in ["", "ok", "😂😂😂", "@acme #fail https://acme.com/status 42", "+1"] {
        let got = identifier().detect(text);
        assert_eq!(got, Detected { code: UNDETERMINED, confidence: 0.0 }, "{text:?}");
    }
}

#[test]
fn furniture_does_not_decide() {
    // English handles, tags and links around a German sentence.
    let got = identifier().detect("@AcmeSupport seit gestern kein Netz mehr #fail https://status.acme.com/outage");
    assert_eq!(got.code, "de");
}

#[test]
fn an_even_split_is_undetermined() {
    let strict = Identifier::with_rules(Rules { min_letters: 1, min_margin: 1.0 });
    // A margin of 1 is only met by lingua's rule-based certainties (letters unique to one language).
    assert_eq!(strict.detect("the weather is nice today").code, UNDETERMINED);
    assert_eq!(strict.detect("Straße").code, "de");
}

#[test]
fn many_keeps_order() {
    let texts = ["merci beaucoup pour votre aide", "ok", "grazie mille per l'aiuto"];
    let codes: Vec<&str> = identifier().detect_many(&texts).iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["fr", UNDETERMINED, "it"]);
}

#[test]
fn identifier_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Identifier>();
}

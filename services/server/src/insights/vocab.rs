//! The incident signal's default problem vocabulary, per language: what customers write when a service
//! fails, as words and as the phrases they use ("geht nicht", "non funziona", "ne marche pas",
//! "no funciona"). A request's own `problem_terms` replace them.
//!
//! The default is the union of every language's list: a mention matches the words of its own language
//! (the lists barely overlap, and where they do — "down", "offline", "login" — the word means the
//! same), so one query serves a mixed-language corpus without knowing each mention's language.

/// A tenant's own problem terms (from its settings), if it has any.
pub type TenantProblemTerms = std::sync::Arc<dyn Fn(&str) -> Option<Vec<String>> + Send + Sync>;

/// Problem words and phrases by ISO 639-1 code.
pub const PROBLEM_TERMS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "outage",
            "down",
            "login",
            "log in",
            "error",
            "slow",
            "crash",
            "crashed",
            "crashing",
            "broken",
            "not working",
            "doesn't work",
            "can't connect",
            "timeout",
            "502",
            "503",
            "unavailable",
            "offline",
        ],
    ),
    (
        "de",
        &[
            "störung",
            "ausfall",
            "ausgefallen",
            "fällt aus",
            "geht nicht",
            "funktioniert nicht",
            "kein netz",
            "kein internet",
            "keine verbindung",
            "fehler",
            "fehlermeldung",
            "absturz",
            "abgestürzt",
            "stürzt ab",
            "nicht erreichbar",
            "langsam",
            "anmeldung",
            "einloggen",
        ],
    ),
    (
        "it",
        &[
            "disservizio",
            "guasto",
            "non funziona",
            "non va",
            "non si apre",
            "non carica",
            "errore",
            "bloccato",
            "lento",
            "irraggiungibile",
            "non riesco ad accedere",
            "accesso",
            "senza linea",
            "senza connessione",
        ],
    ),
    (
        "fr",
        &[
            "panne",
            "ne marche pas",
            "ne fonctionne pas",
            "marche pas",
            "erreur",
            "bug",
            "bloqué",
            "lent",
            "plantage",
            "plante",
            "inaccessible",
            "hors service",
            "connexion impossible",
            "pas de réseau",
        ],
    ),
    (
        "es",
        &[
            "caída",
            "caído",
            "no funciona",
            "no va",
            "no carga",
            "error",
            "fallo",
            "falla",
            "lento",
            "bloqueado",
            "sin servicio",
            "sin conexión",
            "no puedo entrar",
            "no me deja entrar",
            "se cae",
            "inaccesible",
        ],
    ),
];

/// Every language's problem terms, each once, in list order.
pub fn default_problem_terms() -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for (_, words) in PROBLEM_TERMS {
        for w in *words {
            if !terms.iter().any(|t| t == w) {
                terms.push((*w).to_owned());
            }
        }
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_words_and_phrases_and_the_union_fits_a_request() {
        for (lang, words) in PROBLEM_TERMS {
            assert!(words.len() >= 10, "{lang}");
            assert!(words.iter().any(|w| w.contains(' ')), "{lang} has phrases");
            assert!(words.iter().all(|w| !w.contains('"') && w.len() <= 100), "{lang}");
        }
        let all = default_problem_terms();
        assert!(all.len() <= 100, "a request may name at most 100 terms: {}", all.len());
        assert!(all.contains(&"geht nicht".to_owned()) && all.contains(&"no funciona".to_owned()));
        assert_eq!(all.iter().filter(|t| t.as_str() == "error").count(), 1);
    }
}

//! Five languages end to end through the real binary: a mixed corpus imported with no language field
//! gets its languages at ingest (`language:de` finds the German posts), a German-only period trends no
//! German function words, a planted German outage fires the incident signal explained by German problem
//! words, `app` finds "l'app", and the sentiment summary splits by language.

use earshot_proto::v1::insights_service_client::InsightsServiceClient;
use earshot_proto::v1::{
    CountRequest, IncidentSignalRequest, IngestRequest, InsightScope, Mention, SearchRequest, SentimentSummaryRequest,
    SpikeSettings, TrendingTermsRequest,
};
use earshot_tests::{all_ids, ingest_retrying, now_secs, Sandbox};

const DAY: i64 = 86_400;

/// Everyday posts per language, none with a problem word.
const EVERYDAY: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "Just ordered the new headphones from the online shop, delivery is expected on Friday",
            "Does anyone know whether the store in the city centre opens on Sunday morning",
            "The customer magazine this month has a long article about the new stores",
            "My sister recommended their savings account and the branch staff were friendly",
        ],
    ),
    (
        "de",
        &[
            "Habe gerade die neuen Kopfhörer im Onlineshop bestellt, die Lieferung kommt am Freitag",
            "Weiß jemand, ob die Filiale in der Innenstadt am Sonntag geöffnet hat",
            "Im Kundenmagazin steht diesen Monat ein langer Artikel über die neuen Läden",
            "Meine Schwester hat mir das Sparkonto empfohlen und die Beratung war freundlich",
        ],
    ),
    (
        "it",
        &[
            "Ho appena ordinato le nuove cuffie dal negozio online, la consegna è prevista per venerdì",
            "Qualcuno sa se il negozio in centro è aperto domenica mattina",
            "La rivista dei clienti di questo mese ha un lungo articolo sui nuovi negozi",
            "Mia sorella mi ha consigliato il conto deposito e il personale della filiale era gentile",
        ],
    ),
    (
        "fr",
        &[
            "Je viens de commander les nouveaux écouteurs sur la boutique en ligne, livraison prévue vendredi",
            "Quelqu'un sait si le magasin du centre-ville est ouvert dimanche matin",
            "Le magazine client de ce mois contient un long article sur les nouvelles boutiques",
            "Ma sœur m'a conseillé le livret d'épargne et le conseiller de l'agence était aimable",
        ],
    ),
    (
        "es",
        &[
            "Acabo de pedir los nuevos auriculares en la tienda online, la entrega está prevista para el viernes",
            "Alguien sabe si la tienda del centro abre el domingo por la mañana",
            "La revista de clientes de este mes trae un artículo largo sobre las nuevas tiendas",
            "Mi hermana me recomendó la cuenta de ahorro y el personal de la sucursal fue muy amable",
        ],
    ),
];

/// What German customers write when the service fails.
const GERMAN_OUTAGE: &[&str] = &[
    "Seit heute Morgen Störung bei Telvia, das Internet geht nicht mehr",
    "Totalausfall in ganz Köln, bei mir geht nicht mal das Telefon, was ist da los",
    "Schon wieder eine Störung, der Router blinkt rot und das Netz ist komplett weg",
    "Die App funktioniert nicht, Anmeldung schlägt immer fehl, seit einer Stunde Störung",
    "Ausfall im Mobilfunknetz, keine Verbindung mehr seit dem Mittag, bitte dringend beheben",
];

fn post(id: String, text: &str, secs: i64) -> Mention {
    Mention {
        id,
        text: text.into(),
        created_at: Some(prost_types::Timestamp { seconds: secs, nanos: 0 }),
        ..Default::default()
    }
}

fn scope(query: &str, from: i64, to: i64) -> Option<InsightScope> {
    let at = |s: i64| Some(prost_types::Timestamp { seconds: s, nanos: 0 });
    Some(InsightScope { query: query.into(), from: at(from), to: at(to), ..Default::default() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_corpus_without_languages_works_in_all_five() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Sandbox::start_in(dir.path(), &["--no-classifier"]).await;
    let start = (now_secs() / DAY - 9) * DAY;
    let mut mentions = Vec::new();
    let mut german = Vec::new();
    // A week of everyday posts: each language every day, a few hours apart.
    for day in 0..8 {
        for (l, (lang, texts)) in EVERYDAY.iter().enumerate() {
            for (k, text) in texts.iter().enumerate() {
                let id = format!("{lang}-{day}-{k}");
                if *lang == "de" {
                    german.push(id.clone());
                }
                mentions.push(post(id, text, start + day * DAY + 3600 * (2 + 4 * k as i64) + 60 * l as i64));
            }
        }
    }
    // Then, on day 8 between 10:00 and 11:00, thirty German outage posts.
    let burst = start + 8 * DAY + 10 * 3600;
    for i in 0..30 {
        let id = format!("de-outage-{i}");
        german.push(id.clone());
        mentions.push(post(id, GERMAN_OUTAGE[i % GERMAN_OUTAGE.len()], burst + 100 * i as i64));
    }
    mentions.push(post(
        "fr-app".into(),
        "Impossible d'ouvrir l'app depuis la mise à jour d'hier soir",
        start + 3 * DAY,
    ));
    let mut ingest = server.ingest().await;
    ingest_retrying(&mut ingest, IngestRequest { mentions, wait_searchable: true }).await;

    // Every German post, and nothing else, is `language:de`.
    let mut search = server.search().await;
    let mut found = all_ids(&mut search, "language:de").await;
    found.sort();
    german.sort();
    assert_eq!(found, german);
    for lang in ["en", "it", "fr", "es"] {
        let count = search.count(CountRequest { query: format!("language:{lang}"), ..Default::default() }).await;
        assert_eq!(count.expect("count").into_inner().count, if lang == "fr" { 33 } else { 32 }, "{lang}");
    }

    // `app` finds "l'app".
    let hits = search.search(SearchRequest { query: "app AND ouvrir".into(), ..Default::default() }).await;
    assert_eq!(hits.expect("search").into_inner().total, 1);

    // A German-only window trends German words, never German function words.
    let mut insights = InsightsServiceClient::new(server.channel().await);
    let req = TrendingTermsRequest {
        scope: scope("language:de", burst, burst + 3600),
        background_from: Some(prost_types::Timestamp { seconds: start, nanos: 0 }),
        background_to: Some(prost_types::Timestamp { seconds: burst, nanos: 0 }),
        ..Default::default()
    };
    let terms = insights.trending_terms(req).await.expect("terms").into_inner();
    let words: Vec<&str> = terms.significant.iter().map(|t| t.term.as_str()).collect();
    assert!(!words.is_empty(), "the burst has significant terms");
    for stop in ["die", "der", "das", "und", "ist", "bei", "seit", "mit", "nicht", "ein", "eine", "mehr", "was"] {
        assert!(!words.contains(&stop), "German function word {stop:?} trends: {words:?}");
    }

    // The incident signal's default vocabulary covers German; the incident is explained in German.
    let settings = SpikeSettings { bucket_seconds: 3600, baseline_days: 7, min_count: 5, ..Default::default() };
    let req = IncidentSignalRequest {
        scope: scope("", start, start + 9 * DAY),
        settings: Some(settings),
        ..Default::default()
    };
    let signal = insights.incident_signal(req).await.expect("incident signal").into_inner();
    let incident =
        signal.incidents.iter().find(|s| s.peak.is_some_and(|p| p.seconds == burst)).expect("the burst fires");
    let explained: Vec<&str> = incident.top_terms.iter().map(|t| t.term.as_str()).collect();
    let german_problem = ["störung", "stoerung", "ausfall", "totalausfall", "geht", "funktioniert", "verbindung"];
    assert!(explained.iter().any(|t| german_problem.contains(t)), "explained by German problem words: {explained:?}");

    // Sentiment and share per language.
    let summary = insights
        .sentiment_summary(SentimentSummaryRequest { scope: scope("", start, start + 9 * DAY) })
        .await
        .expect("summary")
        .into_inner();
    let de = summary.by_language.iter().find(|l| l.language == "de").expect("German row");
    assert_eq!(de.stats.as_ref().map(|s| s.unclassified), Some(german.len() as u64));
    let shares: f64 = summary.by_language.iter().map(|l| l.share).sum();
    assert!((shares - 1.0).abs() < 1e-9, "{shares}");
    assert!(server.stop().await);
}

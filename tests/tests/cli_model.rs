//! The model commands scripts call without a server: `earshot classify` (JSON lines in, JSON lines out)
//! and `earshot eval` (accuracy beside VADER), run as the real binary on the shipped weights.

use std::io::Write;
use std::process::{Command, Stdio};

use earshot_tests::{checkout_weights, earshot_bin};
use serde_json::Value;

fn earshot(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(earshot_bin())
        .args(args)
        .env("EARSHOT_MODEL_DIR", std::env::var_os("EARSHOT_MODEL_DIR").unwrap_or_else(|| checkout_weights().into()))
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run earshot");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[test]
fn classify_reads_json_lines_and_writes_one_answer_per_line() {
    let input = concat!(
        r#"{"id": 1, "text": "Worst customer service ever. Two hours on hold and still no refund."}"#,
        "\n",
        r#"{"id": "b", "text": "Absolutely fantastic support team, they fixed it in minutes. Thank you!"}"#,
        "\n\n",
        r#"{"id": "c", "text": "the new update 👎"}"#,
        "\n",
    );
    let output = earshot(&["classify"], input);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect();
    assert_eq!(lines.len(), 3, "one answer per input text, blank lines skipped");
    let ids: Vec<&Value> = lines.iter().map(|l| &l["id"]).collect();
    assert_eq!(ids, [&Value::from(1), &Value::from("b"), &Value::from("c")], "ids come back as given, in order");
    let labels: Vec<&str> = lines.iter().map(|l| l["label"].as_str().expect("label")).collect();
    assert_eq!(labels, ["negative", "positive", "negative"]);
    for line in &lines {
        let scores = line["scores"].as_object().expect("scores");
        let sum: f64 = ["negative", "neutral", "positive"].iter().map(|k| scores[*k].as_f64().expect("score")).sum();
        assert!((sum - 1.0).abs() < 1e-4, "{line}");
        let label = line["label"].as_str().expect("label");
        assert_eq!(line["score"].as_f64(), scores[label].as_f64(), "score is the label's probability");
    }
}

/// Posts with clear sentiment in every served language, classified through the real binary. None of them is in
/// the recipe's training, validation or held-out data.
const MULTILINGUAL: [(&str, &str); 12] = [
    ("Der Kundenservice ist eine Frechheit: seit drei Wochen keine Antwort und das Geld ist immer noch weg. Nie wieder!", "negative"),
    ("Vielen Dank an das Team, die Reparatur ging super schnell und alles funktioniert wieder perfekt 👍", "positive"),
    ("Servizio pessimo, il pacco è arrivato rotto e nessuno risponde alle email. Che vergogna!", "negative"),
    ("Personale gentilissimo e consegna velocissima, sono davvero soddisfatta. Grazie mille!", "positive"),
    ("Honteux : trois semaines sans internet et le service client raccroche à chaque appel. Je résilie.", "negative"),
    ("Bravo à toute l'équipe, livraison rapide et produit parfait. Je recommande vivement !", "positive"),
    ("Una vergüenza de atención al cliente, llevo un mes esperando el reembolso y nadie me contesta.", "negative"),
    ("¡Encantada con la compra! Llegó antes de lo previsto y la calidad es excelente. ¡Gracias!", "positive"),
    ("Die Filiale in der Hauptstraße hat ab Montag von 8 bis 18 Uhr geöffnet.", "neutral"),
    ("Il nuovo negozio apre sabato in via Roma alle 10.", "neutral"),
    ("Le magasin sera fermé le 15 août pour inventaire.", "neutral"),
    ("La oficina cambia de dirección a partir del 1 de marzo.", "neutral"),
];

#[test]
fn classify_gets_clear_posts_right_in_every_served_language() {
    let input: String = MULTILINGUAL
        .iter()
        .enumerate()
        .map(|(i, (text, _))| format!("{}\n", serde_json::json!({"id": i, "text": text})))
        .collect();
    let output = earshot(&["classify"], &input);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect();
    assert_eq!(lines.len(), MULTILINGUAL.len());
    for (line, (text, expected)) in lines.iter().zip(MULTILINGUAL) {
        assert_eq!(line["label"].as_str(), Some(expected), "{text:?}: {line}");
    }
}

#[test]
fn classify_reports_unreadable_lines_and_fails() {
    let output = earshot(&["classify"], "{\"id\": 1, \"text\": \"fine\"}\nnot json\n{\"id\": 2}\n");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("<stdin>:2"), "{stderr}");
    assert!(stderr.contains("<stdin>:3"), "{stderr}");
    assert!(stderr.contains("2 input lines could not be read"), "{stderr}");
}

#[test]
fn eval_scores_a_labelled_file_beside_vader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("set.jsonl");
    let rows = [
        ("I love this phone, the battery lasts all day!", "positive"),
        ("Absolutely fantastic support team, they fixed it in minutes. Thank you!", "positive"),
        ("Worst customer service ever. Waited 2 hours and nobody answered.", "negative"),
        ("The refund never came. I want my money back.", "negative"),
        ("The new store opens at 9am on Main Street.", "neutral"),
    ];
    let body: String = rows.iter().map(|(t, l)| format!("{}\n", serde_json::json!({"text": t, "label": l}))).collect();
    std::fs::write(&path, body).expect("write set");
    let output = earshot(&["eval", "--json", path.to_str().expect("utf-8 path")], "");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("earshot-sentiment-"), "{stdout}");
    let report: Value = serde_json::from_str(stdout.lines().last().expect("json line")).expect("json report");
    let set = &report[path.to_str().expect("utf-8 path")];
    let ours = &set["earshot"];
    // The shipped model gets these five unambiguous texts right (they are the model card's reference texts).
    assert_eq!(ours["accuracy"].as_f64(), Some(1.0), "{ours}");
    assert_eq!(ours["confusion"], serde_json::json!([[2, 0, 0], [0, 1, 0], [0, 0, 2]]), "{ours}");
    assert!(set["vader"]["accuracy"].as_f64().is_some_and(|a| (0.0..=1.0).contains(&a)), "{set}");
}

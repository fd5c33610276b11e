//! The trust rules through the real server: every corpus row that pays still pays as the phone sends
//! it, no ignore row pays, and a property: adding a hostile app, title, category or template to a real
//! paying text never makes it pay.

use axum::http::StatusCode;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};
use webqris_server::config::Config;

use crate::support::{CorpusRow, TestMerchant, TestServer, corpus_notifications, with};

/// Totals equal amounts, so that corpus texts with their fixed amounts meet their invoices.
fn exact_totals(config: &mut Config) {
    config.invoice.unique_code_min = 0;
    config.invoice.unique_code_max = 0;
}

/// A fresh merchant with one pending invoice per amount; returns it and the invoice ids.
async fn merchant_expecting(
    server: &TestServer,
    name: &str,
    amounts: &[i64],
) -> (TestMerchant, Vec<String>) {
    let m = server.merchant(name, None).await;
    let mut invoices = Vec::new();
    for amount in amounts {
        let created = server.create_payment(&m, *amount).await;
        assert_eq!(created["total_amount"], *amount);
        invoices.push(created["invoice_id"].as_str().expect("id").to_owned());
    }
    (m, invoices)
}

fn body(row: &CorpusRow) -> Value {
    json!({"app": row.app, "title": row.title, "message": row.text})
}

#[tokio::test]
async fn every_corpus_row_that_pays_pays_through_the_server_and_no_ignore_row_does() {
    let server = TestServer::start_with(exact_totals).await;
    let rows = corpus_notifications();
    let paid: Vec<_> = rows.iter().filter(|r| r.expect == "paid").collect();
    assert!(paid.len() >= 15, "the corpus has its paying rows");
    for row in &paid {
        let (m, invoices) =
            merchant_expecting(&server, &format!("Toko {}", row.line), &row.amounts).await;
        let (code, answer) = server.notify(&m, &body(row)).await;
        assert_eq!(code, StatusCode::OK, "line {}: {answer}", row.line);
        for invoice in &invoices {
            assert_eq!(
                server.status_of(&m, invoice).await,
                "paid",
                "line {}",
                row.line
            );
            assert_eq!(
                server.payment(&m, invoice).await.payment_method.as_deref(),
                Some(row.app.as_str())
            );
        }
    }
    // The amounts the ignore rows mention, each a pending total: none of them may be paid.
    let (m, invoices) = merchant_expecting(
        &server,
        "Toko ignore",
        &[500_000, 10_000, 15_000, 100_000, 1_000, 20_000, 50_000],
    )
    .await;
    for row in rows.iter().filter(|r| r.expect == "ignore") {
        let (code, answer) = server.notify(&m, &body(row)).await;
        assert_eq!(
            code,
            StatusCode::UNPROCESSABLE_ENTITY,
            "line {}: {answer}",
            row.line
        );
    }
    for invoice in &invoices {
        assert_eq!(server.status_of(&m, invoice).await, "pending");
    }
}

/// What a hostile source changes in a real paying notification.
#[derive(Debug, Clone)]
enum Hostile {
    /// Posted by another app.
    App(String),
    /// With a conversation category.
    Category(&'static str),
    /// With a messaging or call template.
    Template(&'static str),
    /// Under a person's name as title (in-app chat).
    Title(String),
}

fn hostile() -> impl Strategy<Value = Hostile> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "com.whatsapp",
            "org.telegram.messenger",
            "com.android.chrome",
            "com.truecaller",
            "com.google.android.keep",
            "com.google.android.apps.messaging",
            "com.google.android.gm",
            "id.webqris.forwarder",
            "com.android.shell",
            "com.dana",
            "com.gojek.gopay.merchant",
        ])
        .prop_map(|a| Hostile::App(a.to_owned())),
        "[a-z]{3,8}\\.[a-z]{3,8}\\.(app|pay|wallet)".prop_map(Hostile::App),
        prop::sample::select(vec!["msg", "social", "email", "call", "missed_call"])
            .prop_map(Hostile::Category),
        prop::sample::select(vec![
            "android.app.Notification$MessagingStyle",
            "android.app.Notification$CallStyle",
        ])
        .prop_map(Hostile::Template),
        "[A-Z][a-z]{2,8} [A-Z][a-z]{2,8}".prop_map(Hostile::Title),
    ]
}

fn apply(row: &CorpusRow, hostile: &Hostile) -> Value {
    let base = body(row);
    match hostile {
        Hostile::App(app) => with(base, json!({"app": app})),
        Hostile::Category(c) => with(base, json!({"category": c})),
        Hostile::Template(t) => with(base, json!({"template": t})),
        Hostile::Title(t) => with(base, json!({"title": t})),
    }
}

/// Cases of the property below: proptest draws them (a fresh seed each run); the server replays each one
/// in order, and a failure names the case.
const PROPERTY_CASES: usize = 48;

#[tokio::test]
async fn a_hostile_app_title_category_or_template_never_makes_a_real_paying_text_pay() {
    let paid: Vec<CorpusRow> = corpus_notifications()
        .into_iter()
        .filter(|r| r.expect == "paid")
        .collect();
    let strategy = (prop::sample::select(paid), hostile());
    let mut runner = TestRunner::default();
    let cases: Vec<(CorpusRow, Hostile)> = (0..PROPERTY_CASES)
        .map(|_| strategy.new_tree(&mut runner).expect("a case").current())
        .collect();
    let server = TestServer::start_with(exact_totals).await;
    for (case, (row, hostile)) in cases.iter().enumerate() {
        let (m, invoices) =
            merchant_expecting(&server, &format!("Toko {case}"), &row.amounts).await;
        let (code, answer) = server.notify(&m, &apply(row, hostile)).await;
        assert_eq!(
            code,
            StatusCode::UNPROCESSABLE_ENTITY,
            "case {case}: line {} with {hostile:?}: {answer}",
            row.line
        );
        for invoice in &invoices {
            assert_eq!(
                server.status_of(&m, invoice).await,
                "pending",
                "case {case}: line {} with {hostile:?} paid",
                row.line
            );
        }
    }
}

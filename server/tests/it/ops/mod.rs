//! The operators' toolkit against the real server: `/metrics` (what it counts, who may read it, that it
//! never shows a merchant's data), `/readyz`, request ids in answers and log lines, and online backups
//! and restores with the real `webqris` binary.

mod backup;
mod metrics;
mod readiness;
mod request_id;
mod service_unit;

use std::collections::HashMap;

use axum::http::StatusCode;

use crate::support::TestServer;

/// One scrape of `/metrics`: its text, and every sample by its series as written (`name{labels}`).
pub struct Scrape {
    pub text: String,
    samples: HashMap<String, f64>,
}

impl Scrape {
    fn parse(text: String) -> Self {
        let samples = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').expect("`series value` lines");
                let value = value
                    .parse()
                    .unwrap_or_else(|e| panic!("value of {series}: {e}"));
                (series.to_owned(), value)
            })
            .collect();
        Self { text, samples }
    }

    /// The value of `series` (0 when the scrape does not have it: a counter never incremented).
    pub fn get(&self, series: &str) -> f64 {
        self.samples.get(series).copied().unwrap_or(0.0)
    }

    /// Every series name (before the labels) with its label values.
    pub fn label_values(&self) -> impl Iterator<Item = (&str, Vec<&str>)> {
        self.samples.keys().map(|series| {
            let (name, labels) = series.split_once('{').unwrap_or((series, ""));
            let values = labels
                .split("\",")
                .filter_map(|pair| {
                    pair.split_once("=\"")
                        .map(|(_, v)| v.trim_end_matches("\"}"))
                })
                .collect();
            (name, values)
        })
    }
}

/// An operator token, made the way `webqris admin token create` makes it.
pub async fn operator_token(server: &TestServer) -> String {
    webqris_server::merchant::issue_operator_token(&server.db, server.clock.now())
        .await
        .expect("operator token")
        .token
        .expose()
        .to_owned()
}

/// `GET /metrics` with the operator token; fails the test unless it answers 200 in the text format.
pub async fn scrape(server: &TestServer, token: &str) -> Scrape {
    let response = crate::support::within(
        "a scrape",
        server
            .http
            .get(server.url("/metrics"))
            .bearer_auth(token)
            .send(),
    )
    .await
    .expect("the server answers");
    assert_eq!(response.status().as_u16(), StatusCode::OK.as_u16());
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    Scrape::parse(response.text().await.expect("body"))
}

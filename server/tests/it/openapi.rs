//! The OpenAPI document: served as JSON, rendered at `/docs` without anything fetched from elsewhere,
//! describing every route the router serves (and nothing the router does not), and valid according to
//! a real validator (`openapi-spec-validator`, installed by `scripts/setup.d/40-openapi.sh`).

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::TestServer;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Routes the document leaves out on purpose: the dashboard's own API and pages (session + CSRF, the
/// embedded UI's contract with its script; the README describes it) and static assets.
fn left_out(path: &str) -> bool {
    path.starts_with("/dashboard") || path.starts_with("/pay/assets/")
}

/// `/api/payments/{invoice_id}/status` → `/api/payments/{}/status`: parameter names may differ.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read the source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every path given to `.route(…)` in the server's source (test modules excluded). axum cannot list a
/// router's routes, so the source that builds it is read instead.
fn router_paths() -> Vec<String> {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut paths = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("read source");
        let source = source.split("#[cfg(test)]").next().unwrap_or("");
        for call in source.split(".route(").skip(1) {
            let call = call.trim_start();
            if let Some(rest) = call.strip_prefix('"') {
                let path = rest.split('"').next().expect("a closing quote");
                paths.push(path.to_owned());
            } else {
                panic!(
                    "{}: a route whose path is not a literal: {call:.60}",
                    file.display()
                );
            }
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

/// The validator: `$WEBQRIS_OPENAPI_VALIDATOR`, else the one `scripts/setup.d/40-openapi.sh` installs,
/// else the one on PATH.
fn validator() -> Command {
    let installed = std::env::var_os("HOME").map(|home| {
        Path::new(&home).join(".cache/webqris/openapi-venv/bin/openapi-spec-validator")
    });
    match std::env::var_os("WEBQRIS_OPENAPI_VALIDATOR") {
        Some(path) => Command::new(path),
        None => match installed.filter(|p| p.exists()) {
            Some(path) => Command::new(path),
            None => Command::new("openapi-spec-validator"),
        },
    }
}

async fn document(server: &TestServer) -> Value {
    let response = server
        .http
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().expect("text"),
        "application/json"
    );
    response.json().await.expect("JSON")
}

#[tokio::test]
async fn every_route_of_the_router_is_in_the_document_and_every_documented_operation_is_served() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: Vec<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(|p| shape(p))
        .collect();
    let routes = router_paths();
    assert!(routes.len() > 20, "the scan found the router: {routes:?}");
    for route in routes.iter().filter(|r| !left_out(r)) {
        assert!(
            documented.contains(&shape(route)),
            "route {route} is missing from server/assets/openapi.json"
        );
    }
    for (path, item) in doc["paths"].as_object().expect("paths") {
        assert!(
            routes.iter().any(|r| shape(r) == shape(path)),
            "{path} is documented but not routed"
        );
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            let url = server.url(&path.replace('{', "x").replace('}', ""));
            let request = server
                .http
                .request(method.to_uppercase().parse().expect("method"), url)
                .header("content-type", "application/json")
                .body("{}");
            let (status, body) = server.send(request).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(
                (status, body),
                (
                    StatusCode::NOT_FOUND,
                    json!({"success": false, "message": "Not found"})
                ),
                "{method} {path} reaches a handler"
            );
        }
    }
}

#[tokio::test]
async fn the_document_passes_a_real_openapi_validator() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).expect("write");
    let output = validator().arg(&file).output().unwrap_or_else(|e| {
        panic!("openapi-spec-validator cannot run ({e}); scripts/setup.d/40-openapi.sh installs it")
    });
    assert!(
        output.status.success(),
        "the validator refused the document: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // It does refuse a broken document (so a pass means something).
    std::fs::write(
        &file,
        json!({"openapi": "3.1.0", "paths": {"x": 1}}).to_string(),
    )
    .expect("write");
    let broken = validator().arg(&file).output().expect("runs");
    assert!(!broken.status.success());
}

#[tokio::test]
async fn docs_render_the_document_as_one_page_that_fetches_nothing() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    let response = server
        .http
        .get(server.url("/docs"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("text")
            .starts_with("text/html")
    );
    let page = response.text().await.expect("text");
    for path in doc["paths"].as_object().expect("paths").keys() {
        assert!(page.contains(&format!("<code>{path}</code>")), "{path}");
    }
    assert!(page.contains("X-Webhook-Signature") && page.contains("webhook-signature"));
    for outside in ["<script", "src=", "href=\"http", "@import", "url("] {
        assert!(
            !page.contains(outside),
            "the page loads nothing ({outside})"
        );
    }
}

//! The API's description: the OpenAPI 3.1 document (`GET /api/openapi.json`, the file
//! `server/assets/openapi.json` compiled in) and the same document rendered as one self-contained HTML
//! page (`GET /docs`: no script, no CDN, nothing fetched), so that an integrator behind any firewall can
//! read it. A test checks that every route of the router is in the document and runs a real OpenAPI
//! validator on it.

use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde_json::Value;

use crate::page::escape_html as escape;
use crate::state::AppState;

/// The OpenAPI document, as served.
pub const OPENAPI_JSON: &str = include_str!("../../assets/openapi.json");

/// The rendered page, made once.
static PAGE: LazyLock<String> = LazyLock::new(|| match serde_json::from_str(OPENAPI_JSON) {
    Ok(doc) => render(&doc),
    // The document is a compiled-in constant parsed by the tests: this cannot happen at run time.
    Err(e) => format!(
        "<p>The OpenAPI document does not parse: {}</p>",
        escape(&e.to_string())
    ),
});

/// The routes of this file.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/docs", get(docs))
}

async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

async fn docs() -> Html<&'static str> {
    Html(PAGE.as_str())
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A schema in one line: its `$ref` name, type, enum or constant.
fn schema_label(schema: &Value) -> String {
    if let Some(name) = schema.get("$ref").and_then(Value::as_str) {
        let name = name.rsplit('/').next().unwrap_or(name);
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    if let Some(constant) = schema.get("const") {
        return format!("<code>{}</code>", escape(&constant.to_string()));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values.iter().map(|v| escape(&v.to_string())).collect();
        return format!("one of <code>{}</code>", values.join(" "));
    }
    if schema.get("type").and_then(Value::as_str) == Some("array") {
        return format!("array of {}", schema_label(&schema["items"]));
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        Value::String(kind) => kind.clone(),
        _ => String::new(),
    };
    match schema.get("format").and_then(Value::as_str) {
        Some(format) => format!("{} ({})", escape(&kind), escape(format)),
        None => escape(&kind),
    }
}

fn example_block(out: &mut String, media: &Value) {
    if let Some(example) = media.get("example") {
        let pretty = serde_json::to_string_pretty(example).unwrap_or_default();
        let _ = write!(out, "<pre>{}</pre>", escape(&pretty));
    }
}

/// One operation (`paths` or `webhooks`): summary, description, security, parameters, body, answers.
fn operation(out: &mut String, method: &str, path: &str, op: &Value) {
    let _ = write!(
        out,
        "<section class=\"op\" id=\"{id}\"><h3><span class=\"method\">{m}</span> <code>{p}</code></h3><p>{s}</p>",
        id = escape(text(op, "operationId")),
        m = method.to_ascii_uppercase(),
        p = escape(path),
        s = escape(text(op, "summary")),
    );
    if !text(op, "description").is_empty() {
        let _ = write!(out, "<p>{}</p>", escape(text(op, "description")));
    }
    if let Some(security) = op.get("security").and_then(Value::as_array) {
        let names: Vec<String> = security
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|s| s.keys())
            .map(|k| format!("<a href=\"#security-{0}\">{0}</a>", escape(k)))
            .collect();
        let shown = if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(" or ")
        };
        let _ = write!(out, "<p>Credential: {shown}</p>");
    }
    if let Some(parameters) = op.get("parameters").and_then(Value::as_array) {
        out.push_str("<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>");
        for p in parameters {
            let _ = write!(
                out,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(text(p, "name")),
                if p["required"] == true { " *" } else { "" },
                escape(text(p, "in")),
                schema_label(&p["schema"]),
                escape(text(p, "description")),
            );
        }
        out.push_str("</table>");
    }
    if let Some(content) = op
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
    {
        for (media_type, media) in content {
            let _ = write!(
                out,
                "<h4>Request body ({}): {}</h4>",
                escape(media_type),
                schema_label(&media["schema"])
            );
            example_block(out, media);
        }
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        out.push_str("<h4>Responses</h4><dl>");
        for (status, response) in responses {
            let _ = write!(
                out,
                "<dt>{}</dt><dd>{}",
                escape(status),
                escape(text(response, "description"))
            );
            if let Some(content) = response.get("content").and_then(Value::as_object) {
                for (media_type, media) in content {
                    let _ = write!(
                        out,
                        " <span class=\"muted\">{}: {}</span>",
                        escape(media_type),
                        schema_label(&media["schema"])
                    );
                    example_block(out, media);
                }
            }
            out.push_str("</dd>");
        }
        out.push_str("</dl>");
    }
    out.push_str("</section>");
}

fn operations(out: &mut String, items: &Value) {
    for (path, item) in items.as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                operation(out, method, path, op);
            }
        }
    }
}

/// The whole page.
fn render(doc: &Value) -> String {
    let info = &doc["info"];
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} API</title><style>{STYLE}</style></head><body>\
         <h1>{title} API {version}</h1><p>{summary}</p><p>{description}</p>\
         <p>Machine-readable: <a href=\"/api/openapi.json\">/api/openapi.json</a> (OpenAPI {openapi}).</p>",
        title = escape(text(info, "title")),
        version = escape(text(info, "version")),
        summary = escape(text(info, "summary")),
        description = escape(text(info, "description")),
        openapi = escape(text(doc, "openapi")),
    );
    out.push_str("<h2>Endpoints</h2>");
    operations(&mut out, &doc["paths"]);
    out.push_str("<h2>Webhooks (sent by the server)</h2>");
    operations(&mut out, &doc["webhooks"]);
    out.push_str("<h2>Credentials</h2><dl>");
    let schemes = doc.pointer("/components/securitySchemes");
    for (name, scheme) in schemes.and_then(Value::as_object).into_iter().flatten() {
        let _ = write!(
            out,
            "<dt id=\"security-{0}\">{0}</dt><dd>{1}</dd>",
            escape(name),
            escape(text(scheme, "description"))
        );
    }
    out.push_str("</dl><h2>Schemas</h2>");
    let schemas = doc.pointer("/components/schemas");
    for (name, schema) in schemas.and_then(Value::as_object).into_iter().flatten() {
        let _ = write!(
            out,
            "<section id=\"schema-{0}\"><h3>{0}</h3><p>{1}</p>",
            escape(name),
            escape(text(schema, "description"))
        );
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            out.push_str("<table><tr><th>field</th><th>type</th><th></th></tr>");
            for (field, property) in properties {
                let _ = write!(
                    out,
                    "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(field),
                    if required.contains(&field.as_str()) {
                        " *"
                    } else {
                        ""
                    },
                    schema_label(property),
                    escape(text(property, "description")),
                );
            }
            out.push_str("</table>");
        } else {
            let _ = write!(out, "<p>{}</p>", schema_label(schema));
        }
        out.push_str("</section>");
    }
    out.push_str("<p class=\"muted\">* required</p></body></html>");
    out
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}\
code,pre{font-family:ui-monospace,monospace;font-size:13px}pre{background:#f4f4f4;padding:.6rem;overflow:auto}\
.op{border-top:1px solid #ddd;padding-top:.5rem}.method{background:#1a5;color:#fff;padding:0 .4rem;border-radius:3px}\
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}\
dt{font-weight:600}.muted{color:#666}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_shows_every_operation_and_schema_of_the_document_and_escapes_text() {
        let doc: Value = serde_json::from_str(OPENAPI_JSON).expect("the document is JSON");
        let page = render(&doc);
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in METHODS {
                if item.get(method).is_some() {
                    let heading = format!(
                        "<span class=\"method\">{}</span> <code>{}</code>",
                        method.to_ascii_uppercase(),
                        escape(path)
                    );
                    assert!(page.contains(&heading), "{heading}");
                }
            }
        }
        for name in doc["components"]["schemas"]
            .as_object()
            .expect("schemas")
            .keys()
        {
            assert!(page.contains(&format!("id=\"schema-{name}\"")), "{name}");
        }
        assert!(page.contains("payment.paid"));
        assert!(!page.contains("<script"), "self-contained: no script");
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}

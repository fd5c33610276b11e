//! The dashboard against the real server: a [`Dashboard`] client that keeps its cookies and CSRF token
//! the way the browser page does, so that each test reads like what a person (or an attacker) does.

mod live;
mod payments;
mod security;
mod settings;
mod trust;

use axum::http::StatusCode;
use reqwest::Method;
use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::support::{SETUP_TOKEN, TestMerchant, TestServer, WsClient, within};

/// A password good enough for the rules.
pub const PASSWORD: &str = "kata-sandi-rahasia";

/// A browser tab on the dashboard: its cookies and the CSRF token its page would send.
#[derive(Debug, Clone)]
pub struct Dashboard {
    base: String,
    http: reqwest::Client,
    /// The session cookie's value, once logged in.
    pub session: Option<String>,
    /// The pre-login double-submit cookie.
    login_cookie: Option<String>,
    /// What the page sends in `X-CSRF-Token`.
    pub csrf: String,
}

/// A raw answer: status, headers and body text.
#[derive(Debug)]
pub struct Raw {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Raw {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// A header as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The value `name` is set to by the response's `Set-Cookie` headers (empty when it is cleared).
pub fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// The full `Set-Cookie` line for `name`.
pub fn set_cookie_line(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

impl Dashboard {
    /// Opens the dashboard as a page does: `GET /dashboard/api/session` gives the pre-login CSRF token.
    pub async fn open(server: &TestServer) -> Self {
        Self::open_at(&server.url("")).await
    }

    /// [`Dashboard::open`] on the server at `base` (`http://host:port`).
    pub async fn open_at(base: &str) -> Self {
        // reqwest needs rustls' provider even for plain http (when no other test installed it yet).
        webqris_server::delivery::install_crypto_provider();
        let mut tab = Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            session: None,
            login_cookie: None,
            csrf: String::new(),
        };
        let raw = tab
            .raw(Method::GET, "/dashboard/api/session", None, None)
            .await;
        assert_eq!(raw.status, StatusCode::OK, "{}", raw.text);
        tab.login_cookie = set_cookie(&raw.headers, "webqris_csrf");
        assert!(
            tab.login_cookie.is_some(),
            "the pre-login CSRF cookie is set"
        );
        tab.csrf = raw.json()["csrf_token"]
            .as_str()
            .expect("csrf_token")
            .to_owned();
        tab
    }

    /// The same tab with `X-Forwarded-For: value` on every request (a client claiming another address).
    pub fn forwarded_for(mut self, value: &str) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().expect("a header value"));
        self.http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .expect("client");
        self
    }

    /// Registers an account and stays logged in as it: the server's operator (through the setup link)
    /// when it has none yet, else an ordinary account.
    pub async fn register(server: &TestServer, email: &str) -> Self {
        let mut tab = Self::open(server).await;
        let operator = server.db.read(|c| c.operator_exists()).await.expect("read");
        let body = if operator {
            json!({"email": email, "password": PASSWORD})
        } else {
            json!({"email": email, "password": PASSWORD, "setup_token": SETUP_TOKEN})
        };
        let raw = tab.post_login_form("/dashboard/api/register", &body).await;
        assert_eq!(raw.status, StatusCode::CREATED, "{}", raw.text);
        tab
    }

    /// Posts credentials to `path` (login or register) and adopts the session it starts, if any.
    pub async fn submit(&mut self, path: &str, email: &str, password: &str) -> Raw {
        self.post_login_form(path, &json!({"email": email, "password": password}))
            .await
    }

    /// Posts `body` to a login or registration route with the pre-login CSRF token and adopts the
    /// session it starts, if any.
    pub async fn post_login_form(&mut self, path: &str, body: &Value) -> Raw {
        let csrf = self.csrf.clone();
        let raw = self.raw(Method::POST, path, Some(body), Some(&csrf)).await;
        if let Some(session) = set_cookie(&raw.headers, "webqris_session") {
            self.session = Some(session);
            self.csrf = raw.json()["csrf_token"]
                .as_str()
                .expect("a new session comes with its CSRF token")
                .to_owned();
        }
        raw
    }

    /// Revokes merchant `id`'s newest API token, as its settings page does (it must succeed).
    pub async fn revoke_newest_token(&self, id: i64) {
        let (_, tokens) = self
            .get(&format!("/dashboard/api/merchants/{id}/tokens"))
            .await;
        let token_id = tokens["tokens"][0]["id"].as_i64().expect("a token id");
        let (status, body) = self
            .send(
                Method::DELETE,
                &format!("/dashboard/api/merchants/{id}/tokens/{token_id}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// The dashboard's live feed (`/ws` with this tab's session cookie, from the dashboard's own page).
    pub async fn live_socket(&self) -> WsClient {
        self.live_socket_on(&self.base).await
    }

    /// [`Dashboard::live_socket`] opened on the server at `base` (another node of the same database).
    pub async fn live_socket_on(&self, base: &str) -> WsClient {
        let ws = base.replacen("http", "ws", 1);
        let mut request = format!("{ws}/ws").into_client_request().expect("request");
        let cookie = format!(
            "webqris_session={}",
            self.session.clone().expect("logged in")
        );
        let headers = request.headers_mut();
        headers.insert("cookie", cookie.parse().expect("header"));
        // What the browser sends from a dashboard page of that server.
        headers.insert("origin", base.parse().expect("header"));
        let (stream, _) = within(
            "a WebSocket handshake",
            tokio_tungstenite::connect_async(request),
        )
        .await
        .expect("the session opens /ws");
        WsClient { stream }
    }

    /// Logs in with the test password.
    pub async fn login(server: &TestServer, email: &str) -> Self {
        let mut tab = Self::open(server).await;
        let raw = tab.submit("/dashboard/api/login", email, PASSWORD).await;
        assert_eq!(raw.status, StatusCode::OK, "{}", raw.text);
        tab
    }

    fn cookies(&self) -> Option<String> {
        let mut pairs = Vec::new();
        if let Some(s) = &self.session {
            pairs.push(format!("webqris_session={s}"));
        }
        if let Some(c) = &self.login_cookie {
            pairs.push(format!("webqris_csrf={c}"));
        }
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// Any request with this tab's cookies; `csrf` is sent in `X-CSRF-Token` when given.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        csrf: Option<&str>,
    ) -> Raw {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(cookies) = self.cookies() {
            request = request.header(COOKIE, cookies);
        }
        if let Some(token) = csrf {
            request = request.header("X-CSRF-Token", token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = within("a dashboard response", request.send())
            .await
            .expect("the server answers");
        let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Raw {
            status,
            headers,
            text,
        }
    }

    /// `POST path` with raw bytes of `content_type` (an image upload), with the CSRF token.
    pub async fn http_upload(&self, path: &str, bytes: Vec<u8>, content_type: &str) -> Raw {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .header("X-CSRF-Token", &self.csrf)
            .body(bytes);
        if let Some(cookies) = self.cookies() {
            request = request.header(COOKIE, cookies);
        }
        let response = within("an upload response", request.send())
            .await
            .expect("the server answers");
        let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Raw {
            status,
            headers,
            text,
        }
    }

    /// `GET path` → status and JSON.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let raw = self.raw(Method::GET, path, None, None).await;
        (raw.status, raw.json())
    }

    /// A state-changing request with the page's CSRF token → status and JSON.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let raw = self.raw(method, path, body, Some(&self.csrf)).await;
        (raw.status, raw.json())
    }

    /// `POST path` with the CSRF token.
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    /// Creates a merchant; returns the 201 body (merchant, secrets, setup link).
    pub async fn create_merchant(&self, name: &str) -> Value {
        let (status, body) = self
            .post("/dashboard/api/merchants", &json!({"name": name}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Creates a merchant with the corpus QRIS, an API token and (optionally) a webhook URL, through
    /// the dashboard; returns (merchant id, API token, callback secret).
    pub async fn ready_merchant(&self, name: &str, webhook: Option<&str>) -> (i64, String, String) {
        let created = self.create_merchant(name).await;
        let id = created["merchant"]["id"].as_i64().expect("id");
        let (status, body) = self
            .send(
                Method::PUT,
                &format!("/dashboard/api/merchants/{id}/qris"),
                Some(&json!({"payload": crate::support::static_qris()})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if let Some(url) = webhook {
            let (status, body) = self
                .send(
                    Method::PUT,
                    &format!("/dashboard/api/merchants/{id}/webhook"),
                    Some(&json!({"url": url})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (status, token) = self
            .post(&format!("/dashboard/api/merchants/{id}/tokens"), &json!({}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{token}");
        (
            id,
            token["token"].as_str().expect("token").to_owned(),
            created["callback_secret"]
                .as_str()
                .expect("callback secret")
                .to_owned(),
        )
    }
}

/// A merchant made ready through the dashboard, as the API tests know one.
pub async fn merchant(tab: &Dashboard, name: &str, webhook: Option<&str>) -> TestMerchant {
    let (id, token, secret) = tab.ready_merchant(name, webhook).await;
    TestMerchant {
        id: webqris_server::db::MerchantId(id),
        name: name.to_owned(),
        token,
        callback_secret: secret,
        webhook_secret: String::new(),
    }
}

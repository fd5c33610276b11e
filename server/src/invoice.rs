//! Invoices: creation with a total unique among the merchant's pending payments and outside the cooldown,
//! and status as of now (an invoice past its deadline is expired even before the sweep).

use rand::Rng as _;
use webqris_core::Timestamp;
use webqris_core::qris::{self, QrisError};
use webqris_core::wire::{
    CreatePaymentRequest, CreatePaymentResponse, PaymentStatus, PaymentStatusResponse, PaymentView,
    WsEvent,
};

use crate::db::{DbError, Merchant, MerchantId, NewPayment, PaymentRow, Tx, payment_data};
use crate::error::AppError;
use crate::secret;
use crate::state::AppState;

/// Longest `merchant_order_id` / `customer_name` accepted.
pub const MAX_TEXT_CHARS: usize = 255;
/// Longest `return_url` accepted.
pub const MAX_URL_CHARS: usize = 2048;

/// Why an invoice could not be allocated.
#[derive(Debug, thiserror::Error)]
pub enum InvoiceError {
    /// Every code in the range gives a total that is pending or cooling down.
    #[error(
        "no free unique code for amount {amount}: every total from {lo} to {hi} is pending or in cooldown"
    )]
    NoFreeCode {
        /// The amount requested.
        amount: i64,
        /// Lowest total tried.
        lo: i64,
        /// Highest total tried.
        hi: i64,
    },
    /// The stored static QRIS could not be made dynamic.
    #[error("the merchant's QRIS cannot be made dynamic: {0}")]
    Qris(#[from] QrisError),
    /// No unused invoice id after several random draws (practically impossible).
    #[error("no unused invoice id after {0} attempts")]
    IdExhausted(usize),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<InvoiceError> for AppError {
    fn from(e: InvoiceError) -> Self {
        match e {
            InvoiceError::NoFreeCode { .. } => AppError::Unavailable(
                "No free unique code for this amount; try again later or use another amount"
                    .to_owned(),
            ),
            other => AppError::internal(other),
        }
    }
}

/// What allocation needs, fixed before entering the write transaction.
#[derive(Debug, Clone)]
struct Allocation {
    merchant: MerchantId,
    test: bool,
    merchant_name: String,
    amount: i64,
    code_min: i64,
    code_max: i64,
    cooldown_start: Timestamp,
    static_qris: String,
    merchant_order_id: Option<String>,
    customer_name: Option<String>,
    return_url: Option<String>,
    now: Timestamp,
    expired_at: Timestamp,
}

/// Picks a free unique code, builds the dynamic QRIS and stores the invoice, all inside the single-writer
/// transaction, so no concurrent create can take the same total.
fn allocate(tx: &Tx<'_>, a: &Allocation) -> Result<(PaymentRow, Option<String>), InvoiceError> {
    let (lo, hi) = (a.amount + a.code_min, a.amount + a.code_max);
    tx.lock_merchant(a.merchant)?;
    let taken = tx.taken_totals(a.merchant, a.test, lo, hi, a.cooldown_start)?;
    let free: Vec<i64> = (a.code_min..=a.code_max)
        .filter(|code| !taken.contains(&(a.amount + code)))
        .collect();
    if free.is_empty() {
        return Err(InvoiceError::NoFreeCode {
            amount: a.amount,
            lo,
            hi,
        });
    }
    let code = free[rand::rng().random_range(0..free.len())];
    let total = a.amount + code;
    let total_u64 = u64::try_from(total).expect("amount and code are positive, so the total is");
    let qris_payload = qris::to_dynamic(&a.static_qris, total_u64)?;
    const ID_ATTEMPTS: usize = 16;
    let seconds = a.now.as_millis().div_euclid(1000);
    let invoice_id = (0..ID_ATTEMPTS)
        .map(|_| format!("INV-{seconds}-{}", secret::lowercase_alphanumeric(6)))
        .find_map(|id| match tx.invoice_id_exists(&id) {
            Ok(false) => Some(Ok(id)),
            Ok(true) => None,
            Err(e) => Some(Err(e)),
        })
        .ok_or(InvoiceError::IdExhausted(ID_ATTEMPTS))??;
    let page_token = Some(secret::page_token(a.now.as_millis()));
    let payment = tx.insert_payment(&NewPayment {
        invoice_id,
        merchant_id: a.merchant,
        merchant_order_id: a.merchant_order_id.clone(),
        customer_name: a.customer_name.clone(),
        return_url: a.return_url.clone(),
        amount: a.amount,
        unique_code: code,
        qris_payload,
        created_at: a.now,
        expired_at: a.expired_at,
        page_token: page_token.clone(),
        test: a.test,
    })?;
    let event = WsEvent::NewPayment(payment_data(
        &payment,
        &a.merchant_name,
        PaymentStatus::Pending,
    ));
    tx.record_event(a.merchant, &event, a.now)?;
    Ok((payment, page_token))
}

fn optional_text(
    field: &str,
    value: Option<String>,
    max_chars: usize,
) -> Result<Option<String>, AppError> {
    match value.map(|v| v.trim().to_owned()) {
        Some(v) if v.chars().count() > max_chars => Err(AppError::BadRequest(format!(
            "{field} must be at most {max_chars} characters"
        ))),
        Some(v) if v.is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// `POST /api/payments/qris/create` for `merchant`: a sandbox invoice when `test` (made with a test
/// token), with its unique code drawn from the sandbox pool.
pub async fn create(
    state: &AppState,
    merchant: &Merchant,
    test: bool,
    request: CreatePaymentRequest,
) -> Result<CreatePaymentResponse, AppError> {
    let rules = &state.config.invoice;
    if request.amount < rules.amount_min || request.amount > rules.amount_max {
        return Err(AppError::BadRequest(format!(
            "amount must be an integer between {} and {}",
            rules.amount_min, rules.amount_max
        )));
    }
    let merchant_order_id = optional_text(
        "merchant_order_id",
        request.merchant_order_id,
        MAX_TEXT_CHARS,
    )?;
    let customer_name = optional_text("customer_name", request.customer_name, MAX_TEXT_CHARS)?;
    let return_url = optional_text("return_url", request.return_url, MAX_URL_CHARS)?;
    if let Some(url) = &return_url {
        let parsed = reqwest::Url::parse(url).map_err(|_| {
            AppError::BadRequest("return_url must be an http or https URL".to_owned())
        })?;
        if parsed.scheme() != "http" && parsed.scheme() != "https" {
            return Err(AppError::BadRequest(
                "return_url must be an http or https URL".to_owned(),
            ));
        }
    }
    let Some(static_qris) = merchant.qris_payload.clone() else {
        return Err(AppError::Unavailable(
            "QRIS is not configured for this merchant".to_owned(),
        ));
    };
    let now = state.now();
    let allocation = Allocation {
        merchant: merchant.id,
        test,
        merchant_name: merchant.name.clone(),
        amount: request.amount,
        code_min: rules.unique_code_min,
        code_max: rules.unique_code_max,
        cooldown_start: Timestamp::from_millis(
            now.as_millis() - rules.total_cooldown_secs.millis(),
        ),
        static_qris,
        merchant_order_id,
        customer_name,
        return_url,
        now,
        expired_at: Timestamp::from_millis(now.as_millis() + rules.ttl_secs.millis()),
    };
    let (payment, page_token) = state.db.write(move |tx| allocate(tx, &allocation)).await?;
    state.metrics.payment_created();
    state.hub.payment_created(&payment, &merchant.name);
    Ok(CreatePaymentResponse {
        success: true,
        invoice_id: payment.invoice_id,
        qris_payload: payment.qris_payload,
        amount: payment.amount,
        unique_code: payment.unique_code,
        total_amount: payment.total_amount,
        expired_at: payment.expired_at,
        payment_url: payment_url(state, page_token.as_deref()),
        test: payment.test,
    })
}

/// The public payment page of an invoice (`<public_url>/pay/<token>`), when it has one.
pub fn payment_url(state: &AppState, page_token: Option<&str>) -> Option<String> {
    page_token.map(|token| format!("{}/pay/{token}", state.public_url))
}

/// `GET /api/payments/{invoiceId}/status` for `merchant`: another merchant's invoice is not found.
pub async fn status(
    state: &AppState,
    merchant: &Merchant,
    invoice_id: String,
) -> Result<PaymentStatusResponse, AppError> {
    let merchant_id = merchant.id;
    let payment = state
        .db
        .lookup(move |c| c.payment_by_invoice(merchant_id, &invoice_id))
        .await?
        .ok_or_else(|| AppError::NotFound("Payment not found".to_owned()))?;
    let status = payment.status_at(state.now());
    Ok(PaymentStatusResponse {
        success: true,
        data: PaymentView {
            invoice_id: payment.invoice_id,
            merchant_order_id: payment.merchant_order_id,
            qris_payload: payment.qris_payload,
            amount: payment.amount,
            unique_code: payment.unique_code,
            total_amount: payment.total_amount,
            status,
            payment_method: payment.payment_method,
            paid_at: payment.paid_at,
            expired_at: payment.expired_at,
            test: payment.test,
        },
    })
}

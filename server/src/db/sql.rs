//! The SQL API the table modules are written against, the same whichever database runs: statements are
//! `&'static str` in the canonical dialect (`?N` placeholders), parameters are [`ToParam`] values, rows
//! are read through [`Row::get`] into [`FromColumn`] types. Ids, instants (epoch milliseconds) and stored
//! enums (their spellings) convert here and nowhere else; the backend modules only move [`Value`]s.
//!
//! Because a statement is a `&'static str`, no value can ever be spliced into SQL text, and each
//! statement is prepared once per connection and reused from its cache.

use webqris_core::Timestamp;
use webqris_core::wire::PaymentStatus;

use super::{
    AccountId, Circuit, Conn, DbError, DeliveryId, DeliveryStatus, LearnedBy, MerchantId,
    NotificationId, NotificationOutcome, NotificationSource, PaymentId, PaymentOutcome, SeenKind,
    TrustOutcome, Tx,
};
use super::{postgres, sqlite};

/// The SQL dialect of a connection, for the rare statement that must be spelled differently
/// (`match self.dialect()` inside the one method concerned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (the embedded default).
    Sqlite,
    /// PostgreSQL (several nodes on one database).
    Postgres,
}

/// A value as it crosses to or from the database: the only types stored are 64-bit integers (money,
/// ids, instants, booleans as 0/1), text and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// UTF-8 text.
    Text(&'a str),
    /// Bytes.
    Blob(&'a [u8]),
}

impl std::fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Null => f.write_str("NULL"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Text(s) => write!(f, "{s:?}"),
            Self::Blob(b) => write!(f, "<{} bytes>", b.len()),
        }
    }
}

/// A statement parameter.
pub trait ToParam {
    /// The value bound.
    fn to_param(&self) -> Value<'_>;
}

/// Builds the parameter list of a statement: `params![merchant, now, name]` binds `?1`, `?2`, `?3`.
macro_rules! params {
    ($($param:expr),* $(,)?) => {
        &[$(&$param as &dyn $crate::db::sql::ToParam),*] as &[&dyn $crate::db::sql::ToParam]
    };
}
pub(crate) use params;

/// A type read from one column. `Err` carries what was found, for [`DbError::Corrupt`].
pub trait FromColumn: Sized {
    /// Decodes the column's value.
    fn from_column(value: Value<'_>) -> Result<Self, String>;
}

impl<T: ToParam + ?Sized> ToParam for &T {
    fn to_param(&self) -> Value<'_> {
        (**self).to_param()
    }
}

impl<T: ToParam> ToParam for Option<T> {
    fn to_param(&self) -> Value<'_> {
        self.as_ref().map_or(Value::Null, ToParam::to_param)
    }
}

impl<T: FromColumn> FromColumn for Option<T> {
    fn from_column(value: Value<'_>) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            value => T::from_column(value).map(Some),
        }
    }
}

impl ToParam for Value<'_> {
    fn to_param(&self) -> Value<'_> {
        *self
    }
}

impl ToParam for i64 {
    fn to_param(&self) -> Value<'_> {
        Value::Int(*self)
    }
}

impl FromColumn for i64 {
    fn from_column(value: Value<'_>) -> Result<Self, String> {
        match value {
            Value::Int(i) => Ok(i),
            other => Err(other.to_string()),
        }
    }
}

/// A row count or limit; one beyond `i64` (never in practice) binds as "no limit".
impl ToParam for usize {
    fn to_param(&self) -> Value<'_> {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToParam for u16 {
    fn to_param(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl FromColumn for u16 {
    fn from_column(value: Value<'_>) -> Result<Self, String> {
        i64::from_column(value).and_then(|i| u16::try_from(i).map_err(|_| value.to_string()))
    }
}

/// Booleans are stored as integers 0 and 1 on every backend.
impl ToParam for bool {
    fn to_param(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}

impl FromColumn for bool {
    fn from_column(value: Value<'_>) -> Result<Self, String> {
        i64::from_column(value).map(|i| i != 0)
    }
}

impl ToParam for str {
    fn to_param(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl ToParam for String {
    fn to_param(&self) -> Value<'_> {
        Value::Text(self)
    }
}

impl FromColumn for String {
    fn from_column(value: Value<'_>) -> Result<Self, String> {
        match value {
            Value::Text(s) => Ok(s.to_owned()),
            other => Err(other.to_string()),
        }
    }
}

impl ToParam for [u8] {
    fn to_param(&self) -> Value<'_> {
        Value::Blob(self)
    }
}

impl FromColumn for Vec<u8> {
    fn from_column(value: Value<'_>) -> Result<Self, String> {
        match value {
            Value::Blob(b) => Ok(b.to_vec()),
            other => Err(other.to_string()),
        }
    }
}

/// Instants are stored as epoch milliseconds.
impl ToParam for Timestamp {
    fn to_param(&self) -> Value<'_> {
        Value::Int(self.as_millis())
    }
}

impl FromColumn for Timestamp {
    fn from_column(value: Value<'_>) -> Result<Self, String> {
        i64::from_column(value).map(Timestamp::from_millis)
    }
}

/// Row ids are stored as their integer.
macro_rules! id_columns {
    ($($id:ty),+) => {$(
        impl ToParam for $id {
            fn to_param(&self) -> Value<'_> {
                Value::Int(self.0)
            }
        }

        impl FromColumn for $id {
            fn from_column(value: Value<'_>) -> Result<Self, String> {
                i64::from_column(value).map(Self)
            }
        }
    )+};
}

id_columns!(AccountId, DeliveryId, MerchantId, NotificationId, PaymentId);

/// Stored enums are stored as their spelling (`as_str`), read back through `FromStr`; an unknown
/// spelling fails the row, it never panics.
macro_rules! spelled_columns {
    ($($enum:ty),+) => {$(
        impl ToParam for $enum {
            fn to_param(&self) -> Value<'_> {
                Value::Text(self.as_str())
            }
        }

        impl FromColumn for $enum {
            fn from_column(value: Value<'_>) -> Result<Self, String> {
                match value {
                    Value::Text(s) => s.parse().map_err(|_| value.to_string()),
                    other => Err(other.to_string()),
                }
            }
        }
    )+};
}

spelled_columns!(
    Circuit,
    DeliveryStatus,
    LearnedBy,
    NotificationOutcome,
    NotificationSource,
    PaymentOutcome,
    PaymentStatus,
    SeenKind,
    TrustOutcome
);

/// One result row.
#[derive(Debug)]
pub struct Row<'r>(pub(super) RowImpl<'r>);

#[derive(Debug)]
pub(super) enum RowImpl<'r> {
    Sqlite(&'r sqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    /// Column `idx` (0-based) as a `T`; a value that does not decode is [`DbError::Corrupt`].
    pub fn get<T: FromColumn>(&self, idx: usize) -> Result<T, DbError> {
        let decoded = match &self.0 {
            RowImpl::Sqlite(row) => sqlite::column(row, idx, T::from_column)?,
            RowImpl::Postgres(row) => postgres::column(row, idx, T::from_column)?,
        };
        decoded.map_err(|value| DbError::Corrupt {
            column: self.column_name(idx),
            value,
        })
    }

    fn column_name(&self, idx: usize) -> String {
        match &self.0 {
            RowImpl::Sqlite(row) => sqlite::column_name(row, idx),
            RowImpl::Postgres(row) => postgres::column_name(row, idx),
        }
    }
}

/// The connection a [`Conn`] runs its statements on.
#[derive(Debug, Clone, Copy)]
pub(super) enum Backend<'c> {
    Sqlite(&'c sqlite::Connection),
    Postgres(&'c postgres::PgConn),
}

impl Conn<'_> {
    /// The node this connection belongs to, as stored with the events it writes: random per opened
    /// PostgreSQL database (so per process, or per test server), `sqlite` on SQLite (one node).
    pub fn origin(&self) -> &str {
        match self.0 {
            Backend::Sqlite(_) => sqlite::ORIGIN,
            Backend::Postgres(conn) => postgres::origin(conn),
        }
    }

    /// The dialect of this connection, for a statement that cannot be written once.
    pub(super) fn dialect(&self) -> Dialect {
        match self.0 {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The first row of `sql`, mapped; an error when there is none.
    pub(super) fn query_one<T>(
        &self,
        sql: &'static str,
        params: &[&dyn ToParam],
        map: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.query_opt(sql, params, map)?.ok_or(DbError::NoRow(sql))
    }

    /// The first row of `sql`, mapped, if there is one.
    pub(super) fn query_opt<T>(
        &self,
        sql: &'static str,
        params: &[&dyn ToParam],
        map: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        // Every statement read this way returns at most one row (a key, or LIMIT 1).
        let mut map = Some(map);
        let mut first = None;
        self.each(sql, params, |row| {
            if let Some(map) = map.take() {
                first = Some(map(row)?);
            }
            Ok(())
        })?;
        Ok(first)
    }

    /// Every row of `sql`, mapped, in the order the statement returns them.
    pub(super) fn query_all<T>(
        &self,
        sql: &'static str,
        params: &[&dyn ToParam],
        mut map: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let mut all = Vec::new();
        self.each(sql, params, |row| {
            all.push(map(row)?);
            Ok(())
        })?;
        Ok(all)
    }

    fn each(
        &self,
        sql: &'static str,
        params: &[&dyn ToParam],
        each: impl FnMut(&Row<'_>) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        match self.0 {
            Backend::Sqlite(conn) => sqlite::query_each(conn, sql, params, each),
            Backend::Postgres(conn) => postgres::query_each(conn, sql, params, each),
        }
    }

    /// Whether `sql` returns a row.
    pub(super) fn exists(
        &self,
        sql: &'static str,
        params: &[&dyn ToParam],
    ) -> Result<bool, DbError> {
        Ok(self.query_opt(sql, params, |_| Ok(()))?.is_some())
    }
}

/// What [`Tx::serialise`] serialises across nodes; each is its own advisory lock key on PostgreSQL
/// (arbitrary constants, next to the migrations' key in `postgres.rs`).
#[derive(Debug, Clone, Copy)]
#[repr(i64)]
pub(super) enum Serial {
    /// Creating accounts: the first one becomes the operator.
    Accounts = 0x7765_6271_7269_7302,
    /// Claiming deliveries: the per-endpoint cap is counted from the leases, which only holds if one
    /// claim runs at a time.
    DeliveryClaims = 0x7765_6271_7269_7303,
    /// Counting dashboard login attempts: a key's count is checked, then the attempt written.
    LoginAttempts = 0x7765_6271_7269_7304,
}

impl Tx<'_> {
    /// Runs a statement that returns no rows; how many rows it changed.
    pub(super) fn execute(
        &self,
        sql: &'static str,
        params: &[&dyn ToParam],
    ) -> Result<usize, DbError> {
        match self.0.0 {
            Backend::Sqlite(conn) => sqlite::execute(conn, sql, params),
            Backend::Postgres(conn) => postgres::execute(conn, sql, params),
        }
    }

    /// Serialises this transaction with every other one that locks `merchant`, on every node, until it
    /// ends: unique-total allocation and settlement take it first, so "read what is taken or seen, then
    /// write" cannot interleave. A no-op on SQLite, whose single writer already runs one at a time. On
    /// PostgreSQL a transaction-scoped advisory lock keyed by the merchant id (the [`Serial`] keys are
    /// far above any id): it blocks no reader and no insert that references the merchant, and its
    /// waiters queue, each woken only when its turn comes (waiters on a row lock all wake at every
    /// commit, which costs a busy merchant dearly).
    pub fn lock_merchant(&self, merchant: MerchantId) -> Result<(), DbError> {
        match self.dialect() {
            Dialect::Sqlite => Ok(()),
            Dialect::Postgres => self
                .query_opt(
                    "SELECT pg_advisory_xact_lock(?1)",
                    params![merchant],
                    |_| Ok(()),
                )
                .map(drop),
        }
    }

    /// Serialises this transaction with every other one that takes the same `lock`, on every node, until
    /// it ends (a transaction-scoped advisory lock). A no-op on SQLite, whose single writer already runs
    /// one at a time.
    pub(super) fn serialise(&self, lock: Serial) -> Result<(), DbError> {
        match self.dialect() {
            Dialect::Sqlite => Ok(()),
            Dialect::Postgres => self
                .query_opt(
                    "SELECT pg_advisory_xact_lock(?1)",
                    params![lock as i64],
                    |_| Ok(()),
                )
                .map(drop),
        }
    }
}

//! What a merchant decided about trust: the sources it trusts beyond the built-in payment families (a
//! package and the exact titles it pays with) and the `(app, channel)` pairs that paid or that a person
//! confirmed. Packages are stored lowercased; titles as typed, compared ignoring case and space runs.

use webqris_core::Timestamp;
use webqris_core::notification::trust::{TrustedSource, title_is_one_of};

use super::sql::params;
use super::{Conn, DbError, LearnedBy, MerchantId, Tx};

/// One trusted title as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedTitle {
    /// Android package (lowercased).
    pub package: String,
    /// The title wording.
    pub title: String,
    /// When it was added.
    pub created_at: Timestamp,
}

/// A channel an app has paid on for a merchant, or that a person confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownChannel {
    /// Android package (lowercased).
    pub app: String,
    /// The channel id.
    pub channel_id: String,
    /// Paid on, or confirmed by a person.
    pub learned_by: LearnedBy,
    /// Since when.
    pub created_at: Timestamp,
}

/// Payment notifications held on a channel not known yet, grouped by `(app, channel)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldChannel {
    /// Android package, as the forwarder sent it.
    pub app: String,
    /// The channel (`None`: the forwarder sent none).
    pub channel_id: Option<String>,
    /// How many notifications wait on it, not yet assigned to an invoice.
    pub held: i64,
    /// The newest of them.
    pub last_received_at: Timestamp,
}

impl Conn<'_> {
    /// The merchant's trusted sources, one per package, for the trust decision.
    pub fn trusted_sources(&self, merchant: MerchantId) -> Result<Vec<TrustedSource>, DbError> {
        let mut sources: Vec<TrustedSource> = Vec::new();
        for row in self.trusted_titles(merchant)? {
            match sources.iter_mut().find(|s| s.package == row.package) {
                Some(source) => source.titles.push(row.title),
                None => sources.push(TrustedSource {
                    package: row.package,
                    titles: vec![row.title],
                }),
            }
        }
        Ok(sources)
    }

    /// The merchant's trusted titles, by package then title.
    pub fn trusted_titles(&self, merchant: MerchantId) -> Result<Vec<TrustedTitle>, DbError> {
        self.query_all(
            "SELECT package, title, created_at FROM trusted_titles
             WHERE merchant_id = ?1 ORDER BY package, title",
            params![merchant],
            |r| {
                Ok(TrustedTitle {
                    package: r.get(0)?,
                    title: r.get(1)?,
                    created_at: r.get(2)?,
                })
            },
        )
    }

    /// The channels `app` has paid on for the merchant or that a person confirmed.
    pub fn known_channels(&self, merchant: MerchantId, app: &str) -> Result<Vec<String>, DbError> {
        self.query_all(
            "SELECT channel_id FROM merchant_channels WHERE merchant_id = ?1 AND app = ?2
             ORDER BY channel_id",
            params![merchant, app.trim().to_lowercase()],
            |r| r.get(0),
        )
    }

    /// Every known channel of the merchant.
    pub fn channels(&self, merchant: MerchantId) -> Result<Vec<KnownChannel>, DbError> {
        self.query_all(
            "SELECT app, channel_id, learned_by, created_at FROM merchant_channels
             WHERE merchant_id = ?1 ORDER BY app, channel_id",
            params![merchant],
            |r| {
                Ok(KnownChannel {
                    app: r.get(0)?,
                    channel_id: r.get(1)?,
                    learned_by: r.get(2)?,
                    created_at: r.get(3)?,
                })
            },
        )
    }

    /// The `(app, channel)` pairs with held notifications awaiting review (not assigned to an invoice,
    /// channel not confirmed since), newest first, at most 100.
    pub fn held_channels(&self, merchant: MerchantId) -> Result<Vec<HeldChannel>, DbError> {
        self.query_all(
            "SELECT n.app, n.channel_id, COUNT(*), MAX(n.received_at)
             FROM notifications n
             LEFT JOIN manual_confirmations c ON c.notification_id = n.id
             WHERE n.merchant_id = ?1 AND n.outcome = 'held' AND c.payment_id IS NULL
               AND NOT EXISTS (SELECT 1 FROM merchant_channels k
                               WHERE k.merchant_id = n.merchant_id AND k.app = lower(n.app)
                                 AND k.channel_id = n.channel_id)
             GROUP BY n.app, n.channel_id
             ORDER BY MAX(n.received_at) DESC
             LIMIT 100",
            params![merchant],
            |r| {
                Ok(HeldChannel {
                    app: r.get::<Option<String>>(0)?.unwrap_or_default(),
                    channel_id: r.get(1)?,
                    held: r.get(2)?,
                    last_received_at: r.get(3)?,
                })
            },
        )
    }

    /// How many trusted titles the merchant has.
    pub fn trusted_title_count(&self, merchant: MerchantId) -> Result<i64, DbError> {
        self.query_one(
            "SELECT COUNT(*) FROM trusted_titles WHERE merchant_id = ?1",
            params![merchant],
            |r| r.get(0),
        )
    }
}

impl Tx<'_> {
    /// Trusts `title` for `package`; `false` when the merchant already trusts that wording.
    pub fn add_trusted_title(
        &self,
        merchant: MerchantId,
        package: &str,
        title: &str,
        now: Timestamp,
    ) -> Result<bool, DbError> {
        let package = package.trim().to_lowercase();
        let existing: Vec<String> = self
            .trusted_titles(merchant)?
            .into_iter()
            .filter(|t| t.package == package)
            .map(|t| t.title)
            .collect();
        if title_is_one_of(title, &existing) {
            return Ok(false);
        }
        self.execute(
            "INSERT INTO trusted_titles (merchant_id, package, title, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![merchant, package, title.trim(), now],
        )?;
        Ok(true)
    }

    /// Stops trusting a title (matched ignoring case and space runs); `false` when it was not trusted.
    pub fn remove_trusted_title(
        &self,
        merchant: MerchantId,
        package: &str,
        title: &str,
    ) -> Result<bool, DbError> {
        let package = package.trim().to_lowercase();
        let Some(stored) = self.trusted_titles(merchant)?.into_iter().find(|t| {
            t.package == package && title_is_one_of(title, std::slice::from_ref(&t.title))
        }) else {
            return Ok(false);
        };
        self.execute(
            "DELETE FROM trusted_titles WHERE merchant_id = ?1 AND package = ?2 AND title = ?3",
            params![merchant, package, stored.title],
        )?;
        Ok(true)
    }

    /// Remembers that `app` pays on `channel` for the merchant (the first origin is kept).
    pub fn learn_channel(
        &self,
        merchant: MerchantId,
        app: &str,
        channel: &str,
        by: LearnedBy,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO merchant_channels (merchant_id, app, channel_id, learned_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (merchant_id, app, channel_id) DO NOTHING",
            params![merchant, app.trim().to_lowercase(), channel, by, now],
        )?;
        Ok(())
    }

    /// Forgets a known channel; `false` when it was not known.
    pub fn forget_channel(
        &self,
        merchant: MerchantId,
        app: &str,
        channel: &str,
    ) -> Result<bool, DbError> {
        let deleted = self.execute(
            "DELETE FROM merchant_channels WHERE merchant_id = ?1 AND app = ?2 AND channel_id = ?3",
            params![merchant, app.trim().to_lowercase(), channel],
        )?;
        Ok(deleted > 0)
    }
}

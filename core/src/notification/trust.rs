//! Whether a notification may pay: a pure decision over who posted it, its title, its Android category
//! and template, the channel it came on, what the parser read ([`super::read`]), and what the merchant
//! decided (sources it trusts, channels that paid or that it confirmed).
//!
//! The rule, in the order [`decide`] applies it (design.md, "Only a payment app's payment notification
//! pays"):
//! 1. no `app`, or a source anyone can write to (chat, SMS, e-mail, browsers, caller-id, notes, the
//!    adb shell, webqris's own forwarder) → `untrusted_source`/`no_app`, whatever the text says;
//! 2. a conversation (category `msg`, `social`, `email`, `call`, `missed_call`, or a messaging or call
//!    template) → `conversation`;
//! 3. a package that is neither a payment family's (the table in `family.rs`) nor trusted by the merchant
//!    → `untrusted_source`;
//! 4. only for an incoming reading: an amount found only in the title → `amount_in_title`; then either
//!    the merchant trusts this package under exactly this title, or the family's own wording read it
//!    (the generic rule alone → `unverified_wording`) under one of the family's payment titles when it
//!    lists some (another title, e.g. a customer's name in an in-app chat → `unknown_title`);
//! 5. once the app has paid on some channel, a channel never seen paying is held for review
//!    (`new_channel`) until the merchant confirms it.
//!
//! A forwarder that does not send `category`, `template` or `channel_id` (third-party ones) skips steps
//! 2 and 5 for lack of facts; everything else still applies.

use serde::Serialize;

use super::amount::Marked;
use super::{ReadBy, Reading, family, text};

/// What the forwarder reports about a notification besides its words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The posting app's package.
    pub app: &'a str,
    /// The title.
    pub title: &'a str,
    /// Android's `Notification.category`, when sent.
    pub category: Option<&'a str>,
    /// Android's `Notification.EXTRA_TEMPLATE`, when sent.
    pub template: Option<&'a str>,
    /// The notification channel, when sent.
    pub channel_id: Option<&'a str>,
}

/// A source the merchant trusts beyond the family table: a package and the exact title wordings its
/// payment notifications carry (compared ignoring case and runs of spaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedSource {
    /// Android package name.
    pub package: String,
    /// Title wordings that pay.
    pub titles: Vec<String>,
}

/// What the merchant's history adds to the decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History<'a> {
    /// The merchant's trusted sources.
    pub trusted: &'a [TrustedSource],
    /// The channels of this notification's app that have paid for the merchant, or that it confirmed.
    pub channels: &'a [String],
}

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// It may pay (when its reading is an incoming payment).
    Trusted,
    /// It never pays; stored and shown with the reason.
    Untrusted(Distrust),
    /// It does not pay until a person confirms it.
    Held(Hold),
}

impl Trust {
    /// The reason's spelling, `None` when trusted.
    pub const fn reason(self) -> Option<&'static str> {
        match self {
            Trust::Trusted => None,
            Trust::Untrusted(d) => Some(d.as_str()),
            Trust::Held(h) => Some(h.as_str()),
        }
    }
}

/// Why a notification is never allowed to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Distrust {
    /// No `app` was sent (or an empty one).
    NoApp,
    /// The package is not a payment family's nor trusted by the merchant, or is one anyone can write to.
    UntrustedSource,
    /// A chat message, e-mail or call (Android category or template).
    Conversation,
    /// The only amount is in the title.
    AmountInTitle,
    /// A payment app's notification under a title its payments never carry.
    UnknownTitle,
    /// Only the generic rule read it: no verified wording of the app's family.
    UnverifiedWording,
}

impl Distrust {
    /// The stored and wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoApp => "no_app",
            Self::UntrustedSource => "untrusted_source",
            Self::Conversation => "conversation",
            Self::AmountInTitle => "amount_in_title",
            Self::UnknownTitle => "unknown_title",
            Self::UnverifiedWording => "unverified_wording",
        }
    }
}

/// Why a notification waits for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// The app has paid on other channels, never on this one.
    NewChannel,
}

impl Hold {
    /// The stored and wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NewChannel => "new_channel",
        }
    }
}

/// Packages whose notifications carry text that someone other than a payment provider writes: chat and
/// social apps, SMS, e-mail, browsers (web push), caller-id, notes, the adb shell, the system UI. None of
/// them ever pays, and a merchant cannot trust them either.
const NEVER_PAY: &[&str] = &[
    // chat and social
    "com.whatsapp",
    "com.whatsapp.w4b",
    "org.telegram.messenger",
    "org.telegram.messenger.web",
    "org.thunderdog.challegram",
    "org.thoughtcrime.securesms",
    "com.facebook.orca",
    "com.facebook.katana",
    "com.facebook.lite",
    "com.facebook.mlite",
    "com.instagram.android",
    "com.instagram.barcelona",
    "jp.naver.line.android",
    "com.discord",
    "com.tencent.mm",
    "com.viber.voip",
    "com.skype.raider",
    "com.microsoft.teams",
    "com.Slack",
    "com.snapchat.android",
    "com.zhiliaoapp.musically",
    "com.ss.android.ugc.trill",
    "com.twitter.android",
    "com.kakao.talk",
    // SMS and calls
    "com.google.android.apps.messaging",
    "com.android.mms",
    "com.samsung.android.messaging",
    "com.android.messaging",
    "com.google.android.dialer",
    "com.samsung.android.dialer",
    "com.android.dialer",
    "com.android.server.telecom",
    // caller-id
    "com.truecaller",
    "app.source.getcontact",
    // e-mail
    "com.google.android.gm",
    "com.microsoft.office.outlook",
    "com.yahoo.mobile.client.android.mail",
    "com.samsung.android.email.provider",
    // browsers (web push)
    "com.android.chrome",
    "com.chrome.beta",
    "com.chrome.dev",
    "com.chrome.canary",
    "org.mozilla.firefox",
    "org.mozilla.firefox_beta",
    "com.sec.android.app.sbrowser",
    "com.opera.browser",
    "com.opera.mini.native",
    "com.microsoft.emmx",
    "com.brave.browser",
    "com.UCMobile.intl",
    "com.mi.globalbrowser",
    "com.duckduckgo.mobile.android",
    // notes and reminders
    "com.google.android.keep",
    "com.samsung.android.app.notes",
    "com.evernote",
    "com.socialnmobile.dictapps.notepad.color.note",
    "com.microsoft.todos",
    // the system itself
    "com.android.shell",
    "com.android.systemui",
    "android",
];

/// The forwarder app's own package prefix: its status notification is ours, never a payment.
const OWN_PACKAGE_PREFIX: &str = "id.webqris.";

/// Whether a package can never pay (and can never be trusted by a merchant).
pub fn never_pays(package: &str) -> bool {
    let package = package.trim();
    package.is_empty()
        || package
            .get(..OWN_PACKAGE_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(OWN_PACKAGE_PREFIX))
        || NEVER_PAY.iter().any(|p| p.eq_ignore_ascii_case(package))
}

/// Android categories of conversations: `CATEGORY_MESSAGE`, `CATEGORY_SOCIAL`, `CATEGORY_EMAIL`,
/// `CATEGORY_CALL`, `CATEGORY_MISSED_CALL`.
const CONVERSATION_CATEGORIES: &[&str] = &["msg", "social", "email", "call", "missed_call"];

/// Whether the category or template says the notification is a conversation (`MessagingStyle`,
/// `CallStyle`, whether the framework's or AndroidX's class).
pub fn is_conversation(category: Option<&str>, template: Option<&str>) -> bool {
    let by_category = category.is_some_and(|c| {
        let c = c.trim();
        CONVERSATION_CATEGORIES
            .iter()
            .any(|k| k.eq_ignore_ascii_case(c))
    });
    let by_template = template.is_some_and(|t| {
        let t = t.trim().to_ascii_lowercase();
        t.contains("messagingstyle") || t.contains("callstyle")
    });
    by_category || by_template
}

/// Whether `title` is one of `wordings`, ignoring case and runs of spaces.
pub fn title_is_one_of(title: &str, wordings: &[String]) -> bool {
    let canonical = |s: &str| {
        text::normalize(s)
            .unwrap_or_default()
            .replace('\n', " ")
            .to_lowercase()
    };
    let title = canonical(title);
    !title.is_empty() && wordings.iter().any(|w| canonical(w) == title)
}

/// Whether a family lists payment titles and `title` is one of them (`None`: the package has no family).
fn family_title(app: &str, title: &str) -> Option<TitleCheck> {
    let titles = family::payment_titles(app)?;
    if titles.is_empty() {
        return Some(TitleCheck::Unjudged);
    }
    let Some(normalised) = text::normalize(title) else {
        return Some(TitleCheck::Other);
    };
    let marked = Marked::new(&normalised.replace('\n', " "));
    Some(if titles.iter().any(|t| t.is_match(&marked.text)) {
        TitleCheck::Payment
    } else {
        TitleCheck::Other
    })
}

enum TitleCheck {
    /// One of the family's payment titles.
    Payment,
    /// The family verified no title: not judged.
    Unjudged,
    /// Not a payment title of the family.
    Other,
}

/// Decides whether a notification may pay. Pure; see the module documentation for the rule.
pub fn decide(envelope: &Envelope<'_>, reading: &Reading, history: &History<'_>) -> Trust {
    use Distrust::*;
    let app = envelope.app.trim();
    if app.is_empty() {
        return Trust::Untrusted(NoApp);
    }
    if never_pays(app) {
        return Trust::Untrusted(UntrustedSource);
    }
    if is_conversation(envelope.category, envelope.template) {
        return Trust::Untrusted(Conversation);
    }
    let merchant_titles = history
        .trusted
        .iter()
        .find(|t| t.package.trim().eq_ignore_ascii_case(app))
        .map(|t| t.titles.as_slice());
    let family = family_title(app, envelope.title);
    if family.is_none() && merchant_titles.is_none() {
        return Trust::Untrusted(UntrustedSource);
    }
    let Some(read_by) = reading.read_by else {
        // Not a payment: nothing to pay, and the source is one that may pay.
        return Trust::Trusted;
    };
    if read_by == ReadBy::GenericTitle {
        return Trust::Untrusted(AmountInTitle);
    }
    let merchant_says = merchant_titles.is_some_and(|w| title_is_one_of(envelope.title, w));
    if !merchant_says {
        match family {
            None => return Trust::Untrusted(UnknownTitle),
            Some(_) if read_by == ReadBy::Generic => return Trust::Untrusted(UnverifiedWording),
            Some(TitleCheck::Other) => return Trust::Untrusted(UnknownTitle),
            Some(TitleCheck::Payment | TitleCheck::Unjudged) => {}
        }
    }
    if !history.channels.is_empty() {
        let channel = envelope.channel_id.map(str::trim).unwrap_or_default();
        if !history.channels.iter().any(|c| c.trim() == channel) {
            return Trust::Held(Hold::NewChannel);
        }
    }
    Trust::Trusted
}

#[cfg(test)]
mod tests {
    use super::super::{Notification, read};
    use super::*;

    const GOBIZ_TITLE: &str = "Pembayaran QRIS diterima!";
    const GOBIZ_TEXT: &str = "Rp2.000 berhasil diterima. ID transaksi: rVWbDXID";

    fn envelope<'a>(app: &'a str, title: &'a str) -> Envelope<'a> {
        Envelope {
            app,
            title,
            ..Envelope::default()
        }
    }

    fn judge(envelope: &Envelope<'_>, text: &str, history: &History<'_>) -> Trust {
        let reading = read(&Notification {
            app: envelope.app,
            title: envelope.title,
            text,
            big_text: None,
        });
        decide(envelope, &reading, history)
    }

    fn plain(app: &str, title: &str, text: &str) -> Trust {
        judge(&envelope(app, title), text, &History::default())
    }

    #[test]
    fn a_family_wording_under_a_payment_title_pays() {
        assert_eq!(
            plain("com.gojek.resto", GOBIZ_TITLE, GOBIZ_TEXT),
            Trust::Trusted
        );
        assert_eq!(
            plain(
                "com.shopeepay.merchant.id",
                "Pembayaran sebesar Rp1.000 diterima",
                "Pembayaran sebesar Rp1.000 telah diterima pada transaksi 20820696399434593."
            ),
            Trust::Trusted,
            "a title holding an amount is matched with its amount"
        );
        assert_eq!(
            plain("id.dana", "pembayaran  MASUK", "Rp10 diterima DANA Bisnis."),
            Trust::Trusted,
            "titles ignore case and space runs"
        );
    }

    #[test]
    fn sources_anyone_can_write_to_never_pay() {
        for app in [
            "com.whatsapp",
            "org.telegram.messenger",
            "com.google.android.apps.messaging",
            "com.google.android.gm",
            "com.android.chrome",
            "com.truecaller",
            "com.google.android.keep",
            "com.android.shell",
            "id.webqris.forwarder",
            "ID.WEBQRIS.forwarder.debug",
        ] {
            assert_eq!(
                plain(app, GOBIZ_TITLE, GOBIZ_TEXT),
                Trust::Untrusted(Distrust::UntrustedSource),
                "{app}"
            );
            assert!(never_pays(app), "{app}");
        }
        assert_eq!(
            plain("", GOBIZ_TITLE, GOBIZ_TEXT),
            Trust::Untrusted(Distrust::NoApp)
        );
        assert_eq!(
            plain("  ", GOBIZ_TITLE, GOBIZ_TEXT),
            Trust::Untrusted(Distrust::NoApp)
        );
        assert_eq!(
            plain("com.example.wallet", GOBIZ_TITLE, GOBIZ_TEXT),
            Trust::Untrusted(Distrust::UntrustedSource),
            "unknown packages never pay"
        );
    }

    #[test]
    fn a_merchant_cannot_trust_a_source_anyone_can_write_to() {
        let trusted = [TrustedSource {
            package: "com.whatsapp".into(),
            titles: vec!["Budi".into()],
        }];
        let history = History {
            trusted: &trusted,
            channels: &[],
        };
        assert_eq!(
            judge(
                &envelope("com.whatsapp", "Budi"),
                "Rp25.042 diterima",
                &history
            ),
            Trust::Untrusted(Distrust::UntrustedSource)
        );
    }

    #[test]
    fn conversations_never_pay_even_from_payment_apps() {
        for (category, template) in [
            (Some("msg"), None),
            (Some(" SOCIAL "), None),
            (Some("email"), None),
            (Some("call"), None),
            (Some("missed_call"), None),
            (None, Some("android.app.Notification$MessagingStyle")),
            (
                Some("status"),
                Some("androidx.core.app.NotificationCompat$MessagingStyle"),
            ),
            (None, Some("android.app.Notification$CallStyle")),
        ] {
            let e = Envelope {
                category,
                template,
                ..envelope("com.gojek.resto", GOBIZ_TITLE)
            };
            assert_eq!(
                judge(&e, GOBIZ_TEXT, &History::default()),
                Trust::Untrusted(Distrust::Conversation),
                "{category:?} {template:?}"
            );
        }
        let e = Envelope {
            category: Some("status"),
            template: Some("android.app.Notification$BigTextStyle"),
            ..envelope("com.gojek.resto", GOBIZ_TITLE)
        };
        assert_eq!(judge(&e, GOBIZ_TEXT, &History::default()), Trust::Trusted);
    }

    #[test]
    fn a_payment_app_notification_under_another_title_does_not_pay() {
        assert_eq!(
            plain("com.gojek.resto", "Budi Santoso", GOBIZ_TEXT),
            Trust::Untrusted(Distrust::UnknownTitle),
            "a customer's chat message in GoBiz"
        );
        assert_eq!(
            plain(
                "com.shopee.id",
                "ANANDA",
                "Rp10 telah diterima dari ANANDA RIZKY YULIANSYAH. Klik untuk cek rinciannya"
            ),
            Trust::Untrusted(Distrust::UnknownTitle)
        );
        assert_eq!(
            plain(
                "com.gojek.resto",
                "Pembayaran QRIS diterima! dari Budi",
                GOBIZ_TEXT
            ),
            Trust::Untrusted(Distrust::UnknownTitle),
            "the whole title must be a payment title"
        );
    }

    #[test]
    fn an_amount_only_in_the_title_never_pays() {
        assert_eq!(
            plain(
                "com.shopeepay.merchant.id",
                "Pembayaran sebesar Rp1.000 diterima",
                "Ketuk untuk melihat detail"
            ),
            Trust::Untrusted(Distrust::AmountInTitle)
        );
    }

    #[test]
    fn the_generic_rule_never_pays_by_itself() {
        assert_eq!(
            plain(
                "com.telkom.mwallet",
                "LinkAja",
                "Kamu menerima Rp50.000 dari 0812345678"
            ),
            Trust::Untrusted(Distrust::UnverifiedWording)
        );
        assert_eq!(
            plain("id.dana", "DANA", "Dana masuk Rp25.042 ke akunmu"),
            Trust::Untrusted(Distrust::UnverifiedWording),
            "a family with wordings, but not this one"
        );
    }

    #[test]
    fn a_merchant_trusted_source_pays_under_its_exact_titles_only() {
        let trusted = [TrustedSource {
            package: "id.bmri.livinmerchant".into(),
            titles: vec!["Transaksi Berhasil".into()],
        }];
        let history = History {
            trusted: &trusted,
            channels: &[],
        };
        let text = "Dana masuk Rp25.042 dari BUDI";
        assert_eq!(
            judge(
                &envelope("id.bmri.livinmerchant", "transaksi  berhasil"),
                text,
                &history
            ),
            Trust::Trusted
        );
        assert_eq!(
            judge(&envelope("id.bmri.livinmerchant", "Budi"), text, &history),
            Trust::Untrusted(Distrust::UnverifiedWording),
            "a family package keeps its own rules under other titles"
        );
        let unknown = [TrustedSource {
            package: "com.example.pos".into(),
            titles: vec!["Pembayaran diterima".into()],
        }];
        let history = History {
            trusted: &unknown,
            channels: &[],
        };
        assert_eq!(
            judge(
                &envelope("com.example.pos", "Pembayaran diterima"),
                text,
                &history
            ),
            Trust::Trusted
        );
        assert_eq!(
            judge(&envelope("com.example.pos", "Budi"), text, &history),
            Trust::Untrusted(Distrust::UnknownTitle)
        );
        assert_eq!(
            judge(
                &envelope("com.example.pos", "Pembayaran diterima"),
                "halo",
                &history
            ),
            Trust::Trusted,
            "a trusted source that says nothing about money has nothing to pay"
        );
    }

    #[test]
    fn a_channel_never_seen_paying_is_held_once_the_app_has_paid_on_one() {
        let channels = ["payments".to_owned()];
        let history = History {
            trusted: &[],
            channels: &channels,
        };
        let on = |channel_id| Envelope {
            channel_id,
            ..envelope("com.gojek.resto", GOBIZ_TITLE)
        };
        assert_eq!(
            judge(&on(Some("payments")), GOBIZ_TEXT, &history),
            Trust::Trusted
        );
        assert_eq!(
            judge(&on(Some("promotions")), GOBIZ_TEXT, &history),
            Trust::Held(Hold::NewChannel)
        );
        assert_eq!(
            judge(&on(None), GOBIZ_TEXT, &history),
            Trust::Held(Hold::NewChannel),
            "a channel is expected once one paid"
        );
        assert_eq!(
            judge(&on(Some("anything")), GOBIZ_TEXT, &History::default()),
            Trust::Trusted,
            "the first payment teaches the channel"
        );
    }

    #[test]
    fn reasons_have_stable_spellings() {
        assert_eq!(
            Trust::Untrusted(Distrust::UntrustedSource).reason(),
            Some("untrusted_source")
        );
        assert_eq!(Trust::Held(Hold::NewChannel).reason(), Some("new_channel"));
        assert_eq!(Trust::Trusted.reason(), None);
        for d in [
            Distrust::NoApp,
            Distrust::UntrustedSource,
            Distrust::Conversation,
            Distrust::AmountInTitle,
            Distrust::UnknownTitle,
            Distrust::UnverifiedWording,
        ] {
            assert_eq!(
                serde_json::to_value(d).expect("serialises"),
                serde_json::Value::from(d.as_str())
            );
        }
    }
}

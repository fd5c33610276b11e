// Words for what the phone concluded about a notification.
package id.webqris.forwarder

import android.content.Context
import id.webqris.bridge.IgnoreReason
import id.webqris.bridge.NotificationVerdict

internal fun NotificationVerdict.isRedacted(): Boolean =
    this is NotificationVerdict.NotIncoming && reason == IgnoreReason.REDACTED

internal fun NotificationVerdict.describe(context: Context): String = when (this) {
    is NotificationVerdict.Incoming -> context.getString(
        R.string.verdict_incoming,
        payments.joinToString(", ") { "Rp" + String.format(java.util.Locale.ROOT, "%,d", it.amount.toLong()).replace(',', '.') },
    )
    is NotificationVerdict.NotIncoming -> context.getString(
        R.string.verdict_not_incoming,
        reason.name.lowercase(),
    )
}

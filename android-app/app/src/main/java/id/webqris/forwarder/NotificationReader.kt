// Reads what the bridge needs from a StatusBarNotification: package, key, post time, title, text, big
// text, and the notification's kind (category, template, channel) that the server's trust rules read.
// Group summaries are skipped (their children carry the payments; summaries are empty or repeat them).
package id.webqris.forwarder

import android.app.Notification
import android.service.notification.StatusBarNotification
import id.webqris.bridge.IncomingNotification

object NotificationReader {
    /** The bridge's view of [sbn], or null for a group summary. */
    fun read(sbn: StatusBarNotification): IncomingNotification? {
        val notification = sbn.notification ?: return null
        if (notification.flags and Notification.FLAG_GROUP_SUMMARY != 0) return null
        val extras = notification.extras
        val title = extras?.getCharSequence(Notification.EXTRA_TITLE)?.toString()
            ?: extras?.getCharSequence(Notification.EXTRA_TITLE_BIG)?.toString()
            ?: ""
        val text = extras?.getCharSequence(Notification.EXTRA_TEXT)?.toString() ?: ""
        val bigText = extras?.getCharSequence(Notification.EXTRA_BIG_TEXT)?.toString()
            ?: extras?.getCharSequenceArray(Notification.EXTRA_TEXT_LINES)?.joinToString("\n")
        return IncomingNotification(
            app = sbn.packageName,
            title = title,
            text = text,
            bigText = bigText,
            key = sbn.key ?: "",
            postTimeMs = sbn.postTime,
            category = notification.category,
            template = extras?.getString(Notification.EXTRA_TEMPLATE),
            channelId = notification.channelId,
        )
    }
}

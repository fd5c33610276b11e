// StatusBarNotifications as the system hands them to the listener.
package id.webqris.forwarder

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import android.os.Process
import android.service.notification.StatusBarNotification

object Notifications {
    private const val CHANNEL = "payments"

    fun posted(
        context: Context,
        app: String,
        title: String,
        text: String,
        bigText: String? = null,
        postTime: Long,
        id: Int = -1,
        groupSummary: Boolean = false,
    ): StatusBarNotification {
        context.getSystemService(NotificationManager::class.java)
            .createNotificationChannel(NotificationChannel(CHANNEL, "Payments", NotificationManager.IMPORTANCE_DEFAULT))
        val builder = Notification.Builder(context, CHANNEL)
            .setSmallIcon(android.R.drawable.ic_dialog_info)
            .setContentTitle(title)
            .setContentText(text)
        if (bigText != null) builder.setStyle(Notification.BigTextStyle().bigText(bigText))
        if (groupSummary) builder.setGroup("payments").setGroupSummary(true)
        return StatusBarNotification(
            app, app, id, null, 10_123, 0, builder.build(), Process.myUserHandle(), null, postTime,
        )
    }
}

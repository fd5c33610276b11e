// The persistent status notification: "Terhubung · 0 antre" while payments flow, "Tidak bisa mengirim: …"
// when the server refuses or cannot be reached, the parked count, a disconnected listener or missing
// notification access. Updated whenever the bridge's health changes (it calls healthChanged on its own
// threads); ongoing and silent, on its own low-importance channel; a tap opens the status screen.
package id.webqris.forwarder

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.util.Log
import id.webqris.bridge.ForwarderHealth
import id.webqris.bridge.HealthObserver
import id.webqris.bridge.ProblemKind
import java.util.concurrent.CopyOnWriteArrayList

class StatusNotifier(context: Context) : HealthObserver {
    private val app: Context = context.applicationContext

    override fun healthChanged(health: ForwarderHealth) {
        // Called from the bridge's threads through uniffi: an exception must not cross back into Rust.
        try {
            show(app, health)
            listeners.forEach { it(health) }
        } catch (e: Throwable) {
            Log.w(ForwarderApp.TAG, "cannot show the forwarder's status", e)
        }
    }

    companion object {
        const val CHANNEL = "forwarder_status"
        const val NOTIFICATION_ID = 1

        /** Told after the notification shows a new health (the status screen refreshes itself). */
        val listeners = CopyOnWriteArrayList<(ForwarderHealth) -> Unit>()

        /** The line the notification shows for [health]. */
        fun text(context: Context, health: ForwarderHealth): String {
            val problem = health.problem
            return when {
                health.notificationAccess == false -> Texts.get(context, R.string.status_no_access)
                problem != null && problem.kind != ProblemKind.PARKED ->
                    Texts.get(context, R.string.status_cannot_send, problem.message)
                problem != null -> Texts.get(context, R.string.status_parked, health.parked.toString(), problem.message)
                !health.listenerConnected -> Texts.get(context, R.string.status_listener_off, health.pending.toString())
                else -> Texts.get(context, R.string.status_ok, health.pending.toString())
            }
        }

        fun show(context: Context, health: ForwarderHealth) {
            val manager = context.getSystemService(NotificationManager::class.java) ?: return
            manager.createNotificationChannel(
                NotificationChannel(CHANNEL, Texts.get(context, R.string.status_channel_name), NotificationManager.IMPORTANCE_LOW)
                    .apply { description = Texts.get(context, R.string.status_channel_description) },
            )
            val line = text(context, health)
            val open = PendingIntent.getActivity(
                context, 0, Intent(context, MainActivity::class.java), PendingIntent.FLAG_IMMUTABLE,
            )
            val healthy = health.problem == null && health.listenerConnected && health.notificationAccess != false
            val notification = Notification.Builder(context, CHANNEL)
                .setSmallIcon(if (healthy) android.R.drawable.stat_notify_sync_noanim else android.R.drawable.stat_sys_warning)
                .setContentTitle(Texts.get(context, R.string.app_name))
                .setContentText(line)
                .setStyle(Notification.BigTextStyle().bigText(line))
                .setCategory(Notification.CATEGORY_STATUS)
                .setOngoing(true)
                .setOnlyAlertOnce(true)
                .setShowWhen(false)
                .setContentIntent(open)
                .build()
            manager.notify(NOTIFICATION_ID, notification)
        }
    }
}

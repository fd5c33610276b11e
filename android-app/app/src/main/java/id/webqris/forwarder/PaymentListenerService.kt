// The notification listener: every posted notification goes to the bridge, which keeps those of the
// watched apps in the outbox and delivers them. On (re)connect Android re-delivers what is in the shade;
// the bridge's event-hash key absorbs those repeats. On disconnect ListenerRebinder brings it back.
package id.webqris.forwarder

import android.content.ComponentName
import android.content.Context
import android.os.Build
import android.service.notification.NotificationListenerService
import android.service.notification.StatusBarNotification
import android.util.Log

class PaymentListenerService : NotificationListenerService() {

    override fun onListenerConnected() {
        super.onListenerConnected()
        ListenerState.connected = true
        ListenerState.lastConnectedAtMs = System.currentTimeMillis()
        ListenerRebinder.onConnected()
        Bridge.executor.execute {
            Bridge.get(applicationContext)?.let {
                // The system binds a listener only with notification access.
                it.setNotificationAccess(true)
                it.setListenerConnected(true)
            }
        }
        // Payments that arrived while we were disconnected are still in the shade: read them now.
        val active = try {
            activeNotifications
        } catch (e: RuntimeException) {
            Log.w(ForwarderApp.TAG, "cannot read active notifications", e)
            null
        }
        active?.forEach { submit(it) }
    }

    override fun onListenerDisconnected() {
        super.onListenerDisconnected()
        ListenerState.connected = false
        Bridge.executor.execute { Bridge.get(applicationContext)?.setListenerConnected(false) }
        ListenerRebinder.ensureBound(this)
    }

    override fun onNotificationPosted(sbn: StatusBarNotification) {
        submit(sbn)
    }

    private fun submit(sbn: StatusBarNotification) {
        if (sbn.packageName == packageName) return
        val notification = NotificationReader.read(sbn) ?: return
        ListenerState.lastNotificationAtMs = System.currentTimeMillis()
        Bridge.submitAsync(applicationContext, notification)
    }

    companion object {
        /** Asks the system to reconnect the listener (through [ListenerRebinder]). */
        fun requestRebind(context: Context) {
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.N) {
                try {
                    NotificationListenerService.requestRebind(
                        ComponentName(context, PaymentListenerService::class.java),
                    )
                } catch (e: RuntimeException) {
                    Log.w(ForwarderApp.TAG, "requestRebind refused (notification access missing?)", e)
                }
            }
        }
    }
}

/** The listener's state as this process saw it, for the status screen. */
object ListenerState {
    @Volatile var connected: Boolean = false
    @Volatile var lastConnectedAtMs: Long = 0
    @Volatile var lastNotificationAtMs: Long = 0
}

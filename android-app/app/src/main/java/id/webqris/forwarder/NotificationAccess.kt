// Whether the user granted this app notification access (without it no payment is read).
package id.webqris.forwarder

import android.app.NotificationManager
import android.content.ComponentName
import android.content.Context
import android.os.Build
import android.provider.Settings

object NotificationAccess {
    fun granted(context: Context): Boolean {
        val me = ComponentName(context, PaymentListenerService::class.java)
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.O_MR1) {
            context.getSystemService(NotificationManager::class.java)?.let { return it.isNotificationListenerAccessGranted(me) }
        }
        val enabled = Settings.Secure.getString(context.contentResolver, "enabled_notification_listeners") ?: return false
        return enabled.split(':').any { ComponentName.unflattenFromString(it) == me }
    }
}

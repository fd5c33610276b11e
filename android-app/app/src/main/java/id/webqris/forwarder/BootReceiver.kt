// After a reboot (or an app update): restart delivery of the outbox and make sure the listener is bound.
package id.webqris.forwarder

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent

class BootReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        when (intent.action) {
            Intent.ACTION_BOOT_COMPLETED, Intent.ACTION_MY_PACKAGE_REPLACED -> {
                // goAsync keeps the process alive until the outbox is open (null outside a real broadcast).
                val pending: PendingResult? = goAsync()
                Bridge.executor.execute {
                    try {
                        Bridge.get(context.applicationContext)
                        PaymentListenerService.requestRebind(context)
                        ListenerWatchdog.schedule(context)
                    } finally {
                        pending?.finish()
                    }
                }
            }
        }
    }
}

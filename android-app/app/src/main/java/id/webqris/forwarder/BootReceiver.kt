// After a reboot or an app update (MY_PACKAGE_REPLACED, when Android often leaves the listener unbound):
// restart delivery of the outbox and bring the listener back (ListenerRebinder).
package id.webqris.forwarder

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent

class BootReceiver : BroadcastReceiver() {
    companion object {
        /** Some makers' fast boot (HTC, some Xiaomi) sends this instead of BOOT_COMPLETED. */
        const val QUICKBOOT_POWERON = "android.intent.action.QUICKBOOT_POWERON"
    }

    override fun onReceive(context: Context, intent: Intent) {
        when (intent.action) {
            Intent.ACTION_BOOT_COMPLETED, Intent.ACTION_MY_PACKAGE_REPLACED, QUICKBOOT_POWERON -> {
                // goAsync keeps the process alive until the outbox is open (null outside a real broadcast).
                val pending: PendingResult? = goAsync()
                Bridge.executor.execute {
                    try {
                        Bridge.get(context.applicationContext)
                        ListenerRebinder.ensureBound(context)
                        ListenerWatchdog.schedule(context)
                    } finally {
                        pending?.finish()
                    }
                }
            }
        }
    }
}

// Brings the notification listener back when the system dropped it (OEM battery savers, an app update,
// a crash): ask for a rebind at once; if the listener has not reconnected within a minute, toggle its
// component off and on (the known remedy when a rebind alone does not bring it back) and ask again.
// Called on disconnect, after boot and MY_PACKAGE_REPLACED (BootReceiver), and by the watchdog job.
package id.webqris.forwarder

import android.content.ComponentName
import android.content.Context
import android.content.pm.PackageManager
import android.os.Handler
import android.os.Looper
import android.os.SystemClock
import android.util.Log

object ListenerRebinder {
    /** How long a rebind request is given before the component is toggled. */
    const val TOGGLE_AFTER_MS = 60_000L

    private var mainHandler: Handler? = null

    /** One handler on the main looper (made again if the looper was replaced, as test frameworks do), so
     * that a pending check can be cancelled. */
    private val handler: Handler
        @Synchronized get() {
            val main = Looper.getMainLooper()
            return mainHandler?.takeIf { it.looper == main } ?: Handler(main).also { mainHandler = it }
        }
    private var check: Runnable? = null

    /** When the last unanswered rebind was asked for (elapsed realtime), 0 if none. */
    @Volatile
    private var requestedAtMs: Long = 0

    /**
     * Asks for the listener unless it is connected, and toggles the component if it is still gone a
     * minute later. A call when an earlier request has gone unanswered for a minute toggles at once.
     */
    fun ensureBound(context: Context) {
        if (ListenerState.connected) return
        val app = context.applicationContext
        val now = SystemClock.elapsedRealtime()
        if (requestedAtMs != 0L && now - requestedAtMs >= TOGGLE_AFTER_MS) {
            toggle(app)
            requestedAtMs = now
            return
        }
        if (requestedAtMs == 0L) requestedAtMs = now
        PaymentListenerService.requestRebind(app)
        handler.post {
            check?.let { handler.removeCallbacks(it) }
            val next = Runnable {
                check = null
                if (!ListenerState.connected) {
                    toggle(app)
                    requestedAtMs = SystemClock.elapsedRealtime()
                }
            }
            check = next
            handler.postDelayed(next, TOGGLE_AFTER_MS)
        }
    }

    /** The listener is back: nothing more to do. */
    fun onConnected() {
        requestedAtMs = 0
        handler.post {
            check?.let { handler.removeCallbacks(it) }
            check = null
        }
    }

    /** Off and on again: the system rebinds a listener whose component was re-enabled. */
    private fun toggle(context: Context) {
        val component = ComponentName(context, PaymentListenerService::class.java)
        try {
            val pm = context.packageManager
            pm.setComponentEnabledSetting(component, PackageManager.COMPONENT_ENABLED_STATE_DISABLED, PackageManager.DONT_KILL_APP)
            pm.setComponentEnabledSetting(component, PackageManager.COMPONENT_ENABLED_STATE_ENABLED, PackageManager.DONT_KILL_APP)
            Log.w(ForwarderApp.TAG, "listener did not come back within a minute: component toggled")
        } catch (e: RuntimeException) {
            Log.w(ForwarderApp.TAG, "cannot toggle the listener component", e)
        }
        PaymentListenerService.requestRebind(context)
    }
}

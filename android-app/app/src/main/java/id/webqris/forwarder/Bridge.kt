// The process's one Forwarder (the bridge's outbox and delivery worker), made from the saved settings;
// its health drives the persistent status notification.
package id.webqris.forwarder

import android.content.Context
import android.util.Log
import id.webqris.bridge.Forwarder
import id.webqris.bridge.ForwarderException
import id.webqris.bridge.IncomingNotification
import id.webqris.bridge.SubmitOutcome
import java.io.File
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

object Bridge {
    private const val THREAD = "webqris-submit"

    /** Every use of the forwarder runs here: never on the main thread, submits in arrival order, and
     * never alongside [shutdown]. */
    val executor: ExecutorService = Executors.newSingleThreadExecutor { r ->
        Thread(r, THREAD).apply { isDaemon = true }
    }

    @Volatile
    private var forwarder: Forwarder? = null
    private val lock = Any()

    /** The running forwarder, started on first use; null until the app is set up. */
    fun get(context: Context): Forwarder? {
        forwarder?.let { return it }
        synchronized(lock) {
            forwarder?.let { return it }
            val settings = SettingsStore(context).load()
            if (!settings.isConfigured) return null
            return try {
                Forwarder(settings.toConfig(databaseFile(context), appVersion(context))).also {
                    forwarder = it
                    it.setListenerConnected(ListenerState.connected)
                    it.setHealthObserver(StatusNotifier(context))
                }
            } catch (e: ForwarderException) {
                Log.e(ForwarderApp.TAG, "cannot start the forwarder", e)
                null
            }
        }
    }

    /** Applies new settings to the running forwarder (or starts it). */
    fun reconfigure(context: Context) {
        synchronized(lock) {
            val running = forwarder
            val settings = SettingsStore(context).load()
            if (running == null) {
                get(context)
                return
            }
            running.reconfigure(settings.toConfig(databaseFile(context), appVersion(context)))
        }
    }

    /** Hands a notification to the bridge off the caller's thread. */
    fun submitAsync(context: Context, notification: IncomingNotification, done: (SubmitOutcome?) -> Unit = {}) {
        val app = context.applicationContext
        executor.execute {
            val outcome = try {
                get(app)?.submit(notification)
            } catch (e: ForwarderException) {
                Log.e(ForwarderApp.TAG, "submit failed", e)
                null
            }
            done(outcome)
        }
    }

    /** Stops the forwarder (tests, and settings that change the database), after the work already handed
     * to the executor: nothing queued before it finds the forwarder destroyed under its feet. */
    fun shutdown() {
        val stop = Runnable {
            synchronized(lock) {
                forwarder?.setHealthObserver(null)
                forwarder?.shutdown()
                forwarder?.destroy()
                forwarder = null
            }
        }
        if (Thread.currentThread().name == THREAD) stop.run() else executor.submit(stop).get(30, TimeUnit.SECONDS)
    }

    fun databaseFile(context: Context): File = File(context.applicationContext.filesDir, "outbox.db")

    private fun appVersion(context: Context): String = try {
        context.packageManager.getPackageInfo(context.packageName, 0).versionName ?: "0.1.0"
    } catch (e: Exception) {
        "0.1.0"
    }
}

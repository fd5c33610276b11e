// The process's one Forwarder (the bridge's outbox and delivery worker), made from the saved settings.
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

object Bridge {
    /** Submits run here: never on the main thread, and in arrival order. */
    val executor: ExecutorService = Executors.newSingleThreadExecutor { r ->
        Thread(r, "webqris-submit").apply { isDaemon = true }
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

    /** Stops the forwarder (tests, and settings that change the database). */
    fun shutdown() {
        synchronized(lock) {
            forwarder?.shutdown()
            forwarder?.destroy()
            forwarder = null
        }
    }

    fun databaseFile(context: Context): File = File(context.applicationContext.filesDir, "outbox.db")

    private fun appVersion(context: Context): String = try {
        context.packageManager.getPackageInfo(context.packageName, 0).versionName ?: "0.1.0"
    } catch (e: Exception) {
        "0.1.0"
    }
}

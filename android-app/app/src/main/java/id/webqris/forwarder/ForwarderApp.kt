// The application: initialises the native bridge's platform hooks before anything talks to the server.
package id.webqris.forwarder

import android.app.Application
import android.util.Log

class ForwarderApp : Application() {
    override fun onCreate() {
        super.onCreate()
        try {
            // Without this, reqwest/rustls panics on the first HTTPS request on Android.
            NativeInit.initPlatform(this)
        } catch (e: Throwable) {
            Log.e(TAG, "native bridge initialisation failed; HTTPS will not work", e)
        }
        // Start delivering whatever the outbox still holds (after an update, a crash or a reboot); off the
        // main thread, as opening the outbox touches the disk.
        Bridge.executor.execute { Bridge.get(this) }
        ListenerWatchdog.schedule(this)
    }

    companion object {
        const val TAG = "webqris"
    }
}

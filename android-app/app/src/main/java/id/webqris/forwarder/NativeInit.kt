// The one JNI entry of the bridge (android-bridge/src/android.rs): hands the application context to
// rustls-platform-verifier (Android trust store) and routes the bridge's log to logcat.
package id.webqris.forwarder

import android.content.Context

object NativeInit {
    init {
        System.loadLibrary("webqris_android")
    }

    /** Must run once before the first HTTPS request; called from [ForwarderApp.onCreate]. */
    @JvmStatic
    external fun initPlatform(context: Context)
}

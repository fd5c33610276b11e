// Minimal stand-in for the part of androidx.test (Apache-2.0, published only on Google's Maven, which this
// project's build machines cannot reach) that Robolectric's test environment calls while it sets up an
// application. Only the host Maven build (android-app/pom.xml) uses it; a Gradle build gets the real
// androidx.test:monitor from Google's Maven instead.
package androidx.test.runner.intent

import android.app.Instrumentation
import android.content.Intent

interface IntentMonitor

interface IntentStubber {
    fun getActivityResultForIntent(intent: Intent): Instrumentation.ActivityResult?
}

object IntentMonitorRegistry {
    @Volatile private var monitor: IntentMonitor? = null

    @JvmStatic
    fun registerInstance(monitor: IntentMonitor?) {
        this.monitor = monitor
    }
}

object IntentStubberRegistry {
    @JvmStatic
    fun isLoaded(): Boolean = false

    @JvmStatic
    fun getInstance(): IntentStubber = throw IllegalStateException("no intent stubber loaded")
}

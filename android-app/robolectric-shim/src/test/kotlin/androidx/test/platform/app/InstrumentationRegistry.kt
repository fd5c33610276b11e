// Minimal stand-in for the part of androidx.test (Apache-2.0, published only on Google's Maven, which this
// project's build machines cannot reach) that Robolectric's test environment calls while it sets up an
// application. Only the host Maven build (android-app/pom.xml) uses it; a Gradle build gets the real
// androidx.test:monitor from Google's Maven instead.
package androidx.test.platform.app

import android.app.Instrumentation
import android.os.Bundle

object InstrumentationRegistry {
    @Volatile private var instrumentation: Instrumentation? = null
    @Volatile private var arguments: Bundle = Bundle()

    @JvmStatic
    fun registerInstance(instrumentation: Instrumentation?, arguments: Bundle?) {
        this.instrumentation = instrumentation
        this.arguments = arguments ?: Bundle()
    }

    @JvmStatic
    fun getInstrumentation(): Instrumentation =
        instrumentation ?: throw IllegalStateException("no instrumentation registered")

    @JvmStatic
    fun getArguments(): Bundle = arguments
}

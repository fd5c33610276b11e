// Minimal stand-in for the part of androidx.test (Apache-2.0, published only on Google's Maven, which this
// project's build machines cannot reach) that Robolectric's test environment calls while it sets up an
// application. Only the host Maven build (android-app/pom.xml) uses it; a Gradle build gets the real
// androidx.test:monitor from Google's Maven instead.
package androidx.test.runner.lifecycle

import android.app.Activity

enum class Stage { PRE_ON_CREATE, CREATED, STARTED, RESUMED, PAUSED, STOPPED, RESTARTED, DESTROYED }

enum class ApplicationStage { PRE_ON_CREATE, CREATED }

interface ActivityLifecycleMonitor {
    fun getLifecycleStageOf(activity: Activity): Stage
}

interface ApplicationLifecycleMonitor

object ActivityLifecycleMonitorRegistry {
    @Volatile private var monitor: ActivityLifecycleMonitor? = null

    @JvmStatic
    fun getInstance(): ActivityLifecycleMonitor =
        monitor ?: throw IllegalStateException("no activity lifecycle monitor registered")

    @JvmStatic
    fun registerInstance(monitor: ActivityLifecycleMonitor?) {
        this.monitor = monitor
    }
}

object ApplicationLifecycleMonitorRegistry {
    @Volatile private var monitor: ApplicationLifecycleMonitor? = null

    @JvmStatic
    fun registerInstance(monitor: ApplicationLifecycleMonitor?) {
        this.monitor = monitor
    }
}

// Minimal stand-in for the part of androidx.test (Apache-2.0, published only on Google's Maven, which this
// project's build machines cannot reach) that Robolectric's test environment calls while it sets up an
// application. Only the host Maven build (android-app/pom.xml) uses it; a Gradle build gets the real
// androidx.test:monitor from Google's Maven instead.
package androidx.test.internal.runner.lifecycle

import android.app.Activity
import android.app.Application
import androidx.test.runner.lifecycle.ActivityLifecycleMonitor
import androidx.test.runner.lifecycle.ApplicationLifecycleMonitor
import androidx.test.runner.lifecycle.ApplicationStage
import androidx.test.runner.lifecycle.Stage
import java.util.WeakHashMap

class ActivityLifecycleMonitorImpl : ActivityLifecycleMonitor {
    private val stages = WeakHashMap<Activity, Stage>()

    fun signalLifecycleChange(stage: Stage, activity: Activity) {
        synchronized(stages) { stages[activity] = stage }
    }

    override fun getLifecycleStageOf(activity: Activity): Stage =
        synchronized(stages) { stages[activity] } ?: throw IllegalArgumentException("unknown activity")
}

class ApplicationLifecycleMonitorImpl : ApplicationLifecycleMonitor {
    @Volatile var stage: ApplicationStage? = null
        private set

    fun signalLifecycleChange(application: Application, stage: ApplicationStage) {
        this.stage = stage
    }
}

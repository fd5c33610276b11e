// Minimal stand-in for the part of androidx.test (Apache-2.0, published only on Google's Maven, which this
// project's build machines cannot reach) that Robolectric's test environment calls while it sets up an
// application. Only the host Maven build (android-app/pom.xml) uses it; a Gradle build gets the real
// androidx.test:monitor from Google's Maven instead.
package androidx.test.espresso

import android.os.Looper

interface IdlingResource {
    fun getName(): String
    fun isIdleNow(): Boolean
    fun registerIdleTransitionCallback(callback: ResourceCallback)

    interface ResourceCallback {
        fun onTransitionToIdle()
    }
}

class IdlingRegistry private constructor() {
    fun getResources(): Collection<IdlingResource> = emptyList()
    fun getLoopers(): Collection<Looper> = emptyList()

    companion object {
        private val instance = IdlingRegistry()

        @JvmStatic
        fun getInstance(): IdlingRegistry = instance
    }
}

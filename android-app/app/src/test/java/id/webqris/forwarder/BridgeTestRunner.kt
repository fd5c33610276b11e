// Robolectric's runner, told to leave JNA and the generated bindings to the ordinary class loader: JNA's
// native dispatch library can be loaded by one class loader per JVM only, and the bridge's native
// library is process-wide state.
package id.webqris.forwarder

import org.junit.runners.model.FrameworkMethod
import org.robolectric.RobolectricTestRunner
import org.robolectric.internal.bytecode.InstrumentationConfiguration

class BridgeTestRunner(testClass: Class<*>) : RobolectricTestRunner(testClass) {
    override fun createClassLoaderConfig(method: FrameworkMethod): InstrumentationConfiguration =
        InstrumentationConfiguration.Builder(super.createClassLoaderConfig(method))
            .doNotAcquirePackage("com.sun.jna")
            .doNotAcquirePackage("id.webqris.bridge")
            .build()
}

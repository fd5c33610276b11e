// The listener comes back (issue 10): a disconnect asks for a rebind at once; if the listener is still
// gone a minute later its component is toggled off and on and a rebind asked again; after an app update
// (MY_PACKAGE_REPLACED) the same happens and the outbox is delivered. Time is Robolectric's paused main
// looper, advanced by the test (nothing sleeps). What the real system does with these requests needs a
// device (README).
package id.webqris.forwarder

import android.content.ComponentName
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.os.Looper
import id.webqris.testing.ScriptedServer
import id.webqris.testing.jsonField
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowNotificationListenerService
import java.time.Duration
import java.util.concurrent.Callable
import java.util.concurrent.TimeUnit

@RunWith(BridgeTestRunner::class)
@Config(sdk = [34])
class ListenerRebinderTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val component = ComponentName(context, PaymentListenerService::class.java)
    private val closing = mutableListOf<AutoCloseable>()

    @Before
    fun fresh() {
        ShadowNotificationListenerService.reset()
        ListenerRebinder.onConnected()
        ListenerState.connected = false
        Texts.lookup = id.webqris.testing.StringsXml.lookup()
    }

    @After
    fun tearDown() {
        Bridge.shutdown()
        closing.forEach { it.close() }
    }

    private fun rebinds() = ShadowNotificationListenerService.getRebindRequestCount()

    private fun componentState() = context.packageManager.getComponentEnabledSetting(component)

    private fun advance(seconds: Long) = shadowOf(Looper.getMainLooper()).idleFor(Duration.ofSeconds(seconds))

    /** A connected listener, its component in the manifest's default state (Robolectric's service
     * controller marks it enabled, and keeps component states across tests): a toggle leaves it
     * explicitly enabled. */
    private fun connectedListener(): PaymentListenerService {
        val listener = Robolectric.buildService(PaymentListenerService::class.java).create().get()
        context.packageManager.setComponentEnabledSetting(
            component, PackageManager.COMPONENT_ENABLED_STATE_DEFAULT, PackageManager.DONT_KILL_APP,
        )
        return listener.also { it.onListenerConnected() }
    }

    @Test
    fun aListenerThatStaysGoneIsRebindRequestedThenToggledAfterAMinute() {
        val listener = connectedListener()
        listener.onListenerDisconnected()
        assertEquals("a rebind is asked for at once", 1, rebinds())
        advance(30)
        assertEquals("not toggled before a minute", PackageManager.COMPONENT_ENABLED_STATE_DEFAULT, componentState())
        advance(31)
        assertEquals(
            "toggled off and on: explicitly enabled again",
            PackageManager.COMPONENT_ENABLED_STATE_ENABLED,
            componentState(),
        )
        assertEquals("and a rebind asked again", 2, rebinds())
    }

    @Test
    fun aListenerBackWithinAMinuteIsLeftAlone() {
        val listener = connectedListener()
        listener.onListenerDisconnected()
        advance(20)
        listener.onListenerConnected()
        advance(120)
        assertEquals(PackageManager.COMPONENT_ENABLED_STATE_DEFAULT, componentState())
        assertEquals(1, rebinds())
    }

    @Test
    fun afterAnAppUpdateTheListenerIsBroughtBackAndTheQueueDelivered() {
        val port = ScriptedServer.closedPort()
        SettingsStore(context).save(
            ForwarderSettings("http://127.0.0.1:$port", "cbs_robolectric_secret_0123456789", "device-01", "Toko ABC", setOf("id.dana")),
        )
        connectedListener().onNotificationPosted(
            Notifications.posted(context, "id.dana", "DANA", "Rp10 diterima DANA Bisnis.", postTime = 9),
        )
        Bridge.executor.submit(Callable { }).get(10, TimeUnit.SECONDS)
        Bridge.shutdown() // the old version's process ends with the update
        ListenerState.connected = false

        val server = ScriptedServer.start(port).also { closing += it }
        BootReceiver().onReceive(context, Intent(Intent.ACTION_MY_PACKAGE_REPLACED))
        Bridge.executor.submit(Callable { }).get(10, TimeUnit.SECONDS)
        shadowOf(Looper.getMainLooper()).idle()
        assertEquals("the listener is asked back", 1, rebinds())
        assertEquals("Rp10 diterima DANA Bisnis.", jsonField(server.next().body, "message"))
        assertTrue(Bridge.get(context)!!.waitUntilDrained(10_000uL).drained)
        advance(61)
        assertEquals(
            "still unbound a minute after the update: toggled",
            PackageManager.COMPONENT_ENABLED_STATE_ENABLED,
            componentState(),
        )
    }
}

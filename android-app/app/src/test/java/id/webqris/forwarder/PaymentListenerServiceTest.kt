// The app's listener service under Robolectric: notifications posted to it go through the real bridge
// (host build of the Rust library, through JNA) to a server on loopback — a scripted one for what the
// phone sends, the real webqris server for what it causes.
package id.webqris.forwarder

import android.content.Context
import id.webqris.bridge.DeliveryState
import id.webqris.testing.RealServer
import id.webqris.testing.ScriptedServer
import id.webqris.testing.jsonField
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assume.assumeTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import java.util.concurrent.Callable
import java.util.concurrent.TimeUnit

@RunWith(BridgeTestRunner::class)
@Config(sdk = [34])
class PaymentListenerServiceTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val closing = mutableListOf<AutoCloseable>()

    @org.junit.Before
    fun words() {
        Texts.lookup = id.webqris.testing.StringsXml.lookup()
    }

    @After
    fun tearDown() {
        Bridge.shutdown()
        closing.forEach { it.close() }
    }

    private fun configure(serverUrl: String, secret: String) {
        SettingsStore(context).save(ForwarderSettings(serverUrl, secret, "device-01", "Toko ABC", setOf("id.dana")))
    }

    private fun connectedListener(): PaymentListenerService =
        Robolectric.buildService(PaymentListenerService::class.java).create().get().also { it.onListenerConnected() }

    /** Waits until every submit handed to the bridge so far has run (the executor is sequential). */
    private fun submitsDone() {
        Bridge.executor.submit(Callable { }).get(10, TimeUnit.SECONDS)
    }

    @Test
    fun aPostedNotificationReachesTheServerInTheContractShape() {
        val server = ScriptedServer.start().also { closing += it }
        configure(server.url, "cbs_robolectric_secret_0123456789")
        val listener = connectedListener()
        listener.onNotificationPosted(
            Notifications.posted(context, "id.dana", "Pembayaran Masuk", "Rp29.000 diterima", "Rp29.000 diterima DANA Bisnis.", postTime = 1774088123000),
        )
        val got = server.next()
        assertEquals("/api/webhook/payment", got.path)
        assertEquals("Bearer cbs_robolectric_secret_0123456789", got.authorization)
        assertEquals("id.dana", jsonField(got.body, "app"))
        assertEquals("Pembayaran Masuk", jsonField(got.body, "title"))
        assertEquals("Rp29.000 diterima DANA Bisnis.", jsonField(got.body, "message"))
        assertEquals("2026-03-21T10:15:23.000Z", jsonField(got.body, "timestamp"))
        assertEquals("device-01", jsonField(got.body, "device_id"))
        assertTrue(jsonField(got.body, "notif_id")!!.endsWith("@1774088123000"))
        assertEquals("payments", jsonField(got.body, "channel_id"))
        assertEquals("android.app.Notification\$BigTextStyle", jsonField(got.body, "template"))
    }

    @Test
    fun otherAppsGroupSummariesAndRedeliveriesAreNotSent() {
        val server = ScriptedServer.start().also { closing += it }
        configure(server.url, "cbs_robolectric_secret_0123456789")
        val listener = connectedListener()
        val payment = Notifications.posted(context, "id.dana", "DANA", "Rp10 diterima DANA Bisnis.", postTime = 5)
        listener.onNotificationPosted(Notifications.posted(context, "com.whatsapp", "Ibu", "Rp10 diterima", postTime = 1))
        listener.onNotificationPosted(Notifications.posted(context, "id.dana", "DANA", "", postTime = 2, groupSummary = true))
        listener.onNotificationPosted(payment)
        // The listener reconnects: Android re-delivers what is in the shade.
        listener.onListenerDisconnected()
        listener.onListenerConnected()
        listener.onNotificationPosted(payment)
        submitsDone()
        val forwarder = Bridge.get(context)!!
        assertTrue(forwarder.waitUntilDrained(10_000uL).drained)
        assertEquals("Rp10 diterima DANA Bisnis.", jsonField(server.next().body, "message"))
        assertEquals("only the DANA payment, once", 0, server.requests.size)
        assertEquals(listOf(DeliveryState.SENT), forwarder.recentLog(10u).map { it.state })
    }

    @Test
    fun aDanaPaymentNotificationPaysTheInvoiceOnTheRealServer() {
        assumeTrue("the webqris binary does not implement serve yet", RealServer.available)
        val server = RealServer.started().also { closing += it }
        val (invoice, total) = server.createInvoice(25_000)
        configure(server.url, server.callbackSecret)
        connectedListener().onNotificationPosted(
            Notifications.posted(context, "id.dana", "DANA", "Kamu berhasil menerima Rp${RealServer.rupiah(total)} dari JOHN DOE", postTime = 1774088123000),
        )
        submitsDone()
        val forwarder = Bridge.get(context)!!
        assertTrue(forwarder.waitUntilDrained(10_000uL).drained)
        val entry = forwarder.recentLog(1u).single()
        assertEquals(invoice, entry.invoiceId)
        assertEquals("paid", server.statusOf(invoice))
    }

    @Test
    fun afterARebootTheQueueLeftByTheDeadProcessIsDelivered() {
        val port = ScriptedServer.closedPort()
        configure("http://127.0.0.1:$port", "cbs_robolectric_secret_0123456789")
        connectedListener().onNotificationPosted(
            Notifications.posted(context, "id.dana", "DANA", "Rp10 diterima DANA Bisnis.", postTime = 9),
        )
        submitsDone()
        assertEquals("server down: queued", 1uL, Bridge.get(context)!!.waitUntilDrained(200uL).pending)
        Bridge.shutdown() // the process dies

        val server = ScriptedServer.start(port).also { closing += it }
        BootReceiver().onReceive(context, android.content.Intent(android.content.Intent.ACTION_BOOT_COMPLETED))
        submitsDone()
        assertEquals("Rp10 diterima DANA Bisnis.", jsonField(server.next().body, "message"))
        assertTrue(Bridge.get(context)!!.waitUntilDrained(10_000uL).drained)
    }

    @Test
    fun theStatusShowsTheListenerAndTheQueue() {
        val server = ScriptedServer.start().also { closing += it }
        configure(server.url, "cbs_robolectric_secret_0123456789")
        connectedListener()
        submitsDone()
        val status = Bridge.get(context)!!.status()
        assertTrue(status.health.listenerConnected)
        assertEquals(0uL, status.health.pending)
    }
}

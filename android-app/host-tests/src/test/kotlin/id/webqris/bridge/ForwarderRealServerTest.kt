// The Forwarder through the Kotlin bindings against the real webqris server (RealServer): a DANA
// notification pays the invoice; a queue outlives the server being down and the forwarder being
// reopened; nothing is delivered or paid twice. Skipped (JUnit assumption) only when the webqris binary
// does not implement `serve`; scripts/test.d/20-android.sh says so loudly.
package id.webqris.bridge

import id.webqris.testing.RealServer
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assume.assumeTrue
import org.junit.Before
import org.junit.Test
import java.io.File

class ForwarderRealServerTest {
    private val dir: File = kotlin.io.path.createTempDirectory("fwd").toFile()
    private val opened = mutableListOf<Forwarder>()
    private val servers = mutableListOf<RealServer>()

    @Before
    fun needsTheServer() = assumeTrue("the webqris binary does not implement serve yet", RealServer.available)

    @After
    fun close() {
        opened.forEach { it.shutdown(); it.destroy() }
        servers.forEach { it.close() }
        dir.deleteRecursively()
    }

    private fun server(): RealServer = RealServer.prepared().also { servers += it }

    private fun open(server: RealServer): Forwarder = Forwarder(
        ForwarderConfig(
            serverUrl = server.url,
            callbackSecret = server.callbackSecret,
            deviceId = "device-01",
            enabledApps = listOf("id.dana"),
            databasePath = File(dir, "outbox.db").path,
            retryBaseMs = 50uL,
            retryCapMs = 500uL,
        ),
    ).also { opened += it }

    private fun dana(total: Long, postTime: Long) = IncomingNotification(
        "id.dana", "DANA", "Kamu berhasil menerima Rp${RealServer.rupiah(total)} dari JOHN DOE", null, "0|id.dana|-1|null|$postTime", postTime,
    )

    @Test
    fun aDanaNotificationPaysTheInvoice() {
        val server = server().start()
        val (invoice, total) = server.createInvoice(25_000)
        val fwd = open(server)
        val outcome = fwd.submit(dana(total, 1774088123000))
        assertTrue("the phone reads it as an incoming payment: $outcome", outcome is SubmitOutcome.Queued)
        assertTrue(fwd.waitUntilDrained(10_000uL).drained)
        val entry = fwd.recentLog(1u).single()
        assertEquals(200.toUShort(), entry.httpStatus)
        assertEquals(invoice, entry.invoiceId)
        assertEquals("paid", server.statusOf(invoice))
    }

    @Test
    fun queuedWhileTheServerIsDownThenDeliveredWhenItStarts() {
        val server = server().start()
        val (invoice, total) = server.createInvoice(26_000)
        server.stop()
        val fwd = open(server)
        fwd.submit(dana(total, 1774088200000))
        assertEquals(1uL, fwd.waitUntilDrained(300uL).pending)
        server.start()
        fwd.retryNow()
        assertTrue(fwd.waitUntilDrained(10_000uL).drained)
        assertEquals("paid", server.statusOf(invoice))
    }

    @Test
    fun theSameNotificationTwiceIsDeliveredOnce() {
        val server = server().start()
        val (invoice, total) = server.createInvoice(27_000)
        val fwd = open(server)
        assertTrue(fwd.submit(dana(total, 1774088300000)) is SubmitOutcome.Queued)
        assertTrue(fwd.submit(dana(total, 1774088300000)) is SubmitOutcome.AlreadySeen)
        assertTrue(fwd.waitUntilDrained(10_000uL).drained)
        assertEquals(1, fwd.recentLog(10u).size)
        assertEquals("paid", server.statusOf(invoice))
    }

    @Test
    fun aForwarderReopenedMidQueueLosesNothingAndPaysNothingTwice() {
        val server = server().start()
        val (first, total1) = server.createInvoice(28_000)
        val (second, total2) = server.createInvoice(29_000)
        server.stop()
        val before = open(server)
        before.submit(dana(total1, 1774088400000))
        before.submit(dana(total2, 1774088400500))
        assertEquals(2uL, before.waitUntilDrained(300uL).pending)
        before.shutdown()
        before.destroy()
        opened.remove(before)

        server.start()
        val after = open(server)
        assertTrue(after.waitUntilDrained(10_000uL).drained)
        assertEquals("paid", server.statusOf(first))
        assertEquals("paid", server.statusOf(second))
        assertTrue(after.submit(dana(total1, 1774088400000)) is SubmitOutcome.AlreadySeen)
        assertEquals(listOf(200.toUShort(), 200.toUShort()), after.recentLog(10u).map { it.httpStatus })
    }
}

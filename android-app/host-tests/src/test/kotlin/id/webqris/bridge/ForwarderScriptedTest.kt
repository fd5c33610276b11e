// The Forwarder through the Kotlin bindings against a scripted loopback server: what Kotlin sees of the
// outbox (outcomes, log, status, errors). The delivery rules themselves are tested in Rust.
package id.webqris.bridge

import id.webqris.testing.ScriptedServer
import id.webqris.testing.jsonField
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.File
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

class ForwarderScriptedTest {
    private val dir: File = kotlin.io.path.createTempDirectory("fwd").toFile()
    private val server = ScriptedServer.start()
    private val opened = mutableListOf<Forwarder>()

    /** A forwarder on the scripted server, millisecond retries; parked items wait their default 30 min. */
    private fun open(maxAttempts: UInt = 10u): Forwarder = Forwarder(
        ForwarderConfig(
            serverUrl = server.url,
            callbackSecret = SECRET,
            deviceId = "device-01",
            enabledApps = listOf("id.dana"),
            databasePath = File(dir, "outbox.db").path,
            retryBaseMs = 20uL,
            retryCapMs = 200uL,
            maxAttempts = maxAttempts,
        ),
    ).also { opened += it }

    @After
    fun close() {
        opened.forEach { it.shutdown(); it.destroy() }
        server.close()
        dir.deleteRecursively()
    }

    @Test
    fun aSubmittedNotificationIsPostedInTheContractShapeAndLogged() {
        val fwd = open()
        val outcome = fwd.submit(IncomingNotification("id.dana", "Pembayaran Masuk", "Rp29.000 diterima DANA Bisnis.", null, "k1", 1774088123000))
        assertTrue(outcome is SubmitOutcome.Queued)
        val got = server.next()
        assertEquals("/api/webhook/payment", got.path)
        assertEquals("Bearer $SECRET", got.authorization)
        assertEquals("id.dana", jsonField(got.body, "app"))
        assertEquals("Rp29.000 diterima DANA Bisnis.", jsonField(got.body, "message"))
        assertEquals("2026-03-21T10:15:23.000Z", jsonField(got.body, "timestamp"))
        assertEquals("device-01", jsonField(got.body, "device_id"))
        assertEquals("k1@1774088123000", jsonField(got.body, "notif_id"))
        assertEquals((outcome as SubmitOutcome.Queued).eventHash, jsonField(got.body, "event_hash"))
        assertTrue(fwd.waitUntilDrained(10_000uL).drained)
        val entry = fwd.recentLog(1u).single()
        assertEquals(DeliveryState.SENT, entry.state)
        assertEquals(200.toUShort(), entry.httpStatus)
        assertEquals("INV-1", entry.invoiceId)
    }

    @Test
    fun theSameNotificationTwiceIsDeliveredOnce() {
        val fwd = open()
        val n = IncomingNotification("id.dana", "DANA", "Rp10 diterima DANA Bisnis.", null, "k", 5)
        assertTrue(fwd.submit(n) is SubmitOutcome.Queued)
        assertTrue(fwd.submit(n) is SubmitOutcome.AlreadySeen)
        assertTrue(fwd.waitUntilDrained(10_000uL).drained)
        assertTrue(fwd.submit(n) is SubmitOutcome.AlreadySeen)
        server.next()
        assertEquals(0, server.requests.size)
    }

    /** A Kotlin observer (uniffi foreign trait) sees the refusal, then the healed, empty queue. */
    @Test
    fun aRefusalIsReportedToTheHealthObserverAndHealsByItself() {
        server.replies.add(ScriptedServer.Reply(401, """{"success":false,"message":"Invalid callback secret"}"""))
        val seen = LinkedBlockingQueue<ForwarderHealth>()
        val fwd = open()
        fwd.setHealthObserver(object : HealthObserver {
            override fun healthChanged(health: ForwarderHealth) {
                seen.add(health)
            }
        })
        fwd.submit(IncomingNotification("id.dana", "DANA", "Rp10 diterima DANA Bisnis.", null, "k", 5, "status", null, "payments"))
        val refused = awaitHealth(seen) { it.problem?.kind == ProblemKind.REFUSED }
        assertEquals(401.toUShort(), refused.problem!!.httpStatus)
        assertTrue(refused.problem!!.message.contains("401"))
        assertTrue(fwd.waitUntilDrained(10_000uL).drained)
        awaitHealth(seen) { it.problem == null && it.pending == 0uL }
        assertEquals(null, fwd.status().health.problem)
        assertEquals("payments", jsonField(server.next().body, "channel_id"))
        fwd.setHealthObserver(null)
    }

    private fun awaitHealth(seen: LinkedBlockingQueue<ForwarderHealth>, wanted: (ForwarderHealth) -> Boolean): ForwarderHealth {
        while (true) {
            val health = seen.poll(10, TimeUnit.SECONDS) ?: fail("no such health within 10 s") as Nothing
            if (wanted(health)) return health
        }
    }

    @Test
    fun aParkedItemIsShownInTheLogAndRetriedByATap() {
        server.defaultReply = ScriptedServer.Reply(500, """{"success":false,"message":"Internal error"}""")
        val fwd = open(maxAttempts = 2u)
        val hash = (fwd.submit(IncomingNotification("id.dana", "DANA", "Rp10 diterima DANA Bisnis.", null, "k", 5)) as SubmitOutcome.Queued).eventHash
        val parked = fwd.waitUntilDrained(10_000uL)
        assertEquals(1uL, parked.parked)
        assertEquals(DeliveryState.PARKED, fwd.logEntry(hash)!!.state)
        server.defaultReply = ScriptedServer.Reply(200, """{"success":true,"invoice_id":"INV-9"}""")
        assertTrue(fwd.retryItem(hash))
        assertTrue(fwd.waitUntilDrained(10_000uL).drained)
        assertEquals("INV-9", fwd.logEntry(hash)!!.invoiceId)
    }

    @Test
    fun theConnectionTestReturnsTheServersMessageOrRaises() {
        val ok = "Koneksi berhasil! Auth valid ✓ (Merchant: Toko ABC)"
        server.replies.add(ScriptedServer.Reply(200, """{"success":true,"message":"$ok","test":true}"""))
        server.replies.add(ScriptedServer.Reply(401, """{"success":false,"message":"Invalid callback secret"}"""))
        val fwd = open()
        assertEquals(ok, fwd.testConnection())
        assertEquals("test", jsonField(server.next().body, "event_hash"))
        try {
            fwd.testConnection()
            fail("401 must raise")
        } catch (e: ForwarderException.Unauthorized) {
            assertEquals(401.toUShort(), e.status)
        }
    }

    companion object {
        const val SECRET = "cbs_kotlin_test_secret_0123456789abcdef"
    }
}

// The Forwarder through the Kotlin bindings against a scripted loopback server: what Kotlin sees of the
// outbox (outcomes, log, status, errors). The delivery rules themselves are tested in Rust.
package id.webqris.bridge

import id.webqris.testing.ScriptedServer
import id.webqris.testing.jsonField
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.File

class ForwarderScriptedTest {
    private val dir: File = kotlin.io.path.createTempDirectory("fwd").toFile()
    private val server = ScriptedServer.start()
    private val opened = mutableListOf<Forwarder>()

    private fun open(): Forwarder = Forwarder(
        ForwarderConfig(
            serverUrl = server.url,
            callbackSecret = SECRET,
            deviceId = "device-01",
            enabledApps = listOf("id.dana"),
            sendAll = true,
            databasePath = File(dir, "outbox.db").path,
            retryBaseMs = 20uL,
            retryCapMs = 200uL,
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

    @Test
    fun aRefusedSecretStopsDeliveryWithAConfigurationError() {
        server.replies.add(ScriptedServer.Reply(401, """{"success":false,"message":"Invalid callback secret"}"""))
        val fwd = open()
        fwd.submit(IncomingNotification("id.dana", "DANA", "Rp10 diterima DANA Bisnis.", null, "k", 5))
        val result = fwd.waitUntilDrained(10_000uL)
        assertFalse(result.drained)
        assertEquals(1uL, result.pending)
        assertTrue(result.configError!!.contains("401"))
        assertEquals(result.configError, fwd.status().configError)
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

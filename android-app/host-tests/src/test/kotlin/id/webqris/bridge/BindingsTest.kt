// The uniffi bindings (JVM flavour) over the host build of the bridge, through JNA: the pure functions.
package id.webqris.bridge

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.security.MessageDigest

class BindingsTest {
    /** The event hash encoding of core's `event.rs`, written again here: phone and server must agree. */
    private fun expectedEventHash(vararg fields: String): String {
        val sha = MessageDigest.getInstance("SHA-256")
        sha.update("webqris-event-v1\n".toByteArray())
        for (f in fields) {
            val bytes = f.toByteArray()
            sha.update("${bytes.size}:".toByteArray())
            sha.update(bytes)
            sha.update("\n".toByteArray())
        }
        return sha.digest().joinToString("") { "%02x".format(it) }
    }

    @Test
    fun theEventHashIsTheDocumentedEncodingOverTheEffectiveText() {
        val hash = eventHash("ID.DANA ", "0|id.dana|-1|null|10123", 1774088123000, "DANA", "short", "Rp29.000 diterima DANA Bisnis. ")
        assertEquals(
            expectedEventHash("id.dana", "0|id.dana|-1|null|10123", "1774088123000", "DANA", "Rp29.000 diterima DANA Bisnis."),
            hash,
        )
        assertNotEquals(hash, eventHash("id.dana", "0|id.dana|-1|null|10123", 1774088123001, "DANA", "Rp29.000 diterima DANA Bisnis.", null))
    }

    @Test
    fun theEffectiveTextIsTheBigTextUnlessItIsBlank() {
        assertEquals("long", effectiveText("short", "long"))
        assertEquals("short", effectiveText("short", "  "))
        assertEquals("short", effectiveText("short", null))
    }

    @Test
    fun theDocumentedSetupLinkParsesAndBadOnesSayWhy() {
        val link = parseSetupLink("webqris://setup?server=https%3A%2F%2Fpay.example.com&secret=cbs_abc&merchant=Toko%20ABC")
        assertEquals(SetupLink("https://pay.example.com", "cbs_abc", "Toko ABC"), link)
        assertEquals(link, parseSetupLink(formatSetupLink(link)))
        try {
            parseSetupLink("webqris://setup?server=https%3A%2F%2Fpay.example.com")
            fail("a link without a secret must be refused")
        } catch (e: SetupLinkException.Missing) {
            assertEquals("secret", e.parameter)
        }
    }

    @Test
    fun anythingDoubtfulIsNotAnIncomingPayment() {
        val verdict = parseNotification("id.dana", "DANA", "Kode OTP kamu 123456. Jangan berikan ke siapa pun.", null)
        assertTrue("an OTP must never read as a payment: $verdict", verdict is NotificationVerdict.NotIncoming)
        val empty = parseNotification("id.dana", "", "", null)
        assertTrue(empty is NotificationVerdict.NotIncoming)
    }

    @Test
    fun knownAppsNeverContainTheWrongPackageNames() {
        val wrong = setOf("com.dana", "com.ovo.id", "id.co.bca.mobile", "com.gojek.gopay.merchant", "com.seabank.id", "com.bankjago.app")
        val apps = knownApps().map { it.`package` }
        assertTrue("wrong package names in known_apps: ${apps.filter { it in wrong }}", apps.none { it in wrong })
    }

    @Test
    fun badSettingsRaiseAConfigErrorNamingTheSetting() {
        try {
            Forwarder(
                ForwarderConfig("not a url", "secret", "d", null, "/tmp/never-created.db"),
            ).destroy()
            fail("a bad URL must be refused")
        } catch (e: ForwarderException.Config) {
            assertEquals("server_url", e.setting)
        }
    }

    @Test
    fun shutDownForwardersRefuseWork() {
        val dir = kotlin.io.path.createTempDirectory("fwd").toFile()
        val fwd = Forwarder(ForwarderConfig("http://127.0.0.1:9", "s", "d", null, "$dir/outbox.db"))
        fwd.shutdown()
        try {
            fwd.submit(IncomingNotification("id.dana", "t", "x", null, "k", 1))
            fail("submit after shutdown")
        } catch (e: ForwarderException.ShutDown) {
            assertNull(null)
        } finally {
            fwd.destroy()
            dir.deleteRecursively()
        }
    }
}

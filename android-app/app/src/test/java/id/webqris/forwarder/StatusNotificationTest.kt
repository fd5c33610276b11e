// The persistent status notification (issue 10): "Terhubung · 0 antre" while payments flow, "Tidak bisa
// mengirim: …" while the server refuses, in Indonesian by default and in English, through the real
// bridge and a scripted server. The words are the app's strings.xml (see Texts).
package id.webqris.forwarder

import android.app.Notification
import android.app.NotificationManager
import android.content.Context
import id.webqris.testing.ScriptedServer
import id.webqris.testing.StringsXml
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

@RunWith(BridgeTestRunner::class)
@Config(sdk = [34])
class StatusNotificationTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val closing = mutableListOf<AutoCloseable>()
    private val shown = LinkedBlockingQueue<String>()
    private val watcher: (id.webqris.bridge.ForwarderHealth) -> Unit = { shown.add(statusText() ?: "") }

    @Before
    fun watch() {
        StatusNotifier.listeners += watcher
    }

    @After
    fun tearDown() {
        StatusNotifier.listeners -= watcher
        Bridge.shutdown()
        closing.forEach { it.close() }
    }

    /** The text of the status notification as the system holds it now. */
    private fun statusText(): String? =
        context.getSystemService(NotificationManager::class.java).activeNotifications
            .firstOrNull { it.id == StatusNotifier.NOTIFICATION_ID }
            ?.notification?.extras?.getCharSequence(Notification.EXTRA_TEXT)?.toString()

    /** Waits (never sleeps) for the notification to show a text that satisfies [wanted]. */
    private fun awaitText(what: String, wanted: (String) -> Boolean): String {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10)
        while (true) {
            val left = deadline - System.nanoTime()
            val text = shown.poll(left.coerceAtLeast(0), TimeUnit.NANOSECONDS)
                ?: throw AssertionError("the status notification never said $what; it says: ${statusText()}")
            if (wanted(text)) return text
        }
    }

    private fun start(server: ScriptedServer) {
        SettingsStore(context).save(
            ForwarderSettings(server.url, "cbs_robolectric_secret_0123456789", "device-01", "Toko ABC", setOf("id.dana")),
        )
        Robolectric.buildService(PaymentListenerService::class.java).create().get().also { it.onListenerConnected() }
            .onNotificationPosted(Notifications.posted(context, "id.dana", "DANA", "Rp10 diterima DANA Bisnis.", postTime = 9))
    }

    @Test
    fun itSaysTheServerRefusesThenConnectedWithAnEmptyQueue() {
        Texts.lookup = StringsXml.lookup()
        val server = ScriptedServer.start().also { closing += it }
        server.replies.add(ScriptedServer.Reply(401, """{"success":false,"message":"Invalid callback secret"}"""))
        start(server)
        val refused = awaitText("Tidak bisa mengirim") { it.startsWith("Tidak bisa mengirim: ") }
        assertTrue(refused, refused.contains("HTTP 401") && refused.contains("Invalid callback secret"))
        assertEquals("Terhubung · 0 antre", awaitText("Terhubung · 0 antre") { it == "Terhubung · 0 antre" })
        val notification = context.getSystemService(NotificationManager::class.java).activeNotifications
            .single { it.id == StatusNotifier.NOTIFICATION_ID }.notification
        assertTrue("persistent", notification.flags and Notification.FLAG_ONGOING_EVENT != 0)
        assertEquals(StatusNotifier.CHANNEL, notification.channelId)
    }

    @Test
    fun itSpeaksEnglishOnAnEnglishPhone() {
        Texts.lookup = StringsXml.lookup("en")
        val server = ScriptedServer.start().also { closing += it }
        server.replies.add(ScriptedServer.Reply(503, """{"success":false,"message":"busy"}"""))
        start(server)
        assertEquals("Connected · 0 queued", awaitText("Connected · 0 queued") { it == "Connected · 0 queued" })
    }

    @Test
    fun aDisconnectedListenerIsShown() {
        Texts.lookup = StringsXml.lookup()
        val server = ScriptedServer.start().also { closing += it }
        start(server)
        awaitText("Terhubung") { it == "Terhubung · 0 antre" }
        Robolectric.buildService(PaymentListenerService::class.java).create().get().onListenerDisconnected()
        awaitText("listener terputus") { it == "Listener notifikasi terputus · 0 antre" }
    }
}

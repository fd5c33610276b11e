// The status screen: listener connected, notification access, last notification, outbox size, last server
// answer; and the way to every other screen.
package id.webqris.forwarder

import android.annotation.SuppressLint
import android.app.Activity
import android.content.ComponentName
import android.content.Intent
import android.net.Uri
import android.os.Bundle
import android.os.PowerManager
import android.provider.Settings
import android.widget.TextView
import id.webqris.bridge.ForwarderStatus

class MainActivity : Activity() {
    private lateinit var statusView: TextView
    private lateinit var warnings: TextView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(column {
            label(getString(R.string.app_name), 22f)
            warnings = label("", 15f)
            statusView = label(getString(R.string.status_loading))
            button(getString(R.string.action_setup)) { startActivity(Intent(this@MainActivity, SetupActivity::class.java)) }
            button(getString(R.string.action_apps)) { startActivity(Intent(this@MainActivity, AppsActivity::class.java)) }
            button(getString(R.string.action_log)) { startActivity(Intent(this@MainActivity, LogActivity::class.java)) }
            button(getString(R.string.action_retry)) { Bridge.executor.execute { runCatching { Bridge.get(this@MainActivity)?.retryNow() } } }
            button(getString(R.string.action_notification_access)) {
                startActivity(Intent("android.settings.ACTION_NOTIFICATION_LISTENER_SETTINGS"))
            }
            button(getString(R.string.action_battery)) { askBatteryExemption() }
        })
    }

    override fun onResume() {
        super.onResume()
        refresh()
        if (hasNotificationAccess()) PaymentListenerService.requestRebind(this)
    }

    private fun refresh() {
        val warningLines = mutableListOf<String>()
        if (!SettingsStore(this).load().isConfigured) warningLines += getString(R.string.warn_not_configured)
        if (!hasNotificationAccess()) warningLines += getString(R.string.warn_no_notification_access)
        if (!isIgnoringBatteryOptimizations()) warningLines += getString(R.string.warn_battery)
        warnings.text = warningLines.joinToString("\n")
        Bridge.executor.execute {
            val forwarder = Bridge.get(this)
            val status = runCatching { forwarder?.status() }.getOrNull()
            val redacted = runCatching {
                forwarder?.recentLog(20u)?.any { it.verdict.isRedacted() } ?: false
            }.getOrDefault(false)
            runOnUiThread { show(status, redacted) }
        }
    }

    private fun show(status: ForwarderStatus?, redacted: Boolean) {
        if (redacted) warnings.append("\n" + getString(R.string.warn_redacted))
        if (status == null) {
            statusView.text = getString(R.string.status_not_running)
            return
        }
        val answer = status.lastAnswer
        statusView.text = getString(
            R.string.status_body,
            getString(if (ListenerState.connected) R.string.yes else R.string.no),
            formatTime(status.lastNotificationAtMs),
            status.pending.toString(),
            answer?.let { "${it.httpStatus ?: "—"} ${it.serverMessage ?: ""} ${it.invoiceId ?: ""}".trim() } ?: "—",
            status.configError ?: "—",
            formatTime(status.lastHeartbeatAtMs),
        )
    }

    private fun hasNotificationAccess(): Boolean {
        val enabled = Settings.Secure.getString(contentResolver, "enabled_notification_listeners") ?: return false
        val me = ComponentName(this, PaymentListenerService::class.java)
        return enabled.split(':').any { ComponentName.unflattenFromString(it) == me }
    }

    private fun isIgnoringBatteryOptimizations(): Boolean =
        getSystemService(PowerManager::class.java)?.isIgnoringBatteryOptimizations(packageName) ?: true

    /** Asks to be exempt from battery optimisation: Doze would otherwise delay deliveries for hours. */
    @SuppressLint("BatteryLife")
    private fun askBatteryExemption() {
        if (isIgnoringBatteryOptimizations()) return
        startActivity(Intent(Settings.ACTION_REQUEST_IGNORE_BATTERY_OPTIMIZATIONS, Uri.parse("package:$packageName")))
    }
}


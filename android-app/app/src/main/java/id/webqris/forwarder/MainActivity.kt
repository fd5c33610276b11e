// The status screen: listener, notification access, last notification, outbox and parked items, the
// delivery problem, last heartbeat; and the way to every other screen, the battery guide included.
package id.webqris.forwarder

import android.Manifest
import android.annotation.SuppressLint
import android.app.Activity
import android.app.NotificationManager
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import android.os.Bundle
import android.os.PowerManager
import android.provider.Settings
import android.widget.TextView
import id.webqris.bridge.ForwarderStatus

class MainActivity : Activity() {
    private lateinit var statusView: TextView
    private lateinit var warnings: TextView
    private val live: (id.webqris.bridge.ForwarderHealth) -> Unit = { runOnUiThread { refresh() } }

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
            button(getString(R.string.action_battery_guide)) { startActivity(Intent(this@MainActivity, BatteryActivity::class.java)) }
        })
        askToPostNotifications()
    }

    override fun onResume() {
        super.onResume()
        StatusNotifier.listeners += live
        refresh()
        if (NotificationAccess.granted(this)) ListenerRebinder.ensureBound(this)
    }

    override fun onPause() {
        StatusNotifier.listeners -= live
        super.onPause()
    }

    private fun refresh() {
        val access = NotificationAccess.granted(this)
        val warningLines = mutableListOf<String>()
        if (!SettingsStore(this).load().isConfigured) warningLines += getString(R.string.warn_not_configured)
        if (!access) warningLines += getString(R.string.warn_no_notification_access)
        if (!isIgnoringBatteryOptimizations()) warningLines += getString(R.string.warn_battery)
        if (getSystemService(NotificationManager::class.java)?.areNotificationsEnabled() == false) {
            warningLines += getString(R.string.warn_notifications_blocked)
        }
        warnings.text = warningLines.joinToString("\n")
        Bridge.executor.execute {
            val forwarder = Bridge.get(this)
            forwarder?.setNotificationAccess(access)
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
        val health = status.health
        statusView.text = getString(
            R.string.status_body,
            getString(if (ListenerState.connected) R.string.yes else R.string.no),
            formatTime(status.lastNotificationAtMs),
            health.pending.toString(),
            health.parked.toString(),
            formatTime(health.oldestPendingAtMs),
            health.problem?.message ?: "—",
            formatTime(status.lastHeartbeatAtMs),
        )
    }

    private fun isIgnoringBatteryOptimizations(): Boolean =
        getSystemService(PowerManager::class.java)?.isIgnoringBatteryOptimizations(packageName) ?: true

    /** Android 13+ asks before an app may post notifications (the persistent status one included). */
    private fun askToPostNotifications() {
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU &&
            checkSelfPermission(Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED
        ) {
            requestPermissions(arrayOf(Manifest.permission.POST_NOTIFICATIONS), REQUEST_NOTIFICATIONS)
        }
    }

    /** Asks to be exempt from battery optimisation: Doze would otherwise delay deliveries for hours. */
    @SuppressLint("BatteryLife")
    private fun askBatteryExemption() {
        if (isIgnoringBatteryOptimizations()) return
        startActivity(Intent(Settings.ACTION_REQUEST_IGNORE_BATTERY_OPTIMIZATIONS, Uri.parse("package:$packageName")))
    }

    companion object {
        private const val REQUEST_NOTIFICATIONS = 11
    }
}

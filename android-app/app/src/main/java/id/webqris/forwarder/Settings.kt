// The forwarder's settings, kept in SharedPreferences, and the bridge configuration made from them.
package id.webqris.forwarder

import android.content.Context
import android.content.SharedPreferences
import id.webqris.bridge.ForwarderConfig
import java.io.File

/** What the user configured. Blank server URL or secret means "not set up yet". */
data class ForwarderSettings(
    val serverUrl: String,
    val callbackSecret: String,
    val deviceName: String,
    val merchantName: String,
    val enabledApps: Set<String>,
) {
    val isConfigured: Boolean
        get() = serverUrl.isNotBlank() && callbackSecret.isNotBlank()

    /** Never prints the secret (settings end up in logs and crash reports). */
    override fun toString(): String =
        "ForwarderSettings(serverUrl=$serverUrl, callbackSecret=<redacted>, deviceName=$deviceName, " +
            "merchantName=$merchantName, enabledApps=$enabledApps)"

    /** The bridge configuration; the outbox lives in the app's private files. */
    fun toConfig(databaseFile: File, appVersion: String): ForwarderConfig = ForwarderConfig(
        serverUrl = serverUrl,
        callbackSecret = callbackSecret,
        deviceId = deviceName,
        enabledApps = enabledApps.sorted(),
        databasePath = databaseFile.absolutePath,
        appVersion = appVersion,
        retryBaseMs = 2_000uL,
        retryCapMs = 300_000uL,
        maxAttempts = 10u,
        parkedRetryMs = 1_800_000uL,
        requestTimeoutMs = 20_000uL,
        heartbeatIntervalSecs = 300uL,
    )
}

class SettingsStore(context: Context) {
    private val prefs: SharedPreferences =
        context.applicationContext.getSharedPreferences(PREFS, Context.MODE_PRIVATE)

    fun load(): ForwarderSettings = ForwarderSettings(
        serverUrl = prefs.getString(KEY_SERVER, "") ?: "",
        callbackSecret = prefs.getString(KEY_SECRET, "") ?: "",
        deviceName = prefs.getString(KEY_DEVICE, null) ?: defaultDeviceName(),
        merchantName = prefs.getString(KEY_MERCHANT, "") ?: "",
        enabledApps = prefs.getStringSet(KEY_APPS, null)?.toSet() ?: KnownApps.defaultEnabled(),
    )

    fun save(settings: ForwarderSettings) {
        prefs.edit()
            .putString(KEY_SERVER, settings.serverUrl.trim())
            .putString(KEY_SECRET, settings.callbackSecret.trim())
            .putString(KEY_DEVICE, settings.deviceName.trim())
            .putString(KEY_MERCHANT, settings.merchantName.trim())
            .putStringSet(KEY_APPS, settings.enabledApps.toSet())
            // Forwarders before every notification was sent kept this choice.
            .remove(KEY_SEND_ALL)
            .commit()
    }

    private fun defaultDeviceName(): String =
        "${android.os.Build.MANUFACTURER} ${android.os.Build.MODEL}".trim().ifBlank { "android" }

    companion object {
        private const val PREFS = "webqris_forwarder"
        private const val KEY_SERVER = "server_url"
        private const val KEY_SECRET = "callback_secret"
        private const val KEY_DEVICE = "device_name"
        private const val KEY_MERCHANT = "merchant_name"
        private const val KEY_APPS = "enabled_apps"
        private const val KEY_SEND_ALL = "send_all"
    }
}

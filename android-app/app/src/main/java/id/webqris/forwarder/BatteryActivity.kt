// Per-maker battery guidance (Xiaomi, OPPO/realme, vivo, Samsung), reachable from the main screen: the
// phone's own maker first, with a button to its settings screen where one is known, then the others.
// The menu paths follow the makers' current skins; they cannot be checked here without the phones.
package id.webqris.forwarder

import android.app.Activity
import android.content.ActivityNotFoundException
import android.content.Intent
import android.net.Uri
import android.os.Build
import android.os.Bundle
import android.provider.Settings

class BatteryActivity : Activity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val mine = Maker.of(Build.MANUFACTURER)
        setContentView(column {
            label(getString(R.string.battery_title), 20f)
            label(getString(R.string.battery_intro), 14f)
            label(getString(R.string.battery_your_phone, "${Build.MANUFACTURER} ${Build.MODEL}".trim()), 14f)
            for (maker in Maker.entries.sortedBy { it != mine }) {
                label(getString(maker.guide), 15f)
                if (maker == mine) button(getString(R.string.battery_open_settings)) { openSettings(maker) }
            }
            label(getString(R.string.battery_general), 15f)
            if (mine == null) label(getString(R.string.battery_other), 14f)
        })
    }

    /** The maker's own screen when this phone has it, else the app's system settings page. */
    private fun openSettings(maker: Maker) {
        val candidates = maker.settingsScreens.map { Intent().setClassName(it.first, it.second) } +
            Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.parse("package:$packageName"))
        for (intent in candidates) {
            try {
                startActivity(intent.addFlags(Intent.FLAG_ACTIVITY_NEW_TASK))
                return
            } catch (e: ActivityNotFoundException) {
                continue
            } catch (e: SecurityException) {
                continue // some makers do not export the screen to other apps
            }
        }
    }
}

/** The makers whose battery savers are known to stop background apps (dontkillmyapp.com's worst offenders). */
enum class Maker(val guide: Int, val settingsScreens: List<Pair<String, String>>) {
    XIAOMI(
        R.string.battery_xiaomi,
        listOf("com.miui.securitycenter" to "com.miui.permcenter.autostart.AutoStartManagementActivity"),
    ),
    OPPO(
        R.string.battery_oppo,
        listOf(
            "com.coloros.safecenter" to "com.coloros.safecenter.permission.startup.StartupAppListActivity",
            "com.coloros.safecenter" to "com.coloros.safecenter.startupapp.StartupAppListActivity",
            "com.oppo.safe" to "com.oppo.safe.permission.startup.StartupAppListActivity",
        ),
    ),
    VIVO(
        R.string.battery_vivo,
        listOf(
            "com.vivo.permissionmanager" to "com.vivo.permissionmanager.activity.BgStartUpManagerActivity",
            "com.iqoo.secure" to "com.iqoo.secure.ui.phoneoptimize.BgStartUpManager",
        ),
    ),
    SAMSUNG(
        R.string.battery_samsung,
        listOf(
            "com.samsung.android.lool" to "com.samsung.android.sm.battery.ui.BatteryActivity",
            "com.samsung.android.sm" to "com.samsung.android.sm.ui.battery.BatteryActivity",
        ),
    );

    companion object {
        /** The maker of a phone from `Build.MANUFACTURER`, when it is one of these (sub-brands included). */
        fun of(manufacturer: String?): Maker? = when (manufacturer?.trim()?.lowercase()) {
            "xiaomi", "redmi", "poco" -> XIAOMI
            "oppo", "realme", "oneplus" -> OPPO
            "vivo", "iqoo" -> VIVO
            "samsung" -> SAMSUNG
            else -> null
        }
    }
}

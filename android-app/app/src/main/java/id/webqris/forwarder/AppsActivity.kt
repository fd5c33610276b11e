// The apps whose notifications are read (every notification of a checked app is sent; the server decides).
package id.webqris.forwarder

import android.app.Activity
import android.os.Bundle
import android.widget.CheckBox

class AppsActivity : Activity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val store = SettingsStore(this)
        val settings = store.load()
        val boxes = mutableMapOf<String, CheckBox>()
        setContentView(column {
            label(getString(R.string.apps_title), 20f)
            label(getString(R.string.apps_explain), 14f)
            for (app in KnownApps.all()) {
                val box = CheckBox(context).apply {
                    text = "${app.name}  (${app.`package`})"
                    isChecked = app.`package` in settings.enabledApps
                }
                addView(box)
                boxes[app.`package`] = box
            }
            val known = boxes.keys
            val custom = field(
                getString(R.string.apps_custom_hint),
                settings.enabledApps.filter { it !in known }.sorted().joinToString(", "),
            )
            button(getString(R.string.action_save)) {
                store.save(
                    store.load().copy(
                        enabledApps = boxes.filterValues { it.isChecked }.keys +
                            custom.text.split(',', ' ', '\n').map { it.trim() }.filter { it.isNotEmpty() },
                    ),
                )
                Bridge.executor.execute { runCatching { Bridge.reconfigure(this@AppsActivity) } }
                finish()
            }
        })
    }
}

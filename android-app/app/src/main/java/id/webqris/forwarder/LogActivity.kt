// The log: recent notifications, what the phone concluded, and what the server answered.
package id.webqris.forwarder

import android.app.Activity
import android.os.Bundle
import android.widget.LinearLayout
import id.webqris.bridge.DeliveryState
import id.webqris.bridge.LogEntry

class LogActivity : Activity() {
    private lateinit var list: LinearLayout

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(column {
            label(getString(R.string.log_title), 20f)
            list = this
        })
    }

    override fun onResume() {
        super.onResume()
        Bridge.executor.execute {
            val entries = runCatching { Bridge.get(this)?.recentLog(100u) }.getOrNull() ?: emptyList()
            runOnUiThread { show(entries) }
        }
    }

    private fun show(entries: List<LogEntry>) {
        while (list.childCount > 1) list.removeViewAt(1)
        if (entries.isEmpty()) list.label(getString(R.string.log_empty))
        for (e in entries) {
            val state = when (e.state) {
                DeliveryState.QUEUED -> getString(R.string.log_queued, e.attempts.toString(), e.lastError ?: "")
                DeliveryState.SENT -> getString(R.string.log_sent, e.httpStatus?.toString() ?: "—", e.serverMessage ?: "", e.invoiceId ?: "")
                DeliveryState.IGNORED -> getString(R.string.log_ignored)
            }
            list.label("${formatTime(e.receivedAtMs)} · ${e.app}\n${e.title}: ${e.message}\n${e.verdict.describe(this)}\n$state", 14f)
        }
    }
}

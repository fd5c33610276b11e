// The log: recent notifications, what the phone concluded (shown only: the server decides), whether
// one-time codes were masked, and what the server answered; a queued or parked item can be retried.
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
        load()
    }

    private fun load() {
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
                DeliveryState.PARKED -> getString(R.string.log_parked, e.attempts.toString(), e.lastError ?: "")
                DeliveryState.SENT -> getString(R.string.log_sent, e.httpStatus?.toString() ?: "—", e.serverMessage ?: "", e.invoiceId ?: "")
                DeliveryState.IGNORED -> getString(R.string.log_ignored)
            }
            val masked = if (e.masked) "\n" + getString(R.string.log_masked) else ""
            list.label("${formatTime(e.receivedAtMs)} · ${e.app}\n${e.title}: ${e.message}\n${e.verdict.describe(this)}$masked\n$state", 14f)
            if (e.state == DeliveryState.QUEUED || e.state == DeliveryState.PARKED) {
                list.button(getString(R.string.action_retry_item)) {
                    Bridge.executor.execute {
                        runCatching { Bridge.get(this)?.retryItem(e.eventHash) }
                        runOnUiThread { load() }
                    }
                }
            }
        }
    }
}

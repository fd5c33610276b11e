// Setup: server URL, callback secret and device name, typed, pasted as a setup link, or scanned from the
// dashboard's setup QR (`webqris://setup?server=…&secret=…&merchant=…`). Scanning: the phone's camera
// app opens a scanned webqris:// link straight into this screen (intent filter in the manifest); a
// ZXing-compatible scanner app can be used from the "Scan" button. Also the connection test.
package id.webqris.forwarder

import android.app.Activity
import android.content.ActivityNotFoundException
import android.content.Intent
import android.os.Bundle
import android.widget.EditText
import android.widget.TextView
import android.widget.Toast
import id.webqris.bridge.SetupLinkException
import id.webqris.bridge.parseSetupLink

class SetupActivity : Activity() {
    private lateinit var server: EditText
    private lateinit var secret: EditText
    private lateinit var device: EditText
    private lateinit var link: EditText
    private lateinit var result: TextView
    private var merchantName: String = ""

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val saved = SettingsStore(this).load()
        merchantName = saved.merchantName
        setContentView(column {
            label(getString(R.string.setup_title), 20f)
            server = field(getString(R.string.setup_server_hint), saved.serverUrl)
            secret = field(getString(R.string.setup_secret_hint), saved.callbackSecret, secret = true)
            device = field(getString(R.string.setup_device_hint), saved.deviceName)
            link = field(getString(R.string.setup_link_hint), "")
            button(getString(R.string.setup_apply_link)) { applyLink(link.text.toString()) }
            button(getString(R.string.setup_scan)) { scan() }
            button(getString(R.string.action_save)) { save() }
            button(getString(R.string.action_test)) { save(); testConnection() }
            result = label("")
        })
        intent?.data?.let { applyLink(it.toString()) }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        intent.data?.let { applyLink(it.toString()) }
    }

    private fun applyLink(text: String) {
        try {
            val setup = parseSetupLink(text)
            server.setText(setup.serverUrl)
            secret.setText(setup.callbackSecret)
            merchantName = setup.merchantName ?: ""
            result.text = getString(R.string.setup_link_read, setup.merchantName ?: setup.serverUrl)
        } catch (e: SetupLinkException) {
            result.text = getString(R.string.setup_link_bad, e.message ?: "")
        }
    }

    private fun scan() {
        val intent = Intent("com.google.zxing.client.android.SCAN").putExtra("SCAN_MODE", "QR_CODE_MODE")
        try {
            @Suppress("DEPRECATION")
            startActivityForResult(intent, REQUEST_SCAN)
        } catch (e: ActivityNotFoundException) {
            Toast.makeText(this, R.string.setup_no_scanner, Toast.LENGTH_LONG).show()
        }
    }

    @Deprecated("framework API; androidx's replacement is not available here")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        @Suppress("DEPRECATION")
        super.onActivityResult(requestCode, resultCode, data)
        if (requestCode == REQUEST_SCAN && resultCode == RESULT_OK) {
            data?.getStringExtra("SCAN_RESULT")?.let { applyLink(it) }
        }
    }

    private fun save() {
        val store = SettingsStore(this)
        store.save(
            store.load().copy(
                serverUrl = server.text.toString(),
                callbackSecret = secret.text.toString(),
                deviceName = device.text.toString(),
                merchantName = merchantName,
            ),
        )
        Bridge.executor.execute {
            val message = runCatching { Bridge.reconfigure(this) }.exceptionOrNull()?.message
            runOnUiThread { result.text = message ?: getString(R.string.setup_saved) }
        }
    }

    private fun testConnection() {
        result.text = getString(R.string.test_running)
        Bridge.executor.execute {
            val text = try {
                Bridge.get(this)?.testConnection() ?: getString(R.string.warn_not_configured)
            } catch (e: Exception) {
                getString(R.string.test_failed, e.message ?: e.toString())
            }
            runOnUiThread { result.text = text }
        }
    }

    companion object {
        private const val REQUEST_SCAN = 7
    }
}

// Small helpers for the screens, which are built from plain framework Views (androidx is not available
// to this project's build machines, and four simple screens do not need it).
package id.webqris.forwarder

import android.app.Activity
import android.text.InputType
import android.view.View
import android.view.ViewGroup
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import java.text.DateFormat
import java.util.Date

internal fun Activity.column(build: LinearLayout.() -> Unit): ScrollView {
    val padding = (16 * resources.displayMetrics.density).toInt()
    val layout = LinearLayout(this).apply {
        orientation = LinearLayout.VERTICAL
        setPadding(padding, padding, padding, padding)
        build()
    }
    return ScrollView(this).apply { addView(layout) }
}

internal fun LinearLayout.label(text: CharSequence, size: Float = 16f): TextView =
    TextView(context).apply {
        this.text = text
        textSize = size
        setPadding(0, 8, 0, 8)
    }.also { addView(it, ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT) }

internal fun LinearLayout.field(hint: CharSequence, value: String, secret: Boolean = false): EditText =
    EditText(context).apply {
        this.hint = hint
        setText(value)
        isSingleLine = true
        inputType = if (secret) {
            InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_PASSWORD
        } else {
            InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_URI
        }
    }.also { addView(it, ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT) }

internal fun LinearLayout.button(text: CharSequence, onClick: (View) -> Unit): Button =
    Button(context).apply {
        this.text = text
        setOnClickListener(onClick)
    }.also { addView(it, ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT) }

internal fun formatTime(ms: Long?): String =
    if (ms == null || ms <= 0) "—" else DateFormat.getDateTimeInstance().format(Date(ms))

// Where app code gets its words. On the phone that is Android's resources (strings.xml, Indonesian by
// default, values-en in English). The host's Robolectric tests run without compiled resources (no aapt2
// there), so they point this lookup at the same strings.xml files read directly; the words tested are
// the words shipped.
package id.webqris.forwarder

import android.content.Context

object Texts {
    @Volatile
    var lookup: (Context, Int, Array<out Any>) -> String = { context, id, args -> context.getString(id, *args) }

    fun get(context: Context, id: Int, vararg args: Any): String = lookup(context, id, args)
}

// The app's strings.xml read directly, for Texts.lookup under Robolectric (which has no compiled app
// resources here: no aapt2). Ids are mapped back to names through the generated R class.
package id.webqris.testing

import android.content.Context
import java.io.File
import java.util.Locale
import javax.xml.parsers.DocumentBuilderFactory

object StringsXml {
    private val res: File = File(System.getProperty("webqris.res") ?: "app/src/main/res")

    /** A lookup in the app's default (Indonesian) strings, or those of `values-<language>`. */
    fun lookup(language: String? = null): (Context, Int, Array<out Any>) -> String {
        val strings = read(File(res, "values/strings.xml")) +
            (language?.let { read(File(res, "values-$it/strings.xml")) } ?: emptyMap())
        val names = idsToNames()
        val locale = Locale.forLanguageTag(language ?: "id")
        return { _, id, args ->
            val name = names[id] ?: error("no string with id $id")
            val value = strings[name] ?: error("no string $name")
            if (args.isEmpty()) value else String.format(locale, value, *args)
        }
    }

    private fun read(file: File): Map<String, String> {
        val doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file)
        val nodes = doc.getElementsByTagName("string")
        return (0 until nodes.length).associate { i ->
            val e = nodes.item(i)
            e.attributes.getNamedItem("name").nodeValue to unescape(e.textContent)
        }
    }

    /** Android's string escapes: `\n`, `\'`, `\"`, `\\`. */
    private fun unescape(s: String): String {
        val out = StringBuilder()
        var i = 0
        while (i < s.length) {
            val c = s[i]
            if (c == '\\' && i + 1 < s.length) {
                out.append(if (s[i + 1] == 'n') '\n' else s[i + 1])
                i += 2
            } else {
                out.append(c)
                i++
            }
        }
        return out.toString()
    }

    private fun idsToNames(): Map<Int, String> =
        Class.forName("id.webqris.forwarder.R\$string").declaredFields
            .filter { it.type == Int::class.javaPrimitiveType }
            .associate { it.isAccessible = true; it.getInt(null) to it.name }
}

// Just enough JSON reading for the tests (the JVM test classpath has no JSON library, and the answers
// read here are flat objects of the contract).
package id.webqris.testing

/** The raw value of `"field"` in a flat JSON object: a string's content, or a number/boolean/null as text. */
fun jsonField(json: String, field: String): String? {
    val match = Regex("\"" + Regex.escape(field) + "\"\\s*:\\s*(\"((?:[^\"\\\\]|\\\\.)*)\"|[^,}\\s]+)").find(json)
        ?: return null
    return match.groups[2]?.value ?: match.groups[1]?.value
}

fun jsonString(value: String): String =
    "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\""

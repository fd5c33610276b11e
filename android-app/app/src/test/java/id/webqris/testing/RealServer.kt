// The real webqris server, driven only through its command-line contract (design.md): `merchant create`,
// `token create`, `serve`, and its HTTP API. The binary is the system property webqris.bin (set by
// android-app/pom.xml from scripts/test.d/20-android.sh).
package id.webqris.testing

import java.io.File
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.util.concurrent.TimeUnit

class RealServer private constructor(private val dir: File) : AutoCloseable {
    val port: Int = ServerSocket(0).use { it.localPort }
    val url: String get() = "http://127.0.0.1:$port"
    lateinit var merchantId: String
        private set
    lateinit var callbackSecret: String
        private set
    private lateinit var apiToken: String
    private var process: Process? = null
    private val http = HttpClient.newHttpClient()
    private val db = File(dir, "webqris.db")

    private fun cli(vararg args: String): String {
        val proc = ProcessBuilder(listOf(binary.path) + args + listOf("--db", db.path, "--json"))
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start()
        val out = proc.inputStream.readBytes().toString(Charsets.UTF_8)
        check(proc.waitFor(30, TimeUnit.SECONDS) && proc.exitValue() == 0) { "webqris ${args.toList()} failed: $out" }
        return out
    }

    /** Starts `webqris serve` and waits until it accepts connections. */
    fun start(): RealServer {
        process = ProcessBuilder(binary.path, "serve", "--listen", "127.0.0.1:$port", "--db", db.path)
            .redirectErrorStream(true)
            .redirectOutput(File(dir, "server.log"))
            .start()
        // Readiness of another process has no event to await: probe the port until a deadline.
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20)
        while (true) {
            val up = try {
                Socket().use { it.connect(InetSocketAddress("127.0.0.1", port), 200); true }
            } catch (e: java.io.IOException) {
                false
            }
            if (up) return this
            check(process!!.isAlive) { "webqris serve exited: " + File(dir, "server.log").readText() }
            check(System.nanoTime() < deadline) { "webqris serve did not listen on $port" }
            process!!.waitFor(25, TimeUnit.MILLISECONDS)
        }
    }

    fun stop() {
        process?.let {
            it.destroy()
            it.waitFor(10, TimeUnit.SECONDS)
        }
        process = null
    }

    private fun call(method: String, path: String, body: String?): Pair<Int, String> {
        val builder = HttpRequest.newBuilder(URI.create(url + path)).header("Authorization", "Bearer $apiToken")
        val request = if (body != null) {
            builder.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
        } else {
            builder.GET()
        }
        val response = http.send(request.build(), HttpResponse.BodyHandlers.ofString())
        return response.statusCode() to response.body()
    }

    /** Creates an invoice; returns its id and the total the customer pays. */
    fun createInvoice(amount: Long): Pair<String, Long> {
        val (status, body) = call("POST", "/api/payments/qris/create", """{"amount":$amount,"merchant_order_id":"ORDER-$amount"}""")
        check(status == 201) { "create answered $status: $body" }
        return jsonField(body, "invoice_id")!! to jsonField(body, "total_amount")!!.toLong()
    }

    /** The invoice's `status` (pending, paid, expired). */
    fun statusOf(invoice: String): String {
        val (status, body) = call("GET", "/api/payments/$invoice/status", null)
        check(status == 200) { "status answered $status: $body" }
        return jsonField(body, "status")!!
    }

    override fun close() {
        stop()
        dir.deleteRecursively()
    }

    companion object {
        val binary: File = File(System.getProperty("webqris.bin") ?: "../target/debug/webqris")

        /** Whether the binary implements the server commands (`serve --help` succeeds). */
        val available: Boolean by lazy {
            binary.canExecute() && try {
                val p = ProcessBuilder(binary.path, "serve", "--help").redirectErrorStream(true).start()
                p.inputStream.readBytes()
                p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0
            } catch (e: java.io.IOException) {
                false
            }
        }

        /** A database with one merchant (static QRIS from the corpus) and an API token; not started. */
        fun prepared(): RealServer {
            val server = RealServer(Files.createTempDirectory("webqris-server").toFile())
            val merchant = server.cli("merchant", "create", "--name", "Toko ABC", "--qris", staticQris())
            server.merchantId = jsonField(merchant, "merchant_id")!!
            server.callbackSecret = jsonField(merchant, "callback_secret")!!
            server.apiToken = jsonField(server.cli("token", "create", "--merchant", server.merchantId), "token")!!
            return server
        }

        fun started(): RealServer = prepared().start()

        private fun staticQris(): String {
            val corpus = File(System.getProperty("webqris.corpus") ?: "../tests/corpus/qris-vectors.tsv")
            return corpus.readLines().map { it.split('\t') }
                .first { it.size > 2 && it[0] == "valid" && it[1] == "verssache-DANA" }[2]
        }

        /** `25042` → `25.042`, as DANA writes amounts. */
        fun rupiah(amount: Long): String = String.format(java.util.Locale.ROOT, "%,d", amount).replace(',', '.')
    }
}

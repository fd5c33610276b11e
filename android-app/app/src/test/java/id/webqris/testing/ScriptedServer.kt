// A scripted HTTP server on loopback (the JDK's HttpServer): every request goes into a queue the test
// awaits with a timeout, every answer comes from a script. For the client-side rules; the rules that
// depend on the server's behaviour are tested against the real webqris binary (RealServer).
package id.webqris.testing

import com.sun.net.httpserver.HttpServer
import java.net.InetSocketAddress
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

class ScriptedServer private constructor(private val server: HttpServer) : AutoCloseable {
    data class Received(val path: String, val authorization: String?, val body: String)
    data class Reply(val status: Int, val body: String)

    val requests = LinkedBlockingQueue<Received>()
    val replies = ConcurrentLinkedQueue<Reply>()
    var defaultReply = Reply(200, """{"success":true,"invoice_id":"INV-1","parsed_amount":29000,"sender_name":null}""")

    val url: String get() = "http://127.0.0.1:${server.address.port}"

    /** The next request, or an AssertionError after [seconds]. */
    fun next(seconds: Long = 10): Received =
        requests.poll(seconds, TimeUnit.SECONDS) ?: throw AssertionError("no request within $seconds s")

    override fun close() = server.stop(0)

    companion object {
        /** Starts on [port] (0: any free port). */
        fun start(port: Int = 0): ScriptedServer {
            val http = HttpServer.create(InetSocketAddress("127.0.0.1", port), 0)
            val scripted = ScriptedServer(http)
            http.createContext("/") { exchange ->
                val body = exchange.requestBody.readBytes().toString(Charsets.UTF_8)
                scripted.requests.add(
                    Received(exchange.requestURI.path, exchange.requestHeaders.getFirst("Authorization"), body),
                )
                val reply = scripted.replies.poll() ?: scripted.defaultReply
                val bytes = reply.body.toByteArray()
                exchange.responseHeaders.add("Content-Type", "application/json")
                exchange.sendResponseHeaders(reply.status, bytes.size.toLong())
                exchange.responseBody.use { it.write(bytes) }
            }
            http.start()
            return scripted
        }

        /** A loopback port nothing listens on (bound, then released). */
        fun closedPort(): Int = java.net.ServerSocket(0).use { it.localPort }
    }
}

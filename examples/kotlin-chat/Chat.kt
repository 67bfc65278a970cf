// kotlin-chat: a group chat on the e2ee reference server, on the JVM.
//
// Speaks the server protocol of the web chat (docs/server-protocol.md), so
// its users chat with web-chat users: every message is sealed and opened here
// with the `e2ee` Kotlin bindings; the server only stores and forwards
// ciphertext. Only the JDK: java.net.http for HTTP and for the WebSocket that
// pushes new messages and Welcomes, and a small JSON reader/writer below.
//
// Commands (one per line on stdin): /create, /add NAME, /remove NAME,
// /members, /groups, /switch ID, /quit; any other line is a message to the
// current group. With --script, what happens is printed as JSON lines (for
// tests and other programs); otherwise as text for people.
import e2ee.Client
import e2ee.E2eeException
import e2ee.Event
import e2ee.Group
import e2ee.Member
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.net.http.WebSocket
import java.util.Base64
import java.util.concurrent.CompletionStage
import java.util.concurrent.Executors
import kotlin.system.exitProcess

const val SUITE: UShort = 1u
const val KEY_PACKAGES = 5

/** Unpadded base64url, the server's encoding of bytes. */
fun b64(bytes: ByteArray): String = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes)

fun unb64(text: String): ByteArray = Base64.getUrlDecoder().decode(text)

fun nameOf(member: Member) = String(member.identity)

/** Just enough JSON for the protocol's objects: maps, lists, strings, numbers (Long), booleans, null. */
object Json {
    fun write(value: Any?): String = when (value) {
        null -> "null"
        is String -> quote(value)
        is Number, is Boolean -> value.toString()
        is Map<*, *> -> value.entries.joinToString(",", "{", "}") { quote(it.key as String) + ":" + write(it.value) }
        is List<*> -> value.joinToString(",", "[", "]") { write(it) }
        else -> throw IllegalArgumentException("no JSON for ${value::class}")
    }

    private fun quote(s: String) = buildString {
        append('"')
        for (c in s) when {
            c == '"' || c == '\\' -> append('\\').append(c)
            c < ' ' -> append("\\u%04x".format(c.code))
            else -> append(c)
        }
        append('"')
    }

    fun parse(text: String): Any? = Reader(text).run { value().also { space(); require(i == s.length) { "trailing JSON" } } }

    private class Reader(val s: String) {
        var i = 0

        fun space() { while (i < s.length && s[i].isWhitespace()) i++ }

        fun expect(c: Char) { space(); require(i < s.length && s[i] == c) { "expected $c at $i" }; i++ }

        fun value(): Any? {
            space()
            require(i < s.length) { "JSON ends early" }
            return when (val c = s[i]) {
                '{' -> buildMap { items('}') { val key = string(); expect(':'); put(key, value()) } }
                '[' -> buildList { items(']') { add(value()) } }
                '"' -> string()
                't', 'f', 'n' -> listOf("true" to true, "false" to false, "null" to null).first { s.startsWith(it.first, i) }.let { i += it.first.length; it.second }
                else -> {
                    require(c == '-' || c.isDigit()) { "unexpected $c at $i" }
                    val start = i
                    while (i < s.length && (s[i].isDigit() || s[i] in "-+.eE")) i++
                    s.substring(start, i).let { it.toLongOrNull() ?: it.toDouble() }
                }
            }
        }

        /** Reads `item, item, ...` up to `end`, after the opening bracket at `i`. */
        fun items(end: Char, item: () -> Unit) {
            i++
            space()
            if (i < s.length && s[i] == end) { i++; return }
            while (true) {
                item()
                space()
                require(i < s.length && (s[i] == ',' || s[i] == end)) { "expected , or $end at $i" }
                if (s[i++] == end) return
            }
        }

        fun string(): String {
            expect('"')
            val out = StringBuilder()
            while (s[i] != '"') {
                if (s[i] != '\\') { out.append(s[i++]); continue }
                val e = s[i + 1]
                i += 2
                when (e) {
                    'u' -> { out.append(s.substring(i, i + 4).toInt(16).toChar()); i += 4 }
                    'n' -> out.append('\n')
                    't' -> out.append('\t')
                    'r' -> out.append('\r')
                    'b' -> out.append('\b')
                    'f' -> out.append('\u000c')
                    else -> out.append(e) // \" \\ \/
                }
            }
            i++
            return out.toString()
        }
    }
}

/** A refusal of the server, with its stable `code`. */
class ServerError(val code: String, message: String) : Exception("$code: $message")

/** The HTTP part of the protocol (see examples/web-chat/src/lib/server.js). */
class Server(base: String) {
    private val base = base.trimEnd('/')
    private val http = HttpClient.newHttpClient()
    private var token: String? = null

    private fun call(method: String, path: String, body: Map<String, Any?>? = null): Map<*, *> {
        val request = HttpRequest.newBuilder(URI.create(base + path))
            .header("content-type", "application/json")
            .method(method, body?.let { HttpRequest.BodyPublishers.ofString(Json.write(it)) } ?: HttpRequest.BodyPublishers.noBody())
        token?.let { request.header("authorization", "Bearer $it") }
        val response = http.send(request.build(), HttpResponse.BodyHandlers.ofString())
        val json = runCatching { Json.parse(response.body()) as Map<*, *> }.getOrElse { emptyMap<String, Any?>() }
        if (response.statusCode() >= 300) {
            val error = json["error"] as? Map<*, *>
            throw ServerError(error?.get("code") as? String ?: "http_${response.statusCode()}", error?.get("message") as? String ?: "")
        }
        return json
    }

    fun login(client: Client) {
        val challenge = call("POST", "/v1/auth/challenge")["challenge"] as String
        // The signature covers challenge || identity, under the label "e2ee-ds login".
        val signed = unb64(challenge) + client.identity()
        token = call("POST", "/v1/auth/login", mapOf(
            "identity" to String(client.identity()),
            "cipher_suite" to client.cipherSuite().toInt(),
            "signature_key" to b64(client.signaturePublicKey()),
            "challenge" to challenge,
            "signature" to b64(client.signWithLabel("e2ee-ds login".toByteArray(), signed)),
        ))["token"] as String
    }

    fun publish(keyPackages: List<ByteArray>, replace: Boolean = false) {
        call("POST", "/v1/key-packages", mapOf("key_packages" to keyPackages.map(::b64), "replace" to replace))
    }

    fun claim(identity: String) = unb64(call("POST", "/v1/key-packages/claim", mapOf("identity" to identity))["key_package"] as String)

    fun createGroup(groupId: ByteArray) {
        call("POST", "/v1/groups", mapOf("group_id" to b64(groupId)))
    }

    fun post(groupId: ByteArray, message: ByteArray, welcome: ByteArray? = null, groupInfo: ByteArray? = null): Long {
        val body = mutableMapOf<String, Any?>("message" to b64(message))
        welcome?.let { body["welcome"] = b64(it) }
        groupInfo?.let { body["group_info"] = b64(it) }
        return call("POST", "/v1/groups/${b64(groupId)}/messages", body)["position"] as Long
    }

    /** The WebSocket, with the token in the Authorization header (never in the URL). */
    fun socket(listener: WebSocket.Listener): WebSocket {
        val url = base.replaceFirst("http", "ws") + "/v1/ws"
        return http.newWebSocketBuilder()
            .header("authorization", "Bearer $token")
            .buildAsync(URI.create(url), listener)
            .join()
    }
}

/** Prints events: JSON lines for programs, text for people. */
class Output(private val script: Boolean) {
    @Synchronized
    fun emit(event: String, vararg fields: Pair<String, Any?>) {
        val f = fields.toMap()
        println(when {
            script -> Json.write(linkedMapOf("event" to event, *fields))
            event == "message" -> "[${(f["group"] as String).take(6)}] ${f["from"]}: ${f["text"]}"
            else -> "* $event " + fields.joinToString(" ") { (k, v) -> "$k=${(v as? List<*>)?.joinToString(", ") ?: v}" }
        })
        System.out.flush()
    }
}

/** One group: its MLS state, the log position read, own messages in flight. */
class Conversation(val group: Group, var after: Long) {
    /** Own sealed messages cannot be opened: their text, by ciphertext. */
    val sent = mutableMapOf<String, String>()
    var active = true
}

class Chat(private val server: Server, private val me: String, private val out: Output) {
    private val client = Client(SUITE, me.toByteArray())
    private val groups = linkedMapOf<String, Conversation>()
    private var current: String? = null
    private var mailboxAfter = 0L
    private lateinit var socket: WebSocket

    // Pushes are handled on one thread of their own, never on the socket's;
    // commands and pushes change the same MLS state: one at a time.
    private val lock = Any()
    private val pushes = Executors.newSingleThreadExecutor { Thread(it).apply { isDaemon = true } }

    fun start() {
        server.login(client)
        server.publish(List(KEY_PACKAGES) { client.keyPackage() }, replace = true)
        socket = server.socket(Listener())
        send(mapOf("type" to "subscribe_mailbox", "after" to mailboxAfter))
        out.emit("ready", "name" to me)
    }

    private fun send(frame: Map<String, Any?>) {
        socket.sendText(Json.write(frame), true).join()
    }

    /** Runs `step`, reporting refusals instead of stopping. */
    fun guarded(step: () -> Unit) = synchronized(lock) {
        try {
            step()
        } catch (e: ServerError) {
            out.emit("error", "code" to e.code, "message" to e.message)
        } catch (e: E2eeException.Failed) {
            out.emit("error", "code" to e.code, "message" to e.detail)
        } catch (e: java.io.IOException) {
            out.emit("error", "code" to "network", "message" to e.toString())
        }
    }

    /** Runs one input line. */
    fun command(line: String) {
        val verb = line.substringBefore(' ')
        val arg = line.substringAfter(' ', "").trim()
        val id = current
        when {
            verb == "/create" -> {
                val group = client.createGroup()
                server.createGroup(group.id())
                track(group, 0)
                out.emit("created", "group" to current)
            }
            verb == "/groups" -> out.emit("groups", "groups" to groups.keys.toList(), "current" to current)
            verb == "/switch" && arg.isNotEmpty() -> {
                val matches = groups.keys.filter { it.startsWith(arg) }
                if (matches.size == 1) current = matches[0]
                else out.emit("error", "code" to "no_such_group", "message" to "no single group starts with $arg")
            }
            id == null -> out.emit("error", "code" to "no_group", "message" to "/create a group, or wait to be added")
            verb == "/members" -> out.emit("members", "group" to id, "members" to groups.getValue(id).group.members().map(::nameOf))
            (verb == "/add" || verb == "/remove") && arg.isNotEmpty() -> commit(groups.getValue(id).group, verb, arg)
            verb.startsWith("/") -> out.emit("error", "code" to "unknown_command", "message" to line)
            else -> {
                val conversation = groups.getValue(id)
                val sealed = conversation.group.seal(line.toByteArray(), ByteArray(0))
                conversation.sent[b64(sealed)] = line
                server.post(conversation.group.id(), sealed)
            }
        }
    }

    /** Adds or removes `name`; the Commit is merged when its echo arrives. */
    private fun commit(group: Group, verb: String, name: String) {
        val bundle = if (verb == "/add") {
            group.add(listOf(server.claim(name)))
        } else {
            val leaves = group.members().filter { nameOf(it) == name }.map { it.index }
            if (leaves.isEmpty()) return out.emit("error", "code" to "not_member", "message" to "$name is not in the group")
            group.remove(leaves)
        }
        try {
            server.post(group.id(), bundle.commit, bundle.welcome, bundle.groupInfo)
        } catch (e: ServerError) {
            group.discardCommit() // e.g. epoch_moved_on: another Commit won
            throw e
        }
    }

    private fun track(group: Group, after: Long) {
        val id = b64(group.id())
        groups[id] = Conversation(group, after)
        current = id
        send(mapOf("type" to "subscribe", "group" to id, "after" to after))
    }

    private inner class Listener : WebSocket.Listener {
        private val text = StringBuilder()

        override fun onText(ws: WebSocket, data: CharSequence, last: Boolean): CompletionStage<*>? {
            text.append(data)
            if (last) {
                val frame = Json.parse(text.toString()) as Map<*, *>
                text.setLength(0)
                pushes.execute { guarded { receive(frame) } }
            }
            ws.request(1)
            return null
        }

        override fun onClose(ws: WebSocket, code: Int, reason: String): CompletionStage<*>? {
            out.emit("error", "code" to "disconnected", "message" to "the server closed the WebSocket ($code $reason)")
            return null
        }

        override fun onError(ws: WebSocket, error: Throwable) {
            out.emit("error", "code" to "disconnected", "message" to error.toString())
        }
    }

    private fun receive(frame: Map<*, *>) {
        when (frame["type"]) {
            "welcome" -> {
                mailboxAfter = frame["position"] as Long
                if (frame["group_id"] !in groups) {
                    val group = client.join(unb64(frame["welcome"] as String))
                    track(group, frame["commit_position"] as Long)
                    out.emit("joined", "group" to current, "members" to group.members().map(::nameOf))
                }
                server.publish(listOf(client.keyPackage())) // replaces the one used
            }
            "message" -> entry(frame["group"] as String, frame["position"] as Long, frame["message"] as String)
            "error", "unsubscribed" -> {
                val error = frame["error"] as? Map<*, *>
                if (error?.get("code") != "not_member") out.emit("error", "code" to error?.get("code"), "message" to error?.get("message"))
            }
        }
    }

    private fun entry(id: String, position: Long, message: String) {
        val conversation = groups[id]
        if (conversation == null || !conversation.active || position <= conversation.after) return
        conversation.after = position
        conversation.sent.remove(message)?.let { return out.emit("message", "group" to id, "from" to me, "text" to it) }
        val events = try {
            conversation.group.open(unb64(message))
        } catch (e: E2eeException.Failed) {
            return out.emit("undecryptable", "group" to id, "code" to e.code)
        }
        for (event in events) when (event) {
            is Event.Message -> out.emit("message", "group" to id, "from" to nameOf(event.sender), "text" to String(event.data))
            is Event.EpochChanged -> {
                out.emit("epoch", "group" to id, "epoch" to event.epoch.toLong(), "by" to event.committer?.let(::nameOf),
                    "added" to event.added.map(::nameOf), "removed" to event.removed.map(::nameOf))
                if (event.selfRemoved) {
                    conversation.active = false
                    out.emit("removed", "group" to id)
                }
            }
            is Event.CommitLost -> out.emit("error", "group" to id, "code" to "commit_lost", "message" to "another change won: try again")
            is Event.Rejected -> out.emit("error", "group" to id, "code" to event.code, "message" to event.detail)
            else -> {}
        }
    }
}

fun main(args: Array<String>) {
    fun option(name: String) = args.indexOf(name).takeIf { it >= 0 }?.let { args.getOrNull(it + 1) }
    val name = option("--name") ?: run {
        System.err.println("usage: kotlin-chat --name NAME [--server http://127.0.0.1:8080] [--script]")
        exitProcess(2)
    }
    val out = Output(script = "--script" in args)
    val chat = Chat(Server(option("--server") ?: "http://127.0.0.1:8080"), name, out)
    chat.start()
    while (true) {
        val line = readLine()?.trim() ?: break
        if (line == "/quit") break
        if (line.isNotEmpty()) chat.guarded { chat.command(line) }
    }
    // Let a push being handled finish its output.
    chat.guarded {}
    exitProcess(0)
}

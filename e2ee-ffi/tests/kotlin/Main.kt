// The Kotlin bindings end to end on the JVM: a three-member chat, add and
// remove, state export and import, and typed errors for bad input.
import e2ee.*

fun check(condition: Boolean, what: String) {
    if (!condition) throw AssertionError(what)
}

fun names(members: List<Member>) = members.map { String(it.identity) }

fun main() {
    val (alice, bob, carol) = listOf("alice", "bob", "carol").map { Client(1u, it.toByteArray()) }
    val aliceGroup = alice.createGroup()
    val added = aliceGroup.add(listOf(bob.keyPackage(), carol.keyPackage()))
    aliceGroup.mergeCommit()
    val bobGroup = bob.join(added.welcome!!)
    val carolGroup = carol.join(added.welcome!!)
    check(names(aliceGroup.members()) == listOf("alice", "bob", "carol"), "members")

    val sealed = bobGroup.seal("hello from kotlin".toByteArray(), ByteArray(0))
    for (group in listOf(aliceGroup, carolGroup)) {
        val event = group.open(sealed).single() as Event.Message
        check(String(event.sender.identity) == "bob" && String(event.data) == "hello from kotlin", "message")
    }

    val removal = carolGroup.remove(listOf(bobGroup.ownIndex()))
    carolGroup.mergeCommit()
    val seen = aliceGroup.open(removal.commit).single() as Event.EpochChanged
    check(names(seen.removed) == listOf("bob"), "removed")
    val out = bobGroup.open(removal.commit).single() as Event.EpochChanged
    check(out.selfRemoved && !bobGroup.isActive(), "bob is out")
    check(aliceGroup.epochAuthenticator().contentEquals(carolGroup.epochAuthenticator()), "agree")

    // State export and import: a restarted Alice keeps talking with Carol.
    val key = ByteArray(32) { it.toByte() }
    val alice2 = Client.restoreSealed(alice.exportSealed(key), key)
    val aliceGroup2 = alice2.restoreSealedGroup(aliceGroup.exportSealed(key), key)
    val hello = carolGroup.seal("after restart".toByteArray(), ByteArray(0))
    val got = aliceGroup2.open(hello).single() as Event.Message
    check(String(got.data) == "after restart", "restored group opens")
    try {
        alice2.restoreGroup(aliceGroup2.exportState()).open(hello)
        throw AssertionError("a used key opened again")
    } catch (e: E2eeException.Failed) {
        check(e.code == "secret_tree_key_consumed", "error code ${e.code}")
    }

    try {
        aliceGroup.open(byteArrayOf(0xff.toByte()))
        throw AssertionError("garbage was accepted")
    } catch (e: E2eeException.Failed) {
        check(e.code.startsWith("codec_"), "error code ${e.code}")
    }
    try {
        Client(42u, "x".toByteArray())
        throw AssertionError("suite 42 was accepted")
    } catch (e: E2eeException.Failed) {
        check(e.code == "unsupported_cipher_suite", "error code ${e.code}")
    }
    println("kotlin bindings: chat, add/remove, state export/import and errors passed")
}

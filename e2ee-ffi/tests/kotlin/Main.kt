// The Kotlin bindings end to end on the JVM: a three-member chat, add and
// remove, state export and import, the application's credential validator
// and its decisions on proposals and external joins, and typed errors for
// bad input.
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
    try {
        bobGroup.epochAuthenticator()
        throw AssertionError("a removed member kept the epoch's secrets")
    } catch (e: E2eeException.Failed) {
        check(e.code == "not_a_member", "error code ${e.code}")
    }
    check(aliceGroup.epochAuthenticator().contentEquals(carolGroup.epochAuthenticator()), "agree")

    // State export and import: a restarted Alice keeps talking with Carol.
    val key = ByteArray(32) { it.toByte() }
    val alice2 = Client.restoreSealed(alice.exportSealed(key), key)
    val aliceGroup2 = alice2.restoreSealedGroup(aliceGroup.exportSealed(key), key, aliceGroup.id())
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
    policies()
    everySuite()
    println("kotlin bindings: chat, add/remove, state export/import, policies, errors and suites 1 to 7 passed")
}

/** A message and an update in each of the seven cipher suites. */
fun everySuite() {
    for (suite in 1..7) {
        val (alice, bob) = listOf("alice", "bob").map { Client(suite.toUShort(), it.toByteArray()) }
        check(alice.cipherSuite().toInt() == suite, "suite $suite")
        val aliceGroup = alice.createGroup()
        val added = aliceGroup.add(listOf(bob.keyPackage()))
        aliceGroup.mergeCommit()
        val bobGroup = bob.join(added.welcome!!)
        val event = aliceGroup.open(bobGroup.seal("suite $suite".toByteArray(), ByteArray(0))).single()
        check(String((event as Event.Message).data) == "suite $suite", "message in suite $suite")
        val update = bobGroup.update()
        bobGroup.mergeCommit()
        aliceGroup.open(update.commit)
        check(aliceGroup.epochAuthenticator().contentEquals(bobGroup.epochAuthenticator()), "agree in suite $suite")
    }
}

/** An Authentication Service: identities bound to signature keys. */
class Directory(private val bound: Map<String, ByteArray>) : CredentialValidator {
    var asked = 0

    override fun validate(credential: Credential, signatureKey: ByteArray): Boolean {
        asked += 1
        val key = bound[String(credential.identity)]
        return credential.credentialType.toInt() == 1 && key != null && key.contentEquals(signatureKey)
    }

    override fun validateSuccessor(old: Credential, new: Credential): Boolean = old == new
}

fun policies() {
    val (alice, bob, mallory) = listOf("alice", "bob", "bob").map { Client(1u, it.toByteArray()) }
    val directory = Directory(mapOf("alice" to alice.signaturePublicKey(), "bob" to bob.signaturePublicKey()))
    alice.setCredentialValidator(directory)
    val group = alice.createGroup()
    try {
        group.add(listOf(mallory.keyPackage())) // "bob" with Mallory's key
        throw AssertionError("an impostor was added")
    } catch (e: E2eeException.Failed) {
        check(e.code.contains("credential"), "error code ${e.code}")
    }
    val added = group.add(listOf(bob.keyPackage()))
    group.mergeCommit()
    check(names(group.members()) == listOf("alice", "bob") && directory.asked > 0, "validated add")

    // A validator that throws rejects, like one that answers false.
    val broken = Client(1u, "broken".toByteArray())
    broken.setCredentialValidator(object : CredentialValidator {
        override fun validate(credential: Credential, signatureKey: ByteArray): Boolean =
            throw IllegalStateException("directory down")

        override fun validateSuccessor(old: Credential, new: Credential): Boolean = true
    })
    try {
        broken.createGroup()
        throw AssertionError("a throwing validator accepted")
    } catch (e: E2eeException.Failed) {
        check(e.code.contains("credential"), "error code ${e.code}")
    }

    // Bob asks to leave; Alice's application decides on the proposal.
    val bobGroup = bob.join(added.welcome!!)
    val event = group.open(bobGroup.leave()).single() as Event.Proposal
    check(event.accepted, "a member's proposal is accepted")
    val pending = group.pendingProposals().single()
    check(pending.reference.contentEquals(event.reference), "pending proposal")
    group.rejectProposal(pending.reference)
    check(group.pendingProposals().isEmpty(), "rejected")

    // External joins need the group's consent.
    val erin = Client(1u, "erin".toByteArray())
    try {
        erin.joinExternal(group.groupInfo())
        throw AssertionError("an outsider joined by default")
    } catch (e: E2eeException.Failed) {
        check(e.code == "missing_external_pub", "error code ${e.code}")
    }
    val open = defaultGroupOptions().copy(externalJoins = ExternalJoins.ALLOW)
    val frank = Client(1u, "frank".toByteArray())
    frank.setGroupOptions(open)
    val joined = erin.joinExternal(frank.createGroup().groupInfo())
    check(names(joined.group.members()) == listOf("frank", "erin"), "external join allowed")
    try {
        frank.setGroupOptions(open.copy(maxEpochsAhead = 1000000u))
        throw AssertionError("an option out of range was taken")
    } catch (e: E2eeException.Failed) {
        check(e.code == "invalid_option", "error code ${e.code}")
    }
}

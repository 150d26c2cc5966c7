import Foundation

/// A real OpenLDAP `slapd` on free loopback ports, filled with a small fixed directory, for the LDAP
/// tests: started by ``start(label:)``, killed by ``stop()`` or when released.
///
/// Layout of the directory (`dc=example,dc=org`):
/// - `ou=people`: the ``users`` (inetOrgPerson + posixAccount), plus a second `uid=twin` one level
///   deeper under `ou=contractors,ou=people` (an ambiguous name for a subtree search);
/// - `ou=services`: `cn=reader`, a read-only service account that cannot read `userPassword`;
/// - `ou=groups`: `developers` (alice, carol), `admins` (carol), `everyone` (bob and the `developers`
///   group: nesting), `loop-a`/`loop-b` (members of each other, and alice of `loop-a`: a cycle),
///   `QA, Europe` (dave: a comma in a DN), all groupOfNames; `posix-devs` (posixGroup, memberUid alice
///   and carol) and `unique-team` (groupOfUniqueNames, alice).
///
/// ACLs: anonymous clients may only bind (no search); the reader reads everything but passwords; a
/// user reads its own entry. The `memberof` overlay maintains `memberOf` on groupOfNames members.
///
/// TLS: a CA made for the run (``caFile``) signs a server certificate for `IP:127.0.0.1` and
/// `DNS:localhost`; ``otherCAFile`` is a second CA that signed nothing. `ldaps://` also listens on
/// 127.0.0.2, an address the certificate does not name (for host-name checks).
///
/// Threading: the instance methods are meant for one test at a time; ``pause()``, ``stop()`` and
/// ``restart()`` affect every client of the instance.
public final class Slapd: @unchecked Sendable {
    /// A user of the fixture directory.
    public struct User: Sendable {
        /// The `uid` (login name).
        public var uid: String
        /// The password.
        public var password: String
        /// The entry's DN.
        public var dn: String { "uid=\(uid),ou=people,\(Slapd.suffix)" }
        /// The `mail` value.
        public var mail: String { "\(uid)@example.org" }
        /// The `displayName` value.
        public var displayName: String
    }

    /// Where Debian installs slapd.
    public static let executable = "/usr/sbin/slapd"
    /// The directory suffix.
    public static let suffix = "dc=example,dc=org"
    /// The root DN (writes groups; never used by the code under test).
    public static let adminDN = "cn=admin,dc=example,dc=org"
    /// The root DN's password.
    public static let adminPassword = "admin-secret"
    /// The read-only service account.
    public static let serviceDN = "cn=reader,ou=services,dc=example,dc=org"
    /// The service account's password.
    public static let servicePassword = "reader-secret"
    /// Where users live.
    public static let peopleDN = "ou=people,dc=example,dc=org"
    /// Where groups live.
    public static let groupsDN = "ou=groups,dc=example,dc=org"

    /// alice: developers, everyone (nested), loop-a/loop-b (cycle), posix-devs, unique-team.
    public static let alice = User(uid: "alice", password: "alice-secret", displayName: "Alice Liddell")
    /// bob: a password with a colon, spaces and non-ASCII characters; member of everyone.
    public static let bob = User(uid: "bob", password: "p:ss wörd ✓ 🔑:", displayName: "Bob Bäcker")
    /// carol: developers and admins (two groups), everyone (nested), posix-devs.
    public static let carol = User(uid: "carol", password: "carol-secret", displayName: "Carol Danvers")
    /// dave: only `QA, Europe`.
    public static let dave = User(uid: "dave", password: "dave-secret", displayName: "Dave Null")
    /// twin: two entries with this uid (the second under `ou=contractors,ou=people`), same password.
    public static let twin = User(uid: "twin", password: "twin-secret", displayName: "Twin One")
    /// Every user with an entry directly under `ou=people`.
    public static let users = [alice, bob, carol, dave, twin]

    /// Whether slapd is installed here.
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    /// The instance's files (configuration, database, certificates, log).
    public let directory: TemporaryDirectory
    /// The plain (StartTLS-capable) port on 127.0.0.1.
    public let ldapPort: Int
    /// The TLS port on 127.0.0.1 and 127.0.0.2.
    public let ldapsPort: Int
    private var process: BackgroundProcess?
    private var restarts = 0

    /// `ldap://127.0.0.1:<port>`.
    public var ldapURL: String { "ldap://127.0.0.1:\(ldapPort)" }
    /// `ldaps://127.0.0.1:<port>`.
    public var ldapsURL: String { "ldaps://127.0.0.1:\(ldapsPort)" }
    /// `ldaps://127.0.0.2:<port>`: the right server under a name its certificate does not carry.
    public var ldapsURLWithWrongName: String { "ldaps://127.0.0.2:\(ldapsPort)" }
    /// The CA that signed the server certificate.
    public var caFile: String { directory.path("tls/ca.crt").path }
    /// A CA that signed nothing the server uses.
    public var otherCAFile: String { directory.path("tls/other-ca.crt").path }
    /// The running process's id, if it runs.
    public var pid: Int32? { process?.isRunning == true ? process?.pid : nil }

    private init(directory: TemporaryDirectory, ldapPort: Int, ldapsPort: Int) {
        self.directory = directory
        self.ldapPort = ldapPort
        self.ldapsPort = ldapsPort
    }

    /// Generates certificates, configuration and data, starts slapd and adds the groups.
    ///
    /// - Throws: `SlapdError` naming the step that failed (with the tool's output or slapd's log).
    public static func start(label: String = "slapd") async throws -> Slapd {
        guard isInstalled else { throw SlapdError("slapd is not installed at \(executable)") }
        reapOrphans()
        let directory = try TemporaryDirectory("ldap-\(label)")
        let slapd = Slapd(directory: directory, ldapPort: try freePort(), ldapsPort: try freePort())
        do {
            try await slapd.makeCertificates()
            try slapd.writeConfiguration()
            try FileManager.default.createDirectory(at: directory.path("db"), withIntermediateDirectories: true)
            try Data(baseLDIF().utf8).write(to: directory.path("base.ldif"))
            try await slapd.tool(
                "/usr/sbin/slapadd", ["-f", slapd.configFile, "-l", directory.path("base.ldif").path], "slapadd")
            try await slapd.launch()
            try await slapd.add(groupsLDIF())
        } catch {
            slapd.stop()
            throw error
        }
        return slapd
    }

    /// Kills slapd (SIGKILL) and waits for it; the data stays, so ``restart()`` brings it back.
    public func stop() {
        process?.stop()
        process = nil
    }

    /// Starts the same instance again (same ports, same data) and waits until it answers.
    public func restart() async throws {
        stop()
        try await launch()
    }

    /// Freezes slapd (SIGSTOP): connections are still accepted by the kernel, but nothing answers.
    public func pause() {
        if let pid { kill(pid, SIGSTOP) }
    }

    /// Thaws a paused slapd (SIGCONT).
    public func resume() {
        if let pid { kill(pid, SIGCONT) }
    }

    /// Adds entries as the root DN with `ldapadd` (so the memberof overlay sees them).
    public func add(_ ldif: String) async throws {
        let file = directory.path("add-\(UUID().uuidString.prefix(8)).ldif")
        try Data(ldif.utf8).write(to: file)
        try await tool(
            "/usr/bin/ldapadd",
            ["-x", "-H", ldapURL, "-D", Self.adminDN, "-w", Self.adminPassword, "-f", file.path], "ldapadd")
    }

    /// The end of slapd's log, for failure messages.
    public func logTail() -> String {
        process?.logTail()
            ?? String(
                decoding: (try? Data(contentsOf: directory.path("slapd.log"))) ?? Data(), as: UTF8.self
            ).suffix(4000).description
    }

    /// Stops slapd and deletes its files.
    public func remove() {
        stop()
        directory.remove()
    }

    deinit { stop() }

    /// Kills the slapds of earlier test runs that crashed before stopping them, and deletes their files.
    ///
    /// Only a live slapd whose parent is gone (reparented to PID 1) and whose command line names its own
    /// directory's `slapd.conf` is touched: another test run's instances, running or stopped for a
    /// moment, are left alone.
    static func reapOrphans() {
        let temporary = FileManager.default.temporaryDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
        for name in names where name.hasPrefix("portcullis-e2e-ldap-") {
            let directory = temporary.appendingPathComponent(name)
            guard
                let pid = orphanedPeer(
                    pidFile: directory.appendingPathComponent("slapd.pid"),
                    commandMark: directory.appendingPathComponent("slapd.conf").path)
            else { continue }
            kill(pid, SIGKILL)
            try? FileManager.default.removeItem(at: directory)
        }
    }

    // MARK: - Setup steps

    private var configFile: String { directory.path("slapd.conf").path }

    private func launch() async throws {
        restarts += 1
        let listeners = "ldap://127.0.0.1:\(ldapPort)/ ldaps://127.0.0.1:\(ldapsPort)/ ldaps://127.0.0.2:\(ldapsPort)/"
        let started = try BackgroundProcess(
            name: "slapd", executable: Self.executable, arguments: ["-f", configFile, "-h", listeners, "-d", "256"],
            environment: [:], removing: ["LDAP"], directory: directory.url,
            logFile: directory.path("slapd-\(restarts).log"))
        process = started
        let ldapURL = self.ldapURL
        let ready = try await waitUntil(seconds: 120) {
            guard started.isRunning else { return false }
            let probe = try await Processes.run(
                "/usr/bin/ldapwhoami", ["-x", "-H", ldapURL, "-D", Self.adminDN, "-w", Self.adminPassword],
                removing: ["LDAP"], timeout: 20)
            return probe.succeeded
        }
        guard ready else {
            let log = started.logTail()
            stop()
            throw SlapdError("slapd did not answer on \(ldapURL) within 120 s\n\(log)")
        }
    }

    private func tool(_ path: String, _ arguments: [String], _ step: String) async throws {
        let result = try await Processes.run(path, arguments, removing: ["LDAP"], directory: directory.url, timeout: 30)
        guard result.succeeded else { throw SlapdError("\(step) failed: \(result)") }
    }

    private func makeCertificates() async throws {
        let tls = directory.path("tls")
        try FileManager.default.createDirectory(at: tls, withIntermediateDirectories: true)
        for ca in ["ca", "other-ca"] {
            let config = """
                [req]
                distinguished_name = dn
                x509_extensions = v3_ca
                prompt = no
                [dn]
                CN = Portcullis Test \(ca)
                [v3_ca]
                basicConstraints = critical,CA:TRUE
                keyUsage = critical,keyCertSign,cRLSign
                subjectKeyIdentifier = hash
                """
            try Data(config.utf8).write(to: tls.appendingPathComponent("\(ca).cnf"))
            try await tool(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", "tls/\(ca).key", "-out", "tls/\(ca).crt", "-days", "3", "-config", "tls/\(ca).cnf",
                ], "openssl (\(ca))")
        }
        let request = """
            [req]
            distinguished_name = dn
            prompt = no
            [dn]
            CN = localhost
            """
        try Data(request.utf8).write(to: tls.appendingPathComponent("server.cnf"))
        let extensions = """
            subjectAltName = IP:127.0.0.1,DNS:localhost
            basicConstraints = CA:FALSE
            keyUsage = critical,digitalSignature
            extendedKeyUsage = serverAuth
            """
        try Data(extensions.utf8).write(to: tls.appendingPathComponent("server.ext"))
        try await tool(
            "/usr/bin/openssl",
            [
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                "tls/server.key", "-out", "tls/server.csr", "-config", "tls/server.cnf",
            ], "openssl (server request)")
        try await tool(
            "/usr/bin/openssl",
            [
                "x509", "-req", "-in", "tls/server.csr", "-CA", "tls/ca.crt", "-CAkey", "tls/ca.key",
                "-CAcreateserial", "-out", "tls/server.crt", "-days", "3", "-extfile", "tls/server.ext",
            ], "openssl (server certificate)")
    }

    private func writeConfiguration() throws {
        let root = directory.url.path
        let config = """
            include /etc/ldap/schema/core.schema
            include /etc/ldap/schema/cosine.schema
            include /etc/ldap/schema/nis.schema
            include /etc/ldap/schema/inetorgperson.schema
            modulepath /usr/lib/ldap
            moduleload back_mdb
            moduleload memberof
            pidfile \(root)/slapd.pid
            argsfile \(root)/slapd.args
            TLSCACertificateFile \(root)/tls/ca.crt
            TLSCertificateFile \(root)/tls/server.crt
            TLSCertificateKeyFile \(root)/tls/server.key
            sizelimit 500

            database mdb
            maxsize 33554432
            suffix "\(Self.suffix)"
            rootdn "\(Self.adminDN)"
            rootpw \(Self.adminPassword)
            directory \(root)/db
            index objectClass,uid,member,memberUid,uniqueMember,entryUUID eq

            overlay memberof
            memberof-group-oc groupOfNames
            memberof-member-ad member
            memberof-memberof-ad memberOf

            access to attrs=userPassword
                by anonymous auth
                by * none
            access to *
                by dn.exact="\(Self.serviceDN)" read
                by self read
                by anonymous auth
                by * none

            """
        try Data(config.utf8).write(to: directory.path("slapd.conf"))
    }

    private static func person(_ user: User, under parent: String = peopleDN, number: Int) -> String {
        """
        dn: uid=\(user.uid),\(parent)
        objectClass: inetOrgPerson
        objectClass: posixAccount
        uid: \(user.uid)
        cn:: \(Data(user.displayName.utf8).base64EncodedString())
        sn: \(user.uid)
        displayName:: \(Data(user.displayName.utf8).base64EncodedString())
        mail: \(user.mail)
        uidNumber: \(10_000 + number)
        gidNumber: 5000
        homeDirectory: /home/\(user.uid)
        userPassword:: \(Data(user.password.utf8).base64EncodedString())

        """
    }

    private static func baseLDIF() -> String {
        var ldif = """
            dn: \(suffix)
            objectClass: dcObject
            objectClass: organization
            dc: example
            o: Example

            dn: \(peopleDN)
            objectClass: organizationalUnit
            ou: people

            dn: ou=contractors,\(peopleDN)
            objectClass: organizationalUnit
            ou: contractors

            dn: ou=services,\(suffix)
            objectClass: organizationalUnit
            ou: services

            dn: \(groupsDN)
            objectClass: organizationalUnit
            ou: groups

            dn: \(serviceDN)
            objectClass: organizationalRole
            objectClass: simpleSecurityObject
            cn: reader
            userPassword:: \(Data(servicePassword.utf8).base64EncodedString())


            """
        for (number, user) in users.enumerated() { ldif += person(user, number: number) + "\n" }
        var otherTwin = twin
        otherTwin.displayName = "Twin Two"
        ldif += person(otherTwin, under: "ou=contractors,\(peopleDN)", number: 99)
        return ldif
    }

    private static func groupsLDIF() -> String {
        func group(_ cn: String, _ members: [String]) -> String {
            "dn: cn=\(cn),\(groupsDN)\nobjectClass: groupOfNames\ncn: \(cn)\n"
                + members.map { "member: \($0)\n" }.joined() + "\n"
        }
        let groupDN = { (cn: String) in "cn=\(cn),\(groupsDN)" }
        return group("developers", [alice.dn, carol.dn]) + group("admins", [carol.dn])
            + group("everyone", [bob.dn, groupDN("developers")]) + group("loop-a", [alice.dn, groupDN("loop-b")])
            + group("loop-b", [groupDN("loop-a")])
            + "dn: cn=QA\\, Europe,\(groupsDN)\nobjectClass: groupOfNames\ncn: QA, Europe\nmember: \(dave.dn)\n\n"
            + "dn: cn=posix-devs,\(groupsDN)\nobjectClass: posixGroup\ncn: posix-devs\ngidNumber: 5000\n"
            + "memberUid: alice\nmemberUid: carol\n\n"
            + "dn: cn=unique-team,\(groupsDN)\nobjectClass: groupOfUniqueNames\ncn: unique-team\n"
            + "uniqueMember: \(alice.dn)\n\n"
    }
}

/// A step of bringing up ``Slapd`` failed.
public struct SlapdError: Error, CustomStringConvertible {
    /// What failed, with the tool's output or slapd's log.
    public let description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}

extension Slapd {
    /// A `config.d` fragment declaring this directory as the `ldap` provider `corp-ldap` (StartTLS, the test
    /// CA, the read-only service account whose password comes from `bindPassword`, a reference such as
    /// `{env: NAME}`), followed by `mapping`: the entry's `mapping:` block written from column 0 (or empty).
    public func providerFragment(bindPassword: String, mapping: String) -> String {
        """
        providers:
          - id: corp-ldap
            type: ldap
            order: 30
            config:
              url: \(ldapURL)
              startTLS: true
              caFile: \(caFile)
              bindDN: \(Slapd.serviceDN)
              bindPassword: \(bindPassword)
              user: {baseDN: "\(Slapd.peopleDN)"}
              groups: {baseDN: "\(Slapd.groupsDN)"}

        """
            + mapping.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : "    " + $0 }.joined(separator: "\n") + "\n"
    }
}

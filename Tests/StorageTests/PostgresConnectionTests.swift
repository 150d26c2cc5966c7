import Foundation
import PostgresStorage
import Storage
import Testing

@Suite struct PostgresConnectionTests {
    @Test func aRefusedConnectionIsAnUnavailableErrorWithLibpqsReason() throws {
        do {
            _ = try PostgresConnection(
                "host=127.0.0.1 port=1 dbname=portcullis user=portcullis password=hunter2", connectTimeout: .seconds(2))
            Issue.record("connecting to port 1 succeeded")
        } catch let error as StoreError {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("Connection refused"))
            #expect(error.message.contains("127.0.0.1"))
            #expect(!error.message.contains("hunter2"))
        }
    }

    @Test func aRefusedURLConnectionIsAlsoUnavailable() throws {
        #expect(throws: StoreError.unavailable) {
            _ = try PostgresConnection("postgresql://portcullis:secret@127.0.0.1:1/portcullis")
        }
    }

    @Test func aMalformedConnectionStringIsInvalidInput() throws {
        do {
            _ = try PostgresConnection("this is not a conninfo")
            Issue.record("a malformed conninfo was accepted")
        } catch let error as StoreError {
            #expect(error.code == .invalidInput)
            #expect(error.message.contains("missing \"=\""))
        }
    }

    @Test func aMalformedURLNeverEchoesItsPassword() throws {
        do {
            _ = try PostgresConnection("postgresql://app:s3cr3tpw@[::1/db")
            Issue.record("a malformed URL was accepted")
        } catch let error as StoreError {
            #expect(error.code == .invalidInput)
            #expect(!error.message.contains("s3cr3tpw"))
            #expect(!error.reason.contains("s3cr3tpw"))
        }
    }

    @Test func theLinkedLibpqReportsItsVersion() {
        #expect(PostgresConnection.libraryVersion >= 100_000)
    }
}

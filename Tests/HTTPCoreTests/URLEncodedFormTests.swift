import HTTPCore
import Testing

@Suite struct URLEncodedFormTests {
    @Test func pairsAreDecodedInOrderWithPlusAsSpaceAndRepeatedNamesKept() throws {
        let body = Array("grant_type=refresh_token&scope=repository%3Aalice%2Fdemo%3Apull&scope=a+b&empty=&flag".utf8)
        let pairs = try #require(URLEncodedForm.decode(body))
        #expect(pairs.map(\.name) == ["grant_type", "scope", "scope", "empty", "flag"])
        #expect(pairs.map(\.value) == ["refresh_token", "repository:alice/demo:pull", "a b", "", ""])
    }

    @Test(arguments: ["a=%", "a=%4", "a=%zz", "%G1=x", "a=%ff%fe", "password=a%00b"])
    func malformedEscapesEscapedNULsAndInvalidUTF8AreRefused(body: String) {
        #expect(URLEncodedForm.decode(Array(body.utf8)) == nil)
    }

    @Test func utf8PasswordsSurviveDecoding() throws {
        let pairs = try #require(URLEncodedForm.decode(Array("password=p%C3%A4ss%3Aw%20rd".utf8)))
        #expect(pairs.first?.value == "päss:w rd")
    }
}

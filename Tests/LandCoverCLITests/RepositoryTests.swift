import Foundation
import Testing
import TestSupport

@Suite struct RepositoryTests {
    /// The checked-in `.swift-format` is enforced: `swift format lint --strict` must report nothing.
    @Test(.enabled(if: Executables.onPath("swift") != nil, "the swift toolchain is not on PATH"))
    func sourcesAreFormatted() throws {
        let root = TestPaths.repositoryRoot.path
        let result = try Executables.run(
            Executables.onPath("swift")!,
            ["format", "lint", "--strict", "--recursive", "\(root)/Package.swift", "\(root)/Sources", "\(root)/Tests"])
        #expect(result.status == 0 && result.error.isEmpty, "swift format lint:\n\(result.error)")
    }

    /// The README opens with the two set-up commands.
    @Test func readmeOpensWithTheTwoCommands() throws {
        let readme = try String(
            contentsOf: TestPaths.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let firstBlock = readme.components(separatedBy: "```").dropFirst().first ?? ""
        let commands = firstBlock.split(separator: "\n").filter {
            !$0.isEmpty && !$0.hasPrefix("bash") && !$0.hasPrefix("sh")
        }
        #expect(commands == ["make demo", "make test"])
    }
}

import ArgumentParser
import Foundation
import NeuralNet
import Testing
import TestSupport

@testable import LandCoverCLI

/// `import-weights` and `forward` through the built binary.
@Suite struct ModelCommandTests {
    @Test(arguments: ["import-weights", "forward"])
    func helpIsPinned(_ subcommand: String) throws {
        let command = try #require(
            LandCoverCommand.configuration.subcommands.first { $0.configuration.commandName == subcommand })
        let help = LandCoverCommand.helpMessage(for: command, columns: 100)
        let fixture = TestPaths.repositoryRoot.appendingPathComponent(
            "Tests/LandCoverCLITests/Fixtures/help-\(subcommand).txt")
        if ProcessInfo.processInfo.environment["LANDCOVER_RECORD_HELP"] != nil {
            try help.write(to: fixture, atomically: true, encoding: .utf8)
        }
        let pinned = try String(contentsOf: fixture, encoding: .utf8)
        #expect(help == pinned, "help of '\(subcommand)' changed; rerun with LANDCOVER_RECORD_HELP=1 if intended")
    }

    /// A reduced torchvision ResNet (basic blocks [1,1,1,1], widths 4…32, `fc` to 10) saved as its `state_dict`.
    static func writeTorchvisionStateDict(to url: URL) throws {
        var generator = SeededGenerator(seed: 21)
        let model = ResNet(
            ResNetConfiguration(block: .basic, layers: [1, 1, 1, 1], widths: [4, 8, 16, 32], classes: 10),
            using: &generator)
        try SafetensorsFile(stateDict: model.stateDict()).write(to: url)
    }

    @Test func importWeightsThenForward() throws {
        let directory = TemporaryDirectory()
        let source = directory.path("resnet.safetensors")
        try Self.writeTorchvisionStateDict(to: URL(fileURLWithPath: source))
        let encoder = directory.path("encoder.safetensors")
        let imported = try landcover([
            "import-weights", "--torchvision", source, "--bands", "B04,B03,B02,B8", "--out", encoder, "--arch",
            "basic:1,1,1,1:4,8,16,32",
        ])
        #expect(imported.status == 0, "\(imported.error)")
        #expect(imported.output.contains("resnet-encoder, bands B04,B03,B02,B08"))
        let (_, metadata) = try Checkpoint.load(from: URL(fileURLWithPath: encoder))
        #expect(metadata.bands == ["B04", "B03", "B02", "B08"] && metadata.codeVersion.hasPrefix("landcover "))

        var generator = SeededGenerator(seed: 22)
        let values = (0..<(3 * 4 * 24 * 24)).map { _ in Float.random(in: -2...2, using: &generator) }
        let input = NumPyArray(shape: [3, 4, 24, 24], values: values)
        try input.write(to: URL(fileURLWithPath: directory.path("x.npy")))
        let forward = try landcover([
            "forward", "--model", encoder, "--input", directory.path("x.npy"), "--output", directory.path("y.npy"),
            "--batch-size", "2",
        ])
        #expect(forward.status == 0, "\(forward.error)")
        let output = try NumPyArray(contentsOf: URL(fileURLWithPath: directory.path("y.npy")))
        let expected = try Checkpoint.forward(model: URL(fileURLWithPath: encoder), input: input)
        #expect(output.shape == [3, 32, 1, 1])
        #expect(output == expected)
    }

    @Test func importOfAnotherArchitectureFails() throws {
        let directory = TemporaryDirectory()
        let source = directory.path("resnet.safetensors")
        try Self.writeTorchvisionStateDict(to: URL(fileURLWithPath: source))
        let out = directory.path("encoder.safetensors")
        let result = try landcover([
            "import-weights", "--torchvision", source, "--bands", "B04,B03,B02", "--out", out, "--arch", "resnet18",
        ])
        expectOneLineFailure(result, mentioning: [source, "not a torchvision state_dict of ResNet-18"])
        #expect(!FileManager.default.fileExists(atPath: out))
        let missing = try landcover([
            "import-weights", "--torchvision", directory.path("absent.safetensors"), "--bands", "B04", "--out", out,
        ])
        expectOneLineFailure(missing, mentioning: [directory.path("absent.safetensors"), "file not found"])
    }

    @Test func forwardFailsOnMissingFilesAndWrongDtype() throws {
        let directory = TemporaryDirectory()
        let source = directory.path("resnet.safetensors")
        try Self.writeTorchvisionStateDict(to: URL(fileURLWithPath: source))
        let encoder = directory.path("encoder.safetensors")
        #expect(
            try landcover([
                "import-weights", "--torchvision", source, "--bands", "B04,B03,B02", "--out", encoder, "--arch",
                "basic:1,1,1,1:4,8,16,32",
            ]).status == 0)
        let good = directory.path("x.npy")
        try NumPyArray(shape: [1, 3, 8, 8], values: .init(repeating: 0.5, count: 192)).write(
            to: URL(fileURLWithPath: good))
        let y = directory.path("y.npy")

        let noModel = try landcover([
            "forward", "--model", directory.path("none.safetensors"), "--input", good, "--output", y,
        ])
        expectOneLineFailure(noModel, mentioning: [directory.path("none.safetensors"), "file not found"])
        let noInput = try landcover([
            "forward", "--model", encoder, "--input", directory.path("none.npy"), "--output", y,
        ])
        expectOneLineFailure(noInput, mentioning: [directory.path("none.npy"), "file not found"])

        // A float64 array, as np.save writes one by default.
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 8, 8), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8) + [UInt8](repeating: 0, count: 192 * 8))
        let float64 = directory.path("x64.npy")
        try data.write(to: URL(fileURLWithPath: float64))
        let wrongType = try landcover(["forward", "--model", encoder, "--input", float64, "--output", y])
        expectOneLineFailure(wrongType, mentioning: [float64, "'<f8'", "astype(np.float32)"])

        // Not a landcover checkpoint: the torchvision file itself.
        let foreign = try landcover(["forward", "--model", source, "--input", good, "--output", y])
        expectOneLineFailure(foreign, mentioning: [source, "no checkpoint metadata"])
        #expect(!FileManager.default.fileExists(atPath: y))
    }
}

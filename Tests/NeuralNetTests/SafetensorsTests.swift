import Foundation
import Testing
import TestSupport

@testable import NeuralNet

@Suite struct SafetensorsTests {
    @Test func roundTripKeepsTensorsAndMetadata() throws {
        let directory = TemporaryDirectory()
        var file = SafetensorsFile(metadata: ["architecture": "resnet50", "classes": "[\"a\",\"b\"]"])
        file.tensors["conv1.weight"] = SafetensorsEntry(shape: [2, 1, 1, 3], values: [1, 2, 3, 4, 5, 6])
        file.tensors["bn1.num_batches_tracked"] = SafetensorsEntry(
            dtype: .int64, shape: [], bytes: withUnsafeBytes(of: Int64(7).littleEndian) { Data($0) })
        let url = directory.url.appendingPathComponent("model.safetensors")
        try file.write(to: url)
        let read = try SafetensorsFile(contentsOf: url)
        #expect(read == file)
        #expect(read.tensors["bn1.num_batches_tracked"]?.floats() == [7])
        // The header is padded so the data section starts 8-byte aligned.
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect((8 + headerLength) % 8 == 0)
    }

    @Test func truncatedAndForeignFilesFailNamingTheFile() throws {
        let directory = TemporaryDirectory()
        var file = SafetensorsFile()
        file.tensors["w"] = SafetensorsEntry(shape: [4], values: [1, 2, 3, 4])
        let data = try file.serialized()
        let truncated = directory.url.appendingPathComponent("cut.safetensors")
        try data.prefix(data.count - 4).write(to: truncated)
        let error = #expect(throws: SafetensorsError.self) { try SafetensorsFile(contentsOf: truncated) }
        #expect(error?.description.hasPrefix(truncated.path) == true)
        let foreign = directory.url.appendingPathComponent("notes.txt")
        try Data("hello, this is not a checkpoint".utf8).write(to: foreign)
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(contentsOf: foreign) }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: GoldenFixtures.directory.path), "golden fixtures absent"))
    func readsPyTorchWrittenFiles() throws {
        let file = try SafetensorsFile(
            contentsOf: GoldenFixtures.directory.appendingPathComponent("resnet_basic.safetensors"))
        #expect(file.tensors["param.conv1.weight"]?.shape == [8, 3, 7, 7])
        #expect(file.tensors["param.bn1.num_batches_tracked"]?.dtype == .int64)
        #expect(file.metadata["config"] != nil)
    }
}

/// The committed PyTorch fixtures (`Tests/Fixtures/golden`, made by `Tests/Fixtures/make_golden.py`).
enum GoldenFixtures {
    static let directory = TestPaths.repositoryRoot.appendingPathComponent("Tests/Fixtures/golden")
}

import Foundation
import Testing
import TensorCore
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

/// A deterministic fuzz target for the safetensors reader: thousands of mutated and hostile files must each be read
/// or refused with a `SafetensorsError` — never a crash, a hang or an out-of-bounds read.
@Suite struct SafetensorsFuzzTests {
    static func valid() throws -> Data {
        let file = SafetensorsFile(
            stateDict: [
                "a.weight": Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]), "b": Tensor(shape: [4], repeating: 0.5),
            ], metadata: ["format": "pt"])
        return try file.serialized()
    }

    static func file(header: String, payload: Int = 24) -> Data {
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(Data(repeating: 7, count: payload))
        return data
    }

    /// Hand-written hostile headers: overflowing shapes, negative extents, offsets beyond the file or near Int.max,
    /// unknown dtypes, wrong types, a header length larger than the file.
    @Test(arguments: [
        #"{"t":{"dtype":"F32","shape":[9223372036854775807,2],"data_offsets":[0,8]}}"#,
        #"{"t":{"dtype":"F32","shape":[-1,-4],"data_offsets":[0,16]}}"#,
        #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,9223372036854775807]}}"#,
        #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775800,9223372036854775807]}}"#,
        #"{"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#,
        #"{"t":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}"#,
        #"{"t":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}"#,
        #"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
        #"{"__metadata__":{"a":1}}"#,
        #"[1,2,3]"#,
    ])
    func hostileHeadersAreRefused(header: String) {
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(data: Self.file(header: header)) }
    }

    @Test func headerLengthBeyondTheFileIsRefused() {
        var data = Self.file(header: "{}")
        data.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64.max.littleEndian) { Data($0) })
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(data: data) }
    }

    /// 4,000 mutations of a valid file (byte flips in the header and data, truncations, insertions): each is read or
    /// refused with a `SafetensorsError`; whatever is read holds tensors whose bytes match their shapes.
    @Test func mutatedFilesAreReadOrRefused() throws {
        let original = try Self.valid()
        var generator = SeededGenerator(seed: 99)
        var refused = 0
        for _ in 0..<4000 {
            var data = original
            switch generator.next() % 3 {
            case 0:
                for _ in 0..<(1 + Int(generator.next() % 4)) {
                    let position = Int(generator.next() % UInt64(data.count))
                    data[position] = UInt8(truncatingIfNeeded: generator.next())
                }
            case 1:
                data = data.prefix(Int(generator.next() % UInt64(data.count)))
            default:
                let position = 8 + Int(generator.next() % UInt64(data.count - 8))
                data.insert(
                    contentsOf: "9999999999999999999,-".utf8.shuffled(using: &generator).prefix(3), at: position)
            }
            do {
                let file = try SafetensorsFile(data: data)
                for entry in file.tensors.values {
                    #expect(entry.bytes.count == entry.shape.reduce(1, *) * entry.dtype.size)
                }
            } catch is SafetensorsError {
                refused += 1
            }
        }
        #expect(refused > 1000, "most mutations break the file: \(refused) refused")
    }
}

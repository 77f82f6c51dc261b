import Foundation
import TensorCore
import TestSupport
import Testing

/// A PyTorch golden fixture from `Tests/Fixtures/golden` (see `Tests/Fixtures/README.md`): named F32 and I64
/// tensors in a safetensors file, and the `config` JSON of its metadata.
///
/// A minimal safetensors reader, since this target cannot see NeuralNet's: an 8-byte little-endian header
/// length, that many bytes of JSON (`{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {…}}`), then
/// the data, with offsets relative to its start.
struct GoldenFixture {
    /// One tensor's element type, shape and little-endian bytes.
    private struct Entry {
        let dtype: String
        let shape: [Int]
        let bytes: Data
    }

    /// The file's name without `.safetensors`.
    let name: String
    private let entries: [String: Entry]
    /// The parsed `config` metadata.
    private let config: [String: Any]

    /// Reads `Tests/Fixtures/golden/<name>.safetensors`.
    init(_ name: String) throws {
        self.name = name
        let url = TestPaths.repositoryRoot.appendingPathComponent("Tests/Fixtures/golden/\(name).safetensors")
        let data = try Data(contentsOf: url)
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(
            try JSONSerialization.jsonObject(with: data[8..<(8 + headerLength)]) as? [String: Any],
            "\(name): the header is not a JSON object")
        var entries: [String: Entry] = [:]
        for (key, value) in header where key != "__metadata__" {
            let info = try #require(value as? [String: Any], "\(name): malformed entry \(key)")
            let dtype = try #require(info["dtype"] as? String)
            let shape = try #require(info["shape"] as? [Int])
            let offsets = try #require(info["data_offsets"] as? [Int])
            let start = 8 + headerLength
            entries[key] = Entry(dtype: dtype, shape: shape, bytes: data[(start + offsets[0])..<(start + offsets[1])])
        }
        self.entries = entries
        let metadata = try #require(header["__metadata__"] as? [String: String], "\(name): no metadata")
        let configText = try #require(metadata["config"], "\(name): no config")
        config = try #require(try JSONSerialization.jsonObject(with: Data(configText.utf8)) as? [String: Any])
    }

    /// The F32 tensor `name`.
    func tensor(_ key: String) throws -> Tensor {
        let entry = try #require(entries[key], "\(name) has no tensor \(key)")
        try #require(entry.dtype == "F32", "\(name).\(key) is \(entry.dtype), not F32")
        let scalars = entry.bytes.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            }
        }
        return Tensor(shape: entry.shape, scalars: scalars)
    }

    /// The I64 tensor `name`'s values and shape (empty for a scalar).
    func integers(_ key: String) throws -> (values: [Int64], shape: [Int]) {
        let entry = try #require(entries[key], "\(name) has no tensor \(key)")
        try #require(entry.dtype == "I64", "\(name).\(key) is \(entry.dtype), not I64")
        let values = entry.bytes.withUnsafeBytes { raw in
            (0..<(raw.count / 8)).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
        }
        return (values, entry.shape)
    }

    /// `config.cases.<case>`: the hyper-parameters of one case.
    func caseConfig(_ caseName: String) throws -> [String: Any] {
        let cases = try #require(config["cases"] as? [String: Any], "\(name) has no config.cases")
        return try #require(cases[caseName] as? [String: Any], "\(name) has no case \(caseName)")
    }

    /// The names of the cases in `config.cases`, sorted.
    func caseNames() throws -> [String] {
        try #require(config["cases"] as? [String: Any], "\(name) has no config.cases").keys.sorted()
    }
}

/// The fixture README's tolerances: rtol 1e-4 for forward values, 1e-3 for gradients.
enum GoldenTolerance: Float {
    case forward = 1e-4
    case gradient = 1e-3
}

/// Expects `actual` to match a golden `expected` within `rtol` and `atol = rtol · max|expected|`, the fixture
/// README's measure.
func expectGolden(
    _ actual: Tensor, _ expected: Tensor, _ tolerance: GoldenTolerance,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let scale = expected.scalars.reduce(Float(0)) { max($0, abs($1)) }
    let rtol = tolerance.rawValue
    expectClose(actual, expected, rtol: rtol, atol: rtol * scale, sourceLocation: sourceLocation)
}

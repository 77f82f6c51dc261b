import Foundation
import Testing
import TestSupport

@testable import NeuralNet
@testable import TensorCore

/// One PyTorch fixture file: its tensors by name and its `config` metadata.
struct Golden {
    let name: String
    let file: SafetensorsFile
    /// The parsed `config` JSON object.
    let config: [String: Any]

    /// Whether the committed fixtures are present (a user's checkout may lack them).
    static let available = FileManager.default.fileExists(atPath: GoldenFixtures.directory.path)

    /// Reads `Tests/Fixtures/golden/<name>.safetensors`.
    init(_ name: String) throws {
        self.name = name
        file = try SafetensorsFile(contentsOf: GoldenFixtures.directory.appendingPathComponent("\(name).safetensors"))
        let json = file.metadata["config"].flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }
        config = json as? [String: Any] ?? [:]
    }

    /// The tensor `key` as Float32 (integers converted), or a test failure.
    func tensor(_ key: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Tensor {
        let entry = try #require(file.tensors[key], "\(name) has no tensor \(key)", sourceLocation: sourceLocation)
        return Tensor(shape: entry.shape, scalars: entry.floats())
    }

    /// The tensor `key`, if present.
    func optionalTensor(_ key: String) -> Tensor? {
        file.tensors[key].map { Tensor(shape: $0.shape, scalars: $0.floats()) }
    }

    /// The integer tensor `key` (class targets) in row-major order.
    func integers(_ key: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [Int] {
        try tensor(key, sourceLocation: sourceLocation).scalars.map { Int($0) }
    }

    /// The `state_dict` stored behind `prefix` (`param.`, `train.final.`), prefix removed.
    func stateDict(prefix: String) -> [String: Tensor] {
        file.stateDict(prefix: prefix)
    }

    /// The case names of an op fixture (`config.cases`), sorted.
    var caseNames: [String] {
        ((config["cases"] as? [String: Any])?.keys).map { $0.sorted() } ?? []
    }

    /// The config of case `name`.
    func caseConfig(_ name: String) -> [String: Any] {
        (config["cases"] as? [String: Any])?[name] as? [String: Any] ?? [:]
    }
}

/// Forward values (outputs, losses, running statistics) agree with PyTorch within this (issue 3).
let forwardTolerance: Float = 1e-4
/// Gradients and optimizer state agree with PyTorch within this (issue 3).
let backwardTolerance: Float = 1e-3

/// Expects `actual` to match `expected` as the fixture README asks: every element within
/// `rtol·|expected| + rtol·max|expected|`. Returns the scaled error max|actual − expected| / max|expected|; with
/// `NEURALNET_GOLDEN_REPORT` set in the environment it also prints it, labelled, for the record.
@discardableResult
func expectClose(
    _ actual: Tensor, _ expected: Tensor, rtol: Float, _ label: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) -> Float {
    guard actual.shape == expected.shape else {
        Issue.record("\(label): shape \(actual.shape) differs from \(expected.shape).", sourceLocation: sourceLocation)
        return .infinity
    }
    let (a, e) = (actual.scalars, expected.scalars)
    let scale = e.reduce(0) { max($0, abs($1)) }
    let atol = rtol * scale
    var misses = 0
    var worst: (index: Int, excess: Float)?
    var largestError: Float = 0
    for index in a.indices {
        let error = abs(a[index] - e[index])
        largestError = max(largestError, error.isNaN ? .infinity : error)
        let tolerance = atol + rtol * abs(e[index])
        if !(error <= tolerance) {
            misses += 1
            let excess = error.isNaN ? .infinity : error / tolerance
            if worst.map({ excess > $0.excess }) ?? true { worst = (index, excess) }
        }
    }
    if let worst {
        Issue.record(
            """
            \(label): \(misses) of \(a.count) elements outside rtol \(rtol) (atol \(atol)); worst at \(worst.index): \
            \(a[worst.index]) vs \(e[worst.index]).
            """, sourceLocation: sourceLocation)
    }
    let scaledError = scale > 0 ? largestError / scale : largestError
    if ProcessInfo.processInfo.environment["NEURALNET_GOLDEN_REPORT"] != nil {
        print("GOLDEN \(label) scaled error \(scaledError) (rtol \(rtol))")
    }
    return scaledError
}

import Foundation
import LandCoverData
import Yams

/// A validated pipeline specification (`Pipelines/*.yaml`). See `Pipelines/README.md`.
///
/// Every mistake — unknown key, wrong type, missing input — is found by `load` before any work starts.
public struct PipelineSpec: Sendable, Equatable {
    /// Name of the run.
    public var name: String
    /// Output directory (relative paths are relative to the spec file).
    public var output: URL
    /// Sentinel-2 product (.SAFE directory, MTD XML or zip).
    public var safe: URL
    /// CORINE layer.
    public var corine: URL
    /// Chipping settings and bands, when the spec has a `chip` stage.
    public var chip: ChipStage?
    /// Statistics settings, when the spec has a `stats` stage.
    public var stats: StatsStage?

    /// The `chip` stage.
    public struct ChipStage: Sendable, Equatable {
        /// Bands in storage order.
        public var bands: [SpectralBand] = SpectralBand.rgb
        /// Chipper settings.
        public var configuration = ChipperConfiguration()
    }

    /// The `stats` stage.
    public struct StatsStage: Sendable, Equatable {
        /// Minimum share of labelled pixels for a class to count as a chip label.
        public var minimumShare = 0.0
    }

    /// The stages this build runs, in execution order.
    public static let knownStages = ["chip", "stats"]

    /// Reads and validates a spec file.
    public static func load(_ file: URL) throws -> PipelineSpec {
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw PipelineError(file.path, "cannot read the pipeline spec")
        }
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw PipelineError(file.path, "not valid YAML (\(error))")
        }
        var reader = SpecReader(file: file)
        return try reader.spec(from: root)
    }
}

/// A pipeline problem, in one line naming the spec file and the key.
public struct PipelineError: Error, CustomStringConvertible, Sendable {
    /// The message.
    public let message: String
    init(_ path: String, _ problem: String) { message = "\(path): \(problem)" }
    public var description: String { message }
}

/// Walks the parsed YAML with a key path for error messages.
private struct SpecReader {
    let file: URL
    var base: URL { file.deletingLastPathComponent() }

    func fail(_ path: String, _ problem: String) -> PipelineError {
        PipelineError(file.path, path.isEmpty ? problem : "\(path): \(problem)")
    }

    func mapping(_ value: Any?, at path: String, allowed: [String]) throws -> [String: Any] {
        guard let map = value as? [String: Any] else { throw fail(path, "expected a mapping") }
        for key in map.keys.sorted() where !allowed.contains(key) {
            throw fail(path.isEmpty ? key : "\(path).\(key)", "unknown key (known: \(allowed.joined(separator: ", ")))")
        }
        return map
    }

    func string(_ map: [String: Any], _ key: String, at path: String) throws -> String? {
        guard let value = map[key] else { return nil }
        guard let string = value as? String else { throw fail("\(path)\(key)", "expected text, got \(value)") }
        return string
    }

    func number(_ map: [String: Any], _ key: String, at path: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let value = map[key] else { return nil }
        let number: Double
        switch value {
        case let int as Int: number = Double(int)
        case let double as Double: number = double
        default: throw fail("\(path)\(key)", "expected a number, got \(value)")
        }
        guard range.contains(number) else {
            throw fail("\(path)\(key)", "\(number) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    func integer(_ map: [String: Any], _ key: String, at path: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = map[key] else { return nil }
        guard let int = value as? Int else { throw fail("\(path)\(key)", "expected an integer, got \(value)") }
        guard range.contains(int) else { throw fail("\(path)\(key)", "\(int) is outside \(range)") }
        return int
    }

    func existingPath(_ map: [String: Any], _ key: String, at path: String) throws -> URL {
        guard let relative = try string(map, key, at: path) else { throw fail("\(path)\(key)", "missing") }
        let url = URL(fileURLWithPath: relative, relativeTo: base).standardizedFileURL
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw fail("\(path)\(key)", "\(url.path) does not exist")
        }
        return url
    }

    mutating func spec(from root: Any?) throws -> PipelineSpec {
        let top = try mapping(root, at: "", allowed: ["name", "output", "inputs", "stages"])
        let inputs = try mapping(top["inputs"] ?? [String: Any](), at: "inputs", allowed: ["safe", "corine"])
        let stages = try mapping(top["stages"] ?? [String: Any](), at: "stages", allowed: PipelineSpec.knownStages)
        guard let output = try string(top, "output", at: "") else { throw fail("output", "missing") }
        var spec = PipelineSpec(
            name: try string(top, "name", at: "") ?? file.deletingPathExtension().lastPathComponent,
            output: URL(fileURLWithPath: output, relativeTo: base).standardizedFileURL,
            safe: try existingPath(inputs, "safe", at: "inputs."),
            corine: try existingPath(inputs, "corine", at: "inputs."))
        if stages.keys.contains("chip") { spec.chip = try chipStage(stages["chip"]) }
        if stages.keys.contains("stats") { spec.stats = try statsStage(stages["stats"]) }
        return spec
    }

    func chipStage(_ value: Any?) throws -> PipelineSpec.ChipStage {
        let keys = [
            "bands", "chip_size", "stride", "split", "block_size", "validation_fraction", "seed", "max_invalid",
            "max_cloud",
        ]
        let map = try mapping(value ?? [String: Any](), at: "stages.chip", allowed: keys)
        let path = "stages.chip."
        var stage = PipelineSpec.ChipStage()
        if let bands = map["bands"] {
            guard let names = bands as? [String] else { throw fail(path + "bands", "expected a list of band names") }
            stage.bands = try names.map {
                guard let band = SpectralBand($0) else { throw fail(path + "bands", "unknown band \($0)") }
                return band
            }
        }
        let size = try integer(map, "chip_size", at: path, in: 8...4096) ?? 120
        let fraction = try number(map, "validation_fraction", at: path, in: 0...1) ?? 0.2
        let seed = UInt64(try integer(map, "seed", at: path, in: 0...Int.max) ?? 0)
        let split: SplitRule
        switch try string(map, "split", at: path) ?? "blocked" {
        case "blocked":
            let block = try integer(map, "block_size", at: path, in: 1...1000) ?? 5
            split = .blocked(blockSize: block, validationFraction: fraction, seed: seed)
        case "random": split = .random(validationFraction: fraction, seed: seed)
        case let other: throw fail(path + "split", "expected blocked or random, got \(other)")
        }
        stage.configuration = ChipperConfiguration(
            chipSize: size, stride: try integer(map, "stride", at: path, in: 1...4096),
            maxInvalidFraction: try number(map, "max_invalid", at: path, in: 0...1) ?? 0.2,
            maxCloudFraction: try number(map, "max_cloud", at: path, in: 0...1) ?? 0.1, split: split)
        return stage
    }

    func statsStage(_ value: Any?) throws -> PipelineSpec.StatsStage {
        let map = try mapping(value ?? [String: Any](), at: "stages.stats", allowed: ["min_share"])
        return PipelineSpec.StatsStage(minimumShare: try number(map, "min_share", at: "stages.stats.", in: 0...1) ?? 0)
    }
}

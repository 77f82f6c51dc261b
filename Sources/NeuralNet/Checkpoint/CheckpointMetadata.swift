import Foundation

/// What a checkpoint's `__metadata__` says about its model: everything needed to rebuild it and use it on data
/// (architecture, bands, normalisation, classes), and where it came from (recipe, metrics, code version, date).
///
/// In the file each field is one string value of the safetensors `__metadata__` map, JSON-encoded when it is
/// structured: `format_version` ("1"), `architecture` (JSON), `bands` (JSON array), `normalization` (JSON),
/// `nomenclature` (JSON), `task`, `recipe` (JSON), `metrics` (JSON), `code_version`, `created` (ISO 8601).
/// Optional fields are simply absent. Other keys are kept by readers that do not know them.
public struct CheckpointMetadata: Codable, Sendable, Equatable {
    /// The newest checkpoint format this code reads and the one it writes.
    public static let currentFormatVersion = 1

    /// The model: a ResNet family member and how it is used.
    public struct Architecture: Codable, Sendable, Equatable {
        /// How the ResNet is used, which fixes the tensor names.
        public enum Kind: String, Codable, Sendable, CaseIterable {
            /// torchvision's ResNet with its pooling and `fc` (keys `conv1.*` … `fc.*`).
            case classifier
            /// The ResNet without pooling and `fc` (keys `conv1.*` … `layer4.*`): an encoder or fastai body.
            case encoder
            /// fastai v1's multi-label classifier (keys `body.*`, `head.<index>.*`).
            case fastaiClassifier = "fastai-classifier"
            /// A segmenter: `UNet`, the compact smp-style decoder (smp keys `encoder.*`, `decoder.blocks.*`,
            /// `segmentation_head.0.*`).
            case unet
            /// A segmenter: `DynamicUNet`, fastai v1's decoder (keys `layers.<index>.*`).
            case dynamicUNet = "dynamic-unet"

            /// Whether the model gives one logit per class and pixel.
            public var isSegmenter: Bool { self == .unet || self == .dynamicUNet }
        }

        /// The name, `<family>-<kind>`: `resnet50-fastai-classifier`, `resnet18-encoder`, `resnet34-classifier`;
        /// the family is `resnet` for a reduced network (other widths or depths).
        public var name: String
        /// 18, 34 or 50 for torchvision's networks, nil for a reduced one.
        public var depth: Int?
        /// `basic` or `bottleneck`.
        public var block: String
        /// Blocks per stage.
        public var layers: [Int]
        /// Stage widths (torchvision: 64, 128, 256, 512).
        public var widths: [Int]
        /// Input bands of the stem.
        public var inputChannels: Int
        /// Outputs of the classifier; nil for an encoder.
        public var classes: Int?
        /// Hidden units of the fastai head (fastai: 512); nil otherwise.
        public var hidden: Int?
        /// Widths of the five decoder blocks of a `unet` (smp: 256, 128, 64, 32, 16); nil otherwise.
        public var decoderChannels: [Int]?
        /// The input size a `dynamic-unet` was built for (fastai: the training chip size, 120); it decides only
        /// whether a parameter-free resize shifts the indices of the last layers. Nil otherwise.
        public var imageSize: Int?

        /// The architecture of `kind` on `resnet`; `classes` and `hidden` as the kind needs them. Segmenters take
        /// `decoderChannels` (`unet`, default smp's) or `imageSize` (`dynamic-unet`, default 120).
        public init(
            kind: Kind, resnet: ResNetConfiguration, classes: Int? = nil, hidden: Int? = nil,
            decoderChannels: [Int]? = nil, imageSize: Int? = nil
        ) {
            let depth = Self.depth(of: resnet)
            name = "\(depth.map { "resnet\($0)" } ?? "resnet")-\(kind.rawValue)"
            self.depth = depth
            block = resnet.block.rawValue
            layers = resnet.layers
            widths = resnet.widths
            inputChannels = resnet.inputChannels
            self.classes = kind == .encoder ? nil : classes ?? resnet.classes
            self.hidden = kind == .fastaiClassifier ? hidden ?? 512 : nil
            self.decoderChannels = kind == .unet ? decoderChannels ?? UNet.defaultDecoderChannels : nil
            self.imageSize = kind == .dynamicUNet ? imageSize ?? 120 : nil
        }

        /// The kind named by `name`'s suffix, or nil for an architecture this code does not know.
        public var kind: Kind? {
            guard name.hasPrefix("resnet") else { return nil }
            // Longest suffix first: "-fastai-classifier" also ends in "-classifier", "-dynamic-unet" in "-unet".
            return [Kind.fastaiClassifier, .dynamicUNet, .encoder, .classifier, .unet].first {
                name.hasSuffix("-\($0.rawValue)")
            }
        }

        /// 18, 34 or 50 when `configuration` is torchvision's network of that depth at full width.
        public static func depth(of configuration: ResNetConfiguration) -> Int? {
            guard configuration.widths == [64, 128, 256, 512] else { return nil }
            switch (configuration.block, configuration.layers) {
            case (.basic, [2, 2, 2, 2]): return 18
            case (.basic, [3, 4, 6, 3]): return 34
            case (.bottleneck, [3, 4, 6, 3]): return 50
            default: return nil
            }
        }
    }

    /// Per-band normalisation applied to the input before the model: (x − mean) / std.
    public struct Normalization: Codable, Sendable, Equatable {
        /// Mean per band, in `bands` order.
        public var mean: [Float]
        /// Standard deviation per band.
        public var std: [Float]

        /// Normalisation by `mean` and `std` per band.
        public init(mean: [Float], std: [Float]) {
            self.mean = mean
            self.std = std
        }
    }

    /// The class list of a model's outputs.
    public struct Nomenclature: Codable, Sendable, Equatable {
        /// One output class.
        public struct Class: Codable, Sendable, Equatable {
            /// Its code in the nomenclature (CORINE: "211").
            public var code: String
            /// Its name.
            public var name: String

            /// A class.
            public init(code: String, name: String) {
                self.code = code
                self.name = name
            }
        }

        /// The nomenclature, such as `corine-level3` or `bigearthnet-19`.
        public var id: String
        /// The classes in output order.
        public var classes: [Class]

        /// A nomenclature.
        public init(id: String, classes: [Class]) {
            self.id = id
            self.classes = classes
        }
    }

    /// What the outputs mean.
    public enum Task: String, Codable, Sendable {
        /// One multi-label logit per class and image.
        case classification
        /// One logit per class and pixel.
        case segmentation
    }

    /// The format version the file was written with.
    public var formatVersion: Int
    /// The model.
    public var architecture: Architecture
    /// The input bands in channel order (`B04`, `B03`, `B02`, `B08`).
    public var bands: [String]
    /// The input normalisation, if the checkpoint fixes one.
    public var normalization: Normalization?
    /// The output classes (nil for an encoder).
    public var nomenclature: Nomenclature?
    /// What the outputs mean (nil for an encoder).
    public var task: Task?
    /// A summary of how the model was made (stages, epochs, learning rates, source weights).
    public var recipe: [String: String]?
    /// Validation metrics by name.
    public var metrics: [String: Double]?
    /// The code that wrote the checkpoint (`landcover 0.1.0`).
    public var codeVersion: String
    /// When it was written.
    public var created: Date

    /// Metadata of the current format version.
    public init(
        architecture: Architecture, bands: [String], normalization: Normalization? = nil,
        nomenclature: Nomenclature? = nil, task: Task? = nil, recipe: [String: String]? = nil,
        metrics: [String: Double]? = nil, codeVersion: String, created: Date = Date()
    ) {
        formatVersion = Self.currentFormatVersion
        self.architecture = architecture
        self.bands = bands
        self.normalization = normalization
        self.nomenclature = nomenclature
        self.task = task
        self.recipe = recipe
        self.metrics = metrics
        self.codeVersion = codeVersion
        // Whole seconds: the file keeps ISO 8601 without fractions, so a round trip is exact.
        self.created = Date(timeIntervalSince1970: created.timeIntervalSince1970.rounded(.down))
    }

    private enum Key {
        static let formatVersion = "format_version"
        static let architecture = "architecture"
        static let bands = "bands"
        static let normalization = "normalization"
        static let nomenclature = "nomenclature"
        static let task = "task"
        static let recipe = "recipe"
        static let metrics = "metrics"
        static let codeVersion = "code_version"
        static let created = "created"
    }

    /// The `__metadata__` strings.
    public func metadataStrings() throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json(_ value: some Encodable) throws -> String {
            String(decoding: try encoder.encode(value), as: UTF8.self)
        }
        var strings = [
            Key.formatVersion: String(formatVersion),
            Key.architecture: try json(architecture),
            Key.bands: try json(bands),
            Key.codeVersion: codeVersion,
            Key.created: ISO8601DateFormatter().string(from: created),
        ]
        strings[Key.normalization] = try normalization.map(json)
        strings[Key.nomenclature] = try nomenclature.map(json)
        strings[Key.task] = task?.rawValue
        strings[Key.recipe] = try recipe.map(json)
        strings[Key.metrics] = try metrics.map(json)
        return strings
    }

    /// Reads the `__metadata__` strings of the checkpoint at `path` (named in errors): a file without them, or
    /// written by a newer format version, is refused.
    public init(metadataStrings strings: [String: String], path: String) throws {
        func fail(_ problem: String) -> CheckpointError { CheckpointError(path: path, problem: problem) }
        guard let versionText = strings[Key.formatVersion] else {
            throw fail("no checkpoint metadata (__metadata__ lacks format_version): not a landcover checkpoint")
        }
        guard let version = Int(versionText), version >= 1 else {
            throw fail("checkpoint format_version '\(versionText)' is not a positive integer")
        }
        guard version <= Self.currentFormatVersion else {
            throw fail(
                "checkpoint format version \(version) is newer than this landcover reads "
                    + "(\(Self.currentFormatVersion)); use a newer landcover")
        }
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T? {
            guard let text = strings[key] else { return nil }
            do {
                return try decoder.decode(type, from: Data(text.utf8))
            } catch {
                throw fail("checkpoint metadata '\(key)' is malformed: \(text.prefix(80))")
            }
        }
        func require<T>(_ value: T?, _ key: String) throws -> T {
            guard let value else { throw fail("checkpoint metadata lacks '\(key)'") }
            return value
        }
        formatVersion = version
        architecture = try require(decode(Architecture.self, Key.architecture), Key.architecture)
        bands = try require(decode([String].self, Key.bands), Key.bands)
        normalization = try decode(Normalization.self, Key.normalization)
        nomenclature = try decode(Nomenclature.self, Key.nomenclature)
        if let taskName = strings[Key.task] {
            task = try require(Task(rawValue: taskName), "a known task (not '\(taskName)')")
        }
        recipe = try decode([String: String].self, Key.recipe)
        metrics = try decode([String: Double].self, Key.metrics)
        codeVersion = try require(strings[Key.codeVersion], Key.codeVersion)
        let createdText = try require(strings[Key.created], Key.created)
        created = try require(ISO8601DateFormatter().date(from: createdText), "an ISO 8601 'created' date")
    }
}

/// A checkpoint problem, in one line naming the file.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    /// The file.
    public let path: String
    /// What is wrong.
    public let problem: String

    /// An error about the file at `path`.
    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}

import Foundation
import TensorCore

/// A model checkpoint: one safetensors file of PyTorch `state_dict` tensors plus `CheckpointMetadata` in its
/// `__metadata__` (see `Docs/formats.md`).
public enum Checkpoint {
    /// Writes `model`'s `state_dict` with `metadata` to `url` (atomically). The metadata must describe the model:
    /// its architecture's key names and shapes are checked against the model's first.
    public static func save(model: Module, metadata: CheckpointMetadata, to url: URL) throws {
        let stateDict = model.stateDict()
        let expected = try makeModel(metadata, path: url.path).stateDict()
        do {
            try check(stateDict, fits: expected)
        } catch let error as StateDictError {
            throw CheckpointError(
                path: url.path, problem: "the metadata's \(metadata.architecture.name) does not fit the model: \(error)"
            )
        }
        let file = SafetensorsFile(stateDict: stateDict, metadata: try metadata.metadataStrings())
        do {
            try file.write(to: url)
        } catch let error as SafetensorsError {
            throw CheckpointError(path: url.path, problem: error.problem)
        } catch {
            throw CheckpointError(path: url.path, problem: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Reads the checkpoint at `url`: its tensors and metadata. A file without landcover metadata, or of a newer
    /// format version, is refused.
    public static func load(from url: URL) throws -> (file: SafetensorsFile, metadata: CheckpointMetadata) {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CheckpointError(path: url.path, problem: "file not found")
        }
        let file = try SafetensorsFile(contentsOf: url)
        return (file, try CheckpointMetadata(metadataStrings: file.metadata, path: url.path))
    }

    /// A freshly initialised model of `metadata`'s architecture (ResNet with `fc`, bare ResNet encoder, fastai
    /// classifier, `UNet` or `DynamicUNet`); `path` names the checkpoint in errors.
    public static func makeModel(_ metadata: CheckpointMetadata, path: String = "<checkpoint>") throws -> any Layer {
        let architecture = metadata.architecture
        func fail(_ problem: String) -> CheckpointError { CheckpointError(path: path, problem: problem) }
        guard let kind = architecture.kind else {
            throw fail(
                "unknown architecture '\(architecture.name)' (this landcover knows resnet*-classifier, "
                    + "resnet*-encoder, resnet*-fastai-classifier, resnet*-unet and resnet*-dynamic-unet)")
        }
        guard let block = ResNetConfiguration.Block(rawValue: architecture.block) else {
            throw fail("unknown ResNet block '\(architecture.block)' (basic or bottleneck)")
        }
        guard architecture.layers.count == 4, architecture.layers.allSatisfy({ $0 >= 1 }),
            architecture.widths.count == 4, architecture.widths.allSatisfy({ $0 >= 1 }),
            architecture.inputChannels >= 1
        else {
            throw fail(
                "architecture \(architecture.name) needs four stages of ≥ 1 blocks, four positive widths and ≥ 1 "
                    + "input band (has layers \(architecture.layers), widths \(architecture.widths), "
                    + "\(architecture.inputChannels) bands)")
        }
        guard metadata.bands.count == architecture.inputChannels else {
            throw fail(
                "metadata lists \(metadata.bands.count) bands but the architecture takes \(architecture.inputChannels)")
        }
        var configuration = ResNetConfiguration(
            block: block, layers: architecture.layers, widths: architecture.widths,
            inputChannels: architecture.inputChannels, classes: nil)
        // The weights are replaced by the checkpoint's; a fixed seed keeps construction deterministic.
        var generator = SeededGenerator(seed: 0)
        switch kind {
        case .encoder:
            return ResNet(configuration, using: &generator)
        case .classifier, .fastaiClassifier, .unet, .dynamicUNet:
            guard let classes = architecture.classes, classes >= 1 else {
                throw fail("architecture \(architecture.name) needs a positive number of classes")
            }
            if let nomenclature = metadata.nomenclature, nomenclature.classes.count != classes {
                throw fail(
                    "nomenclature \(nomenclature.id) lists \(nomenclature.classes.count) classes but the model has "
                        + "\(classes) outputs")
            }
            switch kind {
            case .classifier:
                configuration.classes = classes
                return ResNet(configuration, using: &generator)
            case .unet:
                let decoder = architecture.decoderChannels ?? UNet.defaultDecoderChannels
                guard decoder.count == 5, decoder.allSatisfy({ $0 >= 1 }) else {
                    throw fail("a U-Net decoder has five blocks of positive width, not \(decoder)")
                }
                return UNet(encoder: configuration, classes: classes, decoderChannels: decoder, using: &generator)
            case .dynamicUNet:
                let size = architecture.imageSize ?? 120
                guard size >= 32 else { throw fail("a DynamicUnet image size must be at least 32, not \(size)") }
                return DynamicUNet(
                    encoder: configuration, classes: classes, imageSize: (size, size), using: &generator)
            default:
                break
            }
            let hidden = architecture.hidden ?? 512
            guard hidden >= 1 else { throw fail("the fastai head needs a positive number of hidden units") }
            return FastaiClassifier(body: configuration, hidden: hidden, classes: classes, using: &generator)
        }
    }

    /// The model of the checkpoint at `url`, rebuilt from its metadata with every tensor loaded strictly (a missing
    /// or unexpected key, or a shape mismatch, is an error naming the file and the key), in inference mode.
    public static func loadModel(from url: URL) throws -> (model: any Layer, metadata: CheckpointMetadata) {
        let (file, metadata) = try load(from: url)
        let model = try makeModel(metadata, path: url.path)
        do {
            try model.load(stateDict: file.stateDict(), strict: true)
        } catch let error as StateDictError {
            throw CheckpointError(path: url.path, problem: error.description)
        }
        model.eval()
        return (model, metadata)
    }

    /// Throws the first key of `expected` that `actual` lacks, of `actual` that `expected` lacks, or whose shapes
    /// differ.
    static func check(_ actual: [String: Tensor], fits expected: [String: Tensor]) throws {
        if let missing = expected.keys.sorted().first(where: { actual[$0] == nil }) {
            throw StateDictError(key: missing, problem: .missing)
        }
        if let unexpected = actual.keys.sorted().first(where: { expected[$0] == nil }) {
            throw StateDictError(key: unexpected, problem: .unexpected)
        }
        for key in expected.keys.sorted() where actual[key]!.shape != expected[key]!.shape {
            throw StateDictError(
                key: key, problem: .shapeMismatch(checkpoint: actual[key]!.shape, model: expected[key]!.shape))
        }
    }
}

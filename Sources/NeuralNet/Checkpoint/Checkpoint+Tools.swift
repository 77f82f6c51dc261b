import Foundation
import TensorCore

extension Checkpoint {
    /// The ResNet named `name`: `resnet18`, `resnet34`, `resnet50`, or a reduced network
    /// `<basic|bottleneck>:<layers>:<widths>` (`basic:1,1,1,1:8,16,32,64`), without classes. Nil for another name.
    public static func resNetConfiguration(named name: String, inputChannels: Int = 3) -> ResNetConfiguration? {
        switch name {
        case "resnet18": return .resnet18(inputChannels: inputChannels, classes: nil)
        case "resnet34": return .resnet34(inputChannels: inputChannels, classes: nil)
        case "resnet50": return .resnet50(inputChannels: inputChannels, classes: nil)
        default:
            let parts = name.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, let block = ResNetConfiguration.Block(rawValue: String(parts[0])) else {
                return nil
            }
            func integers(_ text: Substring) -> [Int]? {
                let values = text.split(separator: ",").compactMap { Int($0) }
                return values.count == 4 && values.allSatisfy { $0 >= 1 } ? values : nil
            }
            guard let layers = integers(parts[1]), let widths = integers(parts[2]), inputChannels >= 1 else {
                return nil
            }
            return ResNetConfiguration(
                block: block, layers: layers, widths: widths, inputChannels: inputChannels, classes: nil)
        }
    }

    /// Turns a torchvision ResNet `state_dict` saved as safetensors (`safetensors.torch.save_file(model.state_dict(),
    /// …)`) into an encoder checkpoint for `bands`, and writes it to `output`.
    ///
    /// The source must have exactly the keys of `architecture` (plus `fc.*`, which is dropped) with an RGB stem;
    /// `conv1` is widened (or narrowed) to the bands with `ResNet.adaptingInputBands`. Returns the metadata written.
    @discardableResult
    public static func importTorchvision(
        from source: URL, architecture: ResNetConfiguration, bands: [String], to output: URL, codeVersion: String
    ) throws -> CheckpointMetadata {
        func fail(_ problem: String) -> CheckpointError { CheckpointError(path: source.path, problem: problem) }
        guard !bands.isEmpty else { throw fail("no bands given") }
        guard FileManager.default.fileExists(atPath: source.path) else { throw fail("file not found") }
        let file = try SafetensorsFile(contentsOf: source)
        var stateDict = file.stateDict()
        stateDict["fc.weight"] = nil
        stateDict["fc.bias"] = nil
        var rgb = architecture
        rgb.inputChannels = 3
        rgb.classes = nil
        var generator = SeededGenerator(seed: 0)
        let expected = ResNet(rgb, using: &generator).stateDict()
        let depthName = CheckpointMetadata.Architecture.depth(of: rgb).map { "ResNet-\($0)" } ?? "the ResNet"
        do {
            try check(stateDict, fits: expected)
        } catch let error as StateDictError {
            throw fail("not a torchvision state_dict of \(depthName) (\(architectureSummary(rgb))): \(error)")
        }
        var encoderConfiguration = rgb
        encoderConfiguration.inputChannels = bands.count
        let encoder = ResNet(encoderConfiguration, using: &generator)
        do {
            try encoder.load(pretrained: stateDict, strict: true)
        } catch let error as StateDictError {
            throw fail(error.description)
        }
        let stem = bands.count == 3 ? "RGB stem kept" : "conv1 adapted from RGB to \(bands.count) bands"
        let metadata = CheckpointMetadata(
            architecture: .init(kind: .encoder, resnet: encoderConfiguration), bands: bands,
            recipe: ["source": "torchvision state_dict \(source.lastPathComponent)", "stem": stem],
            codeVersion: codeVersion)
        try save(model: encoder, metadata: metadata, to: output)
        return metadata
    }

    /// The raw outputs (logits) of the checkpoint at `model` in inference mode for `input` `[N, C, H, W]`, computed
    /// `batchSize` samples at a time. `inputPath` names the input in errors.
    public static func forward(
        model url: URL, input: NumPyArray, inputPath: String = "<input>", batchSize: Int = 16
    ) throws -> NumPyArray {
        let (model, metadata) = try loadModel(from: url)
        let bands = metadata.architecture.inputChannels
        guard input.shape.count == 4 else {
            throw NumPyError(path: inputPath, problem: "expected a 4-D array [N, C, H, W], not shape \(input.shape)")
        }
        guard input.shape[1] == bands else {
            throw NumPyError(
                path: inputPath,
                problem: "has \(input.shape[1]) channels but the model takes \(bands) "
                    + "(\(metadata.bands.joined(separator: ",")))")
        }
        guard input.shape[0] >= 1, input.shape[2] >= 1, input.shape[3] >= 1 else {
            throw NumPyError(path: inputPath, problem: "empty array of shape \(input.shape)")
        }
        let sampleSize = input.shape[1...].reduce(1, *)
        var outputShape: [Int] = []
        var outputs: [Float] = []
        for start in stride(from: 0, to: input.shape[0], by: max(batchSize, 1)) {
            let count = min(max(batchSize, 1), input.shape[0] - start)
            let batch = Tensor(
                shape: [count] + input.shape[1...],
                scalars: Array(input.values[(start * sampleSize)..<((start + count) * sampleSize)]))
            let output = try withoutGradients { try model(Variable(batch)) }.value
            outputShape = [input.shape[0]] + output.shape.dropFirst()
            outputs += output.scalars
        }
        return NumPyArray(shape: outputShape, values: outputs)
    }

    private static func architectureSummary(_ configuration: ResNetConfiguration) -> String {
        "\(configuration.block.rawValue) blocks \(configuration.layers), widths \(configuration.widths)"
    }
}

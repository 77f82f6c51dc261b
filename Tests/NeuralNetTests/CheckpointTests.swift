import Foundation
import Testing
import TestSupport

@testable import NeuralNet
@testable import TensorCore

@Suite struct CheckpointTests {
    static let tinyBody = ResNetConfiguration(
        block: .basic, layers: [1, 1, 1, 1], widths: [4, 8, 16, 32], inputChannels: 4, classes: nil)
    static let bands = ["B04", "B03", "B02", "B08"]

    static func classifierMetadata() -> CheckpointMetadata {
        CheckpointMetadata(
            architecture: .init(kind: .fastaiClassifier, resnet: tinyBody, classes: 3, hidden: 8), bands: bands,
            normalization: .init(mean: [0.1, 0.2, 0.3, 0.4], std: [1, 2, 3, 4]),
            nomenclature: .init(
                id: "corine-level1",
                classes: [
                    .init(code: "1", name: "Artificial surfaces"), .init(code: "2", name: "Agricultural areas"),
                    .init(code: "3", name: "Forest and semi natural areas"),
                ]),
            task: .classification, recipe: ["stages": "frozen 2 epochs, unfrozen 3 epochs", "max_lr": "3e-3"],
            metrics: ["f1_micro": 0.81, "exact_match": 0.42], codeVersion: "landcover test")
    }

    /// A random batch `[n, c, h, w]`.
    static func randomInput(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return .randomNormal(shape, standardDeviation: 1, using: &generator)
    }

    @Test func saveLoadRoundTripKeepsTensorsMetadataAndOutputs() throws {
        let directory = TemporaryDirectory()
        let url = directory.url.appendingPathComponent("classifier.safetensors")
        var generator = SeededGenerator(seed: 3)
        let model = FastaiClassifier(body: Self.tinyBody, hidden: 8, classes: 3, using: &generator)
        let metadata = Self.classifierMetadata()
        try Checkpoint.save(model: model, metadata: metadata, to: url)

        let (file, readMetadata) = try Checkpoint.load(from: url)
        #expect(readMetadata == metadata)
        #expect(readMetadata.architecture.name == "resnet-fastai-classifier")
        #expect(file.metadata["format_version"] == "1")
        #expect(file.tensors["head.2.num_batches_tracked"]?.dtype == .int64)
        #expect(Set(file.tensors.keys) == Set(model.stateDict().keys))

        let (loaded, _) = try Checkpoint.loadModel(from: url)
        #expect(loaded is FastaiClassifier)
        #expect(loaded.isTraining == false)
        model.eval()
        let input = Self.randomInput([2, 4, 32, 32], seed: 9)
        let expected = try withoutGradients { try model(Variable(input)) }.value
        let actual = try withoutGradients { try loaded(Variable(input)) }.value
        #expect(actual == expected)
    }

    @Test func torchvisionNamesOfTheFullSizeArchitectures() throws {
        let resnet50 = CheckpointMetadata.Architecture(
            kind: .fastaiClassifier, resnet: .resnet50(inputChannels: 4), classes: 19)
        #expect(resnet50.name == "resnet50-fastai-classifier" && resnet50.depth == 50 && resnet50.hidden == 512)
        let encoder = CheckpointMetadata.Architecture(kind: .encoder, resnet: .resnet18())
        #expect(encoder.name == "resnet18-encoder" && encoder.classes == nil && encoder.kind == .encoder)
        #expect(CheckpointMetadata.Architecture(kind: .classifier, resnet: .resnet34()).name == "resnet34-classifier")
        #expect(
            Checkpoint.resNetConfiguration(named: "resnet50", inputChannels: 4)
                == .resnet50(inputChannels: 4, classes: nil))
        #expect(Checkpoint.resNetConfiguration(named: "basic:1,1,1,1:4,8,16,32", inputChannels: 4) == Self.tinyBody)
        #expect(Checkpoint.resNetConfiguration(named: "resnet51") == nil)
        #expect(Checkpoint.resNetConfiguration(named: "basic:1,1,1:4,8,16,32") == nil)
    }

    /// Writes `file` and returns the error `Checkpoint.loadModel` throws for it.
    static func loadError(_ file: SafetensorsFile, in directory: TemporaryDirectory) throws -> String {
        let url = directory.url.appendingPathComponent("bad.safetensors")
        try file.write(to: url)
        do {
            _ = try Checkpoint.loadModel(from: url)
        } catch {
            let text = String(describing: error)
            #expect(text.hasPrefix(url.path + ": ") && !text.contains("\n"), "\(text)")
            return text
        }
        Issue.record("loading \(url.path) should fail")
        return ""
    }

    @Test func badCheckpointsFailWithOneLineNamingTheFile() throws {
        let directory = TemporaryDirectory()
        var generator = SeededGenerator(seed: 4)
        let model = FastaiClassifier(body: Self.tinyBody, hidden: 8, classes: 3, using: &generator)
        let metadata = try Self.classifierMetadata().metadataStrings()
        let good = SafetensorsFile(stateDict: model.stateDict(), metadata: metadata)

        var file = good
        file.metadata = [:]
        #expect(try Self.loadError(file, in: directory).contains("no checkpoint metadata"))

        file = good
        file.metadata["format_version"] = "2"
        #expect(try Self.loadError(file, in: directory).contains("format version 2 is newer than this landcover reads"))

        file = good
        file.metadata["architecture"] = file.metadata["architecture"]!
            .replacingOccurrences(of: "resnet-fastai-classifier", with: "unet-smp")
        #expect(try Self.loadError(file, in: directory).contains("unknown architecture 'unet-smp'"))

        file = good
        file.metadata["architecture"] = "{not json"
        #expect(try Self.loadError(file, in: directory).contains("'architecture' is malformed"))

        file = good
        file.tensors["head.8.bias"] = nil
        #expect(try Self.loadError(file, in: directory).contains("missing key head.8.bias"))

        file = good
        file.tensors["fc.weight"] = SafetensorsEntry(shape: [1], values: [0])
        #expect(try Self.loadError(file, in: directory).contains("unexpected key fc.weight"))

        file = good
        file.tensors["head.8.bias"] = SafetensorsEntry(shape: [4], values: [0, 0, 0, 0])
        #expect(try Self.loadError(file, in: directory).contains("shape mismatch for head.8.bias"))

        let missing = directory.url.appendingPathComponent("absent.safetensors")
        let error = #expect(throws: CheckpointError.self) { try Checkpoint.loadModel(from: missing) }
        #expect(error?.description == "\(missing.path): file not found")
    }

    @Test func saveRefusesMetadataThatDoesNotDescribeTheModel() throws {
        let directory = TemporaryDirectory()
        var generator = SeededGenerator(seed: 5)
        let model = FastaiClassifier(body: Self.tinyBody, hidden: 16, classes: 3, using: &generator)
        let url = directory.url.appendingPathComponent("x.safetensors")
        let error = #expect(throws: CheckpointError.self) {
            try Checkpoint.save(model: model, metadata: Self.classifierMetadata(), to: url)
        }
        #expect(error?.description.contains("does not fit the model") == true)
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    /// A reduced torchvision ResNet (with `fc`) saved as its `state_dict`, as `safetensors.torch.save_file` does.
    static func writeTorchvisionStateDict(to url: URL, block: ResNetConfiguration.Block = .basic) throws -> ResNet {
        var generator = SeededGenerator(seed: 6)
        let configuration = ResNetConfiguration(
            block: block, layers: [1, 1, 1, 1], widths: [4, 8, 16, 32], inputChannels: 3, classes: 10)
        let model = ResNet(configuration, using: &generator)
        // Non-trivial batch-norm statistics, so the eval-mode forward pass depends on them.
        for (name, buffer) in model.namedBuffers() where name.hasSuffix("running_var") {
            buffer.value = Tensor(
                shape: buffer.shape, scalars: (0..<buffer.value.count).map { 0.5 + Float($0 % 5) / 4 })
        }
        try SafetensorsFile(stateDict: model.stateDict()).write(to: url)
        return model
    }

    @Test func importWeightsThenForwardWidensTheStem() throws {
        let directory = TemporaryDirectory()
        let source = directory.url.appendingPathComponent("resnet.safetensors")
        let torchvision = try Self.writeTorchvisionStateDict(to: source)
        let encoderURL = directory.url.appendingPathComponent("encoder.safetensors")
        let metadata = try Checkpoint.importTorchvision(
            from: source, architecture: #require(Checkpoint.resNetConfiguration(named: "basic:1,1,1,1:4,8,16,32")),
            bands: Self.bands, to: encoderURL, codeVersion: "landcover test")
        #expect(metadata.architecture.name == "resnet-encoder" && metadata.architecture.inputChannels == 4)

        let (file, readMetadata) = try Checkpoint.load(from: encoderURL)
        #expect(readMetadata == metadata && readMetadata.bands == Self.bands)
        #expect(file.tensors["fc.weight"] == nil)
        let stem = try #require(file.tensors["conv1.weight"]).floats()
        let rgb = torchvision.conv1.weight.value.scalars
        #expect(file.tensors["conv1.weight"]?.shape == [4, 4, 7, 7])
        for out in 0..<4 {
            for tap in 0..<49 {
                let kernel = (0..<3).map { rgb[(out * 3 + $0) * 49 + tap] }
                #expect((0..<3).map { stem[(out * 4 + $0) * 49 + tap] } == kernel)
                #expect(abs(stem[(out * 4 + 3) * 49 + tap] - (kernel[0] + kernel[1] + kernel[2]) / 3) < 1e-6)
            }
        }

        // forward: the encoder's features, from RGB weights with a fourth band.
        let input = Self.randomInput([3, 4, 40, 40], seed: 11)
        let output = try Checkpoint.forward(
            model: encoderURL, input: NumPyArray(shape: input.shape, values: input.scalars), batchSize: 2)
        var generator = SeededGenerator(seed: 12)
        let reference = ResNet(Self.tinyBody, using: &generator)
        try reference.load(pretrained: torchvision.stateDict().filter { !$0.key.hasPrefix("fc.") })
        reference.eval()
        let expected = try withoutGradients { try reference.features(Variable(input)) }.value
        #expect(output.shape == [3, 32, 2, 2])
        expectClose(Tensor(shape: output.shape, scalars: output.values), expected, rtol: 1e-5, "encoder features")

        // An input with the wrong band count is refused, naming the input.
        let wrong = NumPyArray(shape: [1, 3, 8, 8], values: .init(repeating: 0, count: 192))
        let error = #expect(throws: NumPyError.self) {
            try Checkpoint.forward(model: encoderURL, input: wrong, inputPath: "x.npy")
        }
        #expect(error?.description == "x.npy: has 3 channels but the model takes 4 (B04,B03,B02,B08)")
    }

    @Test func importRefusesAStateDictOfAnotherArchitecture() throws {
        let directory = TemporaryDirectory()
        let source = directory.url.appendingPathComponent("resnet.safetensors")
        _ = try Self.writeTorchvisionStateDict(to: source, block: .bottleneck)
        let out = directory.url.appendingPathComponent("encoder.safetensors")
        let error = #expect(throws: CheckpointError.self) {
            try Checkpoint.importTorchvision(
                from: source, architecture: .resnet18(classes: nil), bands: ["B04", "B03", "B02"], to: out,
                codeVersion: "test")
        }
        let text = error?.description ?? ""
        #expect(text.hasPrefix("\(source.path): not a torchvision state_dict of ResNet-18"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test(.enabled(if: Golden.available, "golden fixtures absent"))
    func forwardMatchesPyTorchGolden() throws {
        let golden = try Golden("resnet_basic")
        let directory = TemporaryDirectory()
        let configuration = ResNetConfiguration(
            block: .basic, layers: [1, 1, 1, 1], widths: [8, 16, 32, 64], inputChannels: 3, classes: 5)
        var generator = SeededGenerator(seed: 1)
        let model = ResNet(configuration, using: &generator)
        try model.load(stateDict: golden.stateDict(prefix: "param."))
        let url = directory.url.appendingPathComponent("golden.safetensors")
        try Checkpoint.save(
            model: model,
            metadata: CheckpointMetadata(
                architecture: .init(kind: .classifier, resnet: configuration), bands: ["B04", "B03", "B02"],
                task: .classification, codeVersion: "test"),
            to: url)
        for prefix in ["", "at120."] {
            let input = try golden.tensor("\(prefix)input")
            let output = try Checkpoint.forward(
                model: url, input: NumPyArray(shape: input.shape, values: input.scalars))
            expectClose(
                Tensor(shape: output.shape, scalars: output.values), try golden.tensor("\(prefix)output_eval"),
                rtol: forwardTolerance, "checkpoint forward \(prefix)output_eval")
        }
    }
}

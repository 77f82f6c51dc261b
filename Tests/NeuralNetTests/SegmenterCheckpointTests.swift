import Foundation
import Testing
import TestSupport

@testable import NeuralNet
@testable import TensorCore

/// Segmenter checkpoints (`unet`, `dynamic-unet`): what `landcover map` loads.
@Suite struct SegmenterCheckpointTests {
    static let body = CheckpointTests.tinyBody

    static func metadata(_ kind: CheckpointMetadata.Architecture.Kind, classes: Int = 3) -> CheckpointMetadata {
        CheckpointMetadata(
            architecture: .init(kind: kind, resnet: body, classes: classes, decoderChannels: [16, 8, 8, 4, 4]),
            bands: CheckpointTests.bands,
            normalization: .init(mean: [0.1, 0.1, 0.1, 0.3], std: [0.05, 0.05, 0.05, 0.1]),
            nomenclature: .init(
                id: "corine-l1",
                classes: [
                    .init(code: "1", name: "Artificial surfaces"), .init(code: "2", name: "Agricultural areas"),
                    .init(code: "3", name: "Forest and semi natural areas"),
                ]),
            task: .segmentation, codeVersion: "landcover test")
    }

    @Test(arguments: [CheckpointMetadata.Architecture.Kind.unet, .dynamicUNet])
    func segmenterRoundTripGivesTheSameLogits(_ kind: CheckpointMetadata.Architecture.Kind) throws {
        let directory = TemporaryDirectory()
        let url = directory.url.appendingPathComponent("\(kind.rawValue).safetensors")
        var generator = SeededGenerator(seed: 5)
        let model: any Layer =
            kind == .unet
            ? UNet(encoder: Self.body, classes: 3, decoderChannels: [16, 8, 8, 4, 4], using: &generator)
            : DynamicUNet(encoder: Self.body, classes: 3, using: &generator)
        let metadata = Self.metadata(kind)
        #expect(metadata.architecture.name == "resnet-\(kind.rawValue)")
        #expect(metadata.architecture.kind == kind && kind.isSegmenter)
        #expect(metadata.architecture.decoderChannels == (kind == .unet ? [16, 8, 8, 4, 4] : nil))
        #expect(metadata.architecture.imageSize == (kind == .dynamicUNet ? 120 : nil))
        try Checkpoint.save(model: model, metadata: metadata, to: url)

        let (loaded, readMetadata) = try Checkpoint.loadModel(from: url)
        #expect(readMetadata == metadata)
        #expect(type(of: loaded) == type(of: model))
        model.eval()
        let input = CheckpointTests.randomInput([2, 4, 40, 40], seed: 11)
        let expected = try withoutGradients { try model(Variable(input)) }.value
        let actual = try withoutGradients { try loaded(Variable(input)) }.value
        #expect(actual.shape == [2, 3, 40, 40])
        #expect(actual == expected)
    }

    @Test func fullSizeSegmenterNamesAndDefaults() throws {
        let unet = CheckpointMetadata.Architecture(kind: .unet, resnet: .resnet50(inputChannels: 4), classes: 25)
        #expect(unet.name == "resnet50-unet" && unet.kind == .unet)
        #expect(unet.decoderChannels == UNet.defaultDecoderChannels && unet.hidden == nil)
        let fastai = CheckpointMetadata.Architecture(kind: .dynamicUNet, resnet: .resnet34(), classes: 5)
        #expect(fastai.name == "resnet34-dynamic-unet" && fastai.kind == .dynamicUNet && fastai.imageSize == 120)
        // A classifier's metadata keeps its old JSON: no segmenter keys appear.
        let classifier = CheckpointMetadata.Architecture(kind: .classifier, resnet: .resnet18(), classes: 5)
        let json = String(decoding: try JSONEncoder().encode(classifier), as: UTF8.self)
        #expect(!json.contains("decoderChannels") && !json.contains("imageSize"))
    }

    @Test func aWrongDecoderIsRefused() throws {
        var metadata = Self.metadata(.unet)
        metadata.architecture.decoderChannels = [8, 8]
        #expect(throws: CheckpointError.self) { try Checkpoint.makeModel(metadata, path: "x.safetensors") }
        var wrongClasses = Self.metadata(.unet)
        wrongClasses.architecture.classes = 4
        let error = #expect(throws: CheckpointError.self) { try Checkpoint.makeModel(wrongClasses) }
        #expect(error?.problem.contains("3 classes but the model has 4 outputs") == true)
    }
}

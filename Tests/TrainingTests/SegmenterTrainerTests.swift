import Foundation
import LandCoverData
import Metrics
import NeuralNet
import TestSupport
import Testing

@testable import Training

/// Generated segmentation data with known pixel labels at CORINE level 1: each image is split into vertical bands
/// of three classes — artificial (grid code 1), agricultural (12) and forest (23) — each brightening its own
/// spectral band, plus noise; a few pixels are no data (0).
final class SyntheticPixelSource: SegmentationSource {
    let count: Int
    let bands = SpectralBand.rgb
    let size = 16
    let nomenclature: Nomenclature
    private let maps: [[UInt8]]
    private let seeds: [UInt64]

    init(count: Int, nomenclature: Nomenclature = .corineLevel1, seed: UInt64 = 5) {
        self.count = count
        self.nomenclature = nomenclature
        var generator = NeuralNet.SeededGenerator(seed: seed)
        let codes: [UInt8] = [1, 12, 23]
        maps = (0..<count).map { _ in
            let cuts = [Int(generator.next() % 8) + 2, Int(generator.next() % 4) + 10]
            let order = [0, 1, 2].shuffled(using: &generator)
            return (0..<(16 * 16)).map { pixel in
                let x = pixel % 16
                if pixel % 37 == 0 { return 0 }
                return codes[order[x < cuts[0] ? 0 : x < cuts[1] ? 1 : 2]]
            }
        }
        seeds = (0..<count).map { _ in generator.next() }
    }

    func identifier(at index: Int) -> String { "pixels-\(index)" }
    func split(at index: Int) -> ChipSplit? { index % 5 == 0 ? .validation : .train }
    func labels(at index: Int) -> [Int] {
        Set(maps[index].compactMap { nomenclature.index(ofLevel3: Int($0)) }).sorted()
    }
    func level3Map(at index: Int) throws -> [UInt8] { maps[index] }

    func readImage(at index: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        var generator = NeuralNet.SeededGenerator(seed: seeds[index])
        let band = [UInt8(1): 0, 12: 1, 23: 2]
        for pixel in 0..<(size * size) {
            for b in 0..<3 {
                let noise = 0.02 * Float(generator.next() % 1000) / 1000
                buffer[b * size * size + pixel] = 0.05 + noise + (band[maps[index][pixel]] == b ? 0.06 : 0)
            }
        }
    }
}

@Suite struct SegmenterTrainerTests {
    static func recipe(epochs: Int) -> SegmenterRecipe {
        var recipe = SegmenterRecipe()
        recipe.architecture = "basic:1,1,1,1:8,8,16,16"
        recipe.batchSize = 8
        recipe.decoderEpochs = 0
        recipe.allEpochs = epochs
        recipe.learningRate = 1e-2
        recipe.seed = 2
        return recipe
    }

    /// On generated data the segmenter's validation mean IoU clearly beats predicting the majority class.
    @Test func beatsMajorityBaseline() throws {
        let source = SyntheticPixelSource(count: 120)
        let directory = TemporaryDirectory()
        let log = try SegmenterTrainer(source: source, recipe: Self.recipe(epochs: 6), output: directory.url).run()
        #expect(log.complete && log.epochs.count == 6)

        // Majority baseline on the validation pixels.
        var confusion = ConfusionMatrix(classCount: 5)
        let validation = TrainingData(source: source).validation
        var counts = [Int](repeating: 0, count: 5)
        for index in validation {
            for label in try source.pixelLabels(at: index) where label > 0 { counts[Int(label) - 1] += 1 }
        }
        let majority = counts.indices.max { counts[$0] < counts[$1] }!
        for index in validation {
            let truth = try source.pixelLabels(at: index).map { Int($0) - 1 }
            confusion.add(truth: truth, predicted: truth.map { _ in majority }, ignoring: -1)
        }
        let baseline = confusion.meanIntersectionOverUnion
        let iou = try #require(log.epochs.last?.meanIoU)
        #expect(iou > baseline + 0.25, "mean IoU \(iou) vs majority \(baseline)")

        let segmenter = try TrainedSegmenter(contentsOf: directory.url.appendingPathComponent("model.safetensors"))
        #expect(segmenter.metadata.architecture.kind == .unet && segmenter.nomenclature.id == "corine-l1")
        let (report, sets) = try SegmentationReport.evaluate(
            segmenter, source: source, indices: validation, split: "validation")
        #expect(sets.count == validation.count)
        expectClose(report.levels[0].meanIoU, iou, rtol: 1e-9)
        let truthClasses = Set(report.levels[0].classes.filter { $0.pixels > 0 }.map(\.index))
        #expect(truthClasses == [1, 2, 3])
    }

    /// Right after transfer, the segmenter's encoder holds exactly the classifier's body.
    @Test func encoderEqualsClassifierBody() throws {
        let directory = TemporaryDirectory()
        var generator = NeuralNet.SeededGenerator(seed: 8)
        let configuration = ResNetConfiguration(
            block: .basic, layers: [1, 1, 1, 1], widths: [8, 8, 16, 16], classes: nil)
        let classifier = FastaiClassifier(body: configuration, hidden: 8, classes: 5, using: &generator)
        // Move the batch-norm statistics away from their initial values, so that they are checked too.
        for (_, buffer) in classifier.namedBuffers() where buffer.value.count > 1 {
            buffer.value = .randomUniform(buffer.shape, in: 0.5..<1.5, using: &generator)
        }
        let url = directory.url.appendingPathComponent("classifier.safetensors")
        try SafetensorsFile(stateDict: classifier.stateDict()).write(to: url)

        var recipe = Self.recipe(epochs: 1)
        recipe.decoderEpochs = 1
        let trainer = try SegmenterTrainer(
            source: SyntheticPixelSource(count: 20), recipe: recipe, output: directory.url, encoderWeights: url)
        let model = try trainer.makeModel(configuration)
        let body = classifier.body.stateDict()
        let encoder = model.encoder.stateDict()
        #expect(Set(body.keys) == Set(encoder.keys))
        for (key, value) in body { #expect(encoder[key]?.scalars == value.scalars, "\(key)") }
        #expect(trainer.stagePlan.map(\.name) == ["decoder", "all"])
    }

    /// A level-3 model's classes map to their level-2 and level-1 parents.
    @Test func hierarchyMaps() throws {
        let l3 = Nomenclature.corineLevel3
        // Grid code 12 is 211 (non-irrigated arable land): level-2 "21", level-1 "2".
        let l2Parent = (1...l3.count).map { index -> Int in
            let gridCode = l3.level3LookupTable.firstIndex(of: UInt8(index))!
            return Int(Nomenclature.corineLevel2.level3LookupTable[gridCode]) - 1
        }
        #expect(Nomenclature.corineLevel2.codes[l2Parent[11]] == 21)
        #expect(l2Parent.allSatisfy { $0 >= 0 })
    }

    /// Recipe mistakes are named.
    @Test func validatesRecipe() {
        var recipe = SegmenterRecipe()
        recipe.decoder = "fpn"
        #expect(throws: TrainingError.self) { try recipe.validate() }
        recipe = SegmenterRecipe()
        recipe.classWeights = "balanced"
        #expect(throws: TrainingError.self) { try recipe.validate() }
    }
}

@Suite struct SegmentationLevelResultTests {
    /// Two classes of five present: the table keeps them, with the row-normalised confusion among them.
    @Test func presentClassesAndHeatmap() {
        var confusion = ConfusionMatrix(classCount: 5)
        // truth class 0 ×3 (2 right, 1 as class 2), truth class 2 ×1 (right).
        confusion.add(truth: [0, 0, 0, 2], predicted: [0, 0, 2, 2])
        let result = SegmentationLevelResult(
            nomenclature: .corineLevel1, derivation: "model output", confusion: confusion)
        #expect(result.presentClasses == [1, 3])
        let expected: [[Double]] = [[2.0 / 3, 1.0 / 3], [0, 1]]
        #expect(result.rowNormalized == expected)
        expectClose(result.pixelAccuracy, 0.75)
        // IoU: class 1 = 2/3, class 3 = 1/2.
        expectClose(result.meanIoU, (2.0 / 3 + 0.5) / 2)
        let svg = result.heatmap.svg()
        #expect(svg.hasPrefix("<svg") && svg.contains(">67<") && svg.contains(">100<"))
    }
}

import Foundation
import LandCoverData
import Metrics
import NeuralNet
import TestSupport
import Testing

@testable import Training

@Suite struct DihedralTests {
    /// The eight symmetries of a 3×3 plane are distinct, and each is a permutation of the pixels.
    @Test func eightDistinctPermutations() {
        let plane: [Int] = Array(0..<9)
        var results: Set<[Int]> = []
        for symmetry in Dihedral.all {
            var output = [Int](repeating: -1, count: 9)
            plane.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { symmetry.apply(source, size: 3, into: $0) }
            }
            #expect(output.sorted() == plane, "\(symmetry) is not a permutation")
            results.insert(output)
        }
        #expect(results.count == 8)
    }

    /// One quarter turn counter-clockwise moves the top-right corner to the top-left; a flip mirrors columns.
    @Test func quarterTurnAndFlip() {
        let plane: [Int] = [1, 2, 3, 4]  // [[1, 2], [3, 4]]
        func apply(_ symmetry: Dihedral) -> [Int] {
            var output = [Int](repeating: 0, count: 4)
            plane.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { symmetry.apply(source, size: 2, into: $0) }
            }
            return output
        }
        #expect(apply(Dihedral(flipped: false, quarterTurns: 1)) == [2, 4, 1, 3])
        #expect(apply(Dihedral(flipped: true, quarterTurns: 0)) == [2, 1, 4, 3])
        #expect(apply(Dihedral(flipped: false, quarterTurns: 2)) == [4, 3, 2, 1])
    }
}

@Suite struct ClassifierTrainerTests {
    static func recipe(epochs: Int) -> ClassifierRecipe {
        var recipe = ClassifierRecipe()
        recipe.architecture = "basic:1,1,1,1:8,16,16,16"
        recipe.hidden = 32
        recipe.dropout = [0.1, 0.2]
        recipe.batchSize = 16
        recipe.frozenEpochs = 0
        recipe.unfrozenEpochs = epochs
        recipe.frozenLearningRate = 3e-2
        recipe.seed = 3
        return recipe
    }

    /// On generated data with known labels the classifier's validation F1 (micro) clearly beats the best constant
    /// prediction (every class present), and the run writes its checkpoints, log and curves.
    @Test func learnsGeneratedLabels() throws {
        let source = SyntheticSource(count: 320)
        let data = TrainingData(source: source)
        let directory = TemporaryDirectory()
        let trainer = try ClassifierTrainer(data: data, recipe: Self.recipe(epochs: 8), output: directory.url)
        let log = try trainer.run()
        #expect(log.complete && log.epochs.count == 8)

        // The class-prior baseline: predicting every class in every validation image.
        let truth = data.validation.map { source.labelVector(at: $0).map { $0 > 0.5 } }
        let baseline = MultiLabelEvaluation(truth: truth, predicted: truth.map { $0.map { _ in true } }).f1Micro
        let f1 = try #require(log.epochs.last?.f1Micro)
        #expect(f1 > baseline + 0.2, "validation F1 \(f1) vs baseline \(baseline)")
        #expect(log.epochs.last!.trainLoss < log.epochs.first!.trainLoss)

        let (model, metadata) = try Checkpoint.loadModel(
            from: directory.url.appendingPathComponent("model.safetensors"))
        #expect(metadata.task == .classification && metadata.nomenclature?.id == "corine-l1")
        #expect(metadata.normalization?.mean.count == 3)
        #expect(model is FastaiClassifier)
        for epoch in 1...8 {
            #expect(FileManager.default.fileExists(atPath: directory.path("checkpoints/epoch-00\(epoch).safetensors")))
        }
        let svg = try String(contentsOf: directory.url.appendingPathComponent("curves.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("validation loss"))

        // A rerun of the finished run does nothing and returns the same log.
        #expect(try trainer.run() == log)
    }

    /// A run interrupted after epochs 1 and 3 — once inside the frozen stage, once inside the unfrozen one — and
    /// resumed ends with exactly the weights of an uninterrupted run with the same seed.
    @Test func resumeMatchesUninterruptedRun() throws {
        let source = SyntheticSource(count: 96, seed: 9)
        let data = TrainingData(source: source)
        var recipe = Self.recipe(epochs: 2)
        recipe.frozenEpochs = 2
        recipe.unfrozenLearningRates = [1e-3, 1e-2]
        // Imported weights: a random body saved as an encoder checkpoint.
        let weightsDirectory = TemporaryDirectory()
        let weights = weightsDirectory.url.appendingPathComponent("encoder.safetensors")
        var generator = NeuralNet.SeededGenerator(seed: 42)
        let configuration = Checkpoint.resNetConfiguration(named: recipe.architecture)!
        let body = ResNet(
            ResNetConfiguration(
                block: configuration.block, layers: configuration.layers, widths: configuration.widths, classes: nil),
            using: &generator)
        try SafetensorsFile(stateDict: body.stateDict()).write(to: weights)

        let straight = TemporaryDirectory()
        let straightLog = try ClassifierTrainer(
            data: data, recipe: recipe, output: straight.url, initialWeights: weights
        ).run()
        #expect(straightLog.epochs.map(\.stage) == ["frozen", "frozen", "unfrozen", "unfrozen"])

        let interrupted = TemporaryDirectory()
        for limit in [1, 3] {
            let partial = try ClassifierTrainer(
                data: data, recipe: recipe, output: interrupted.url, initialWeights: weights
            ).run(epochLimit: limit)
            #expect(partial.epochs.count == limit && !partial.complete)
        }
        let resumedLog = try ClassifierTrainer(
            data: data, recipe: recipe, output: interrupted.url, initialWeights: weights
        ).run()
        #expect(resumedLog.epochs.map(\.trainLoss) == straightLog.epochs.map(\.trainLoss))

        let a = try SafetensorsFile(contentsOf: straight.url.appendingPathComponent("model.safetensors")).stateDict()
        let b = try SafetensorsFile(contentsOf: interrupted.url.appendingPathComponent("model.safetensors"))
            .stateDict()
        #expect(a.keys.sorted() == b.keys.sorted())
        for key in a.keys.sorted() { #expect(a[key]!.scalars == b[key]!.scalars, "\(key)") }
    }

    /// Another recipe in the same output directory is refused instead of mixing two runs.
    @Test func refusesAnotherRun() throws {
        let source = SyntheticSource(count: 40)
        let directory = TemporaryDirectory()
        try ClassifierTrainer(data: TrainingData(source: source), recipe: Self.recipe(epochs: 1), output: directory.url)
            .run()
        var other = Self.recipe(epochs: 1)
        other.seed = 99
        #expect(throws: TrainingError.self) {
            try ClassifierTrainer(data: TrainingData(source: source), recipe: other, output: directory.url).run()
        }
        // The same image names with other labels (another CORINE layer, another minimum share) are another run.
        let relabelled = SyntheticSource(count: 40, seed: 2)
        #expect(throws: TrainingError.self) {
            try ClassifierTrainer(
                data: TrainingData(source: relabelled), recipe: Self.recipe(epochs: 1), output: directory.url
            ).run()
        }
    }

    /// Recipe mistakes are named.
    @Test func validatesRecipe() {
        var recipe = ClassifierRecipe()
        recipe.batchSize = 1
        #expect(throws: TrainingError.self) { try recipe.validate() }
        recipe = ClassifierRecipe()
        recipe.architecture = "vgg16"
        #expect(throws: TrainingError.self) { try recipe.validate() }
        #expect(ClassifierRecipe().unfrozenGroupRates.map { ($0 * 1e6).rounded() } == [10, 100, 1000])
    }
}

@Suite struct ClassifierReportTests {
    /// Three level-1 images worked by hand: the report's tables follow the predictions and thresholds.
    @Test func tablesFromPredictions() throws {
        let predictions = ClassifierPredictions(
            indices: [0, 1, 2],
            probabilities: [[0.9, 0.8, 0.1, 0.1, 0.1], [0.7, 0.1, 0.6, 0.1, 0.1], [0.1, 0.9, 0.1, 0.1, 0.1]],
            truth: [
                [true, true, false, false, false], [true, false, false, false, false],
                [false, false, false, false, false],
            ], losses: [0.1, 0.2, 0.6])
        let report = ClassifierReport(
            model: "m", nomenclature: .corineLevel1, split: "validation", predictions: predictions,
            thresholds: [Float](repeating: 0.5, count: 5), thresholdRule: "0.5",
            trainImagesPerClass: [0, 10, 4, 1, 0, 0])
        // Image 0 exact; image 1 adds class 3 (partial); image 2 has no labels and predicts class 2 (incorrect).
        #expect(report.overall.exactMatchRatio == 1.0 / 3 && report.overall.incorrectRatio == 1.0 / 3)
        #expect(report.labelStatistics.cardinality == 1 && report.labelStatistics.labelsPresent == 2)
        #expect(report.classes[0].f1 == 1 && report.classes[1].precision == 0.5 && report.classes[2].support == 0)
        #expect(report.classes.map(\.code) == [1, 2, 3, 4, 5])
        expectClose(report.meanLoss, 0.3)
        // Classes present in training and evaluation: 1 (size 10, F1 1) and 2 (size 4, F1 2/3) → correlation 1.
        expectClose(try #require(report.sizeF1Correlation), 1)
        #expect(report.markdown.contains("| 1 | Artificial surfaces | 10 | 2 | 2 | 1.000 | 1.000 | 1.000 | 0.50 |"))
    }
}

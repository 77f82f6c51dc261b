import Cluster
import Foundation
import NeuralNet
import TensorCore
import Testing
import TestSupport

@testable import Training

/// The data-parallel pieces in a world of one process, where several slots come from gradient accumulation. The
/// same code under `mpirun -np 2` is compared with accumulation in LandCoverCLITests.DataParallelTrainingTests.
@Suite struct DataParallelTests {
    @Test func aBatchMustSplitIntoEqualMicroBatchesOfTwo() throws {
        try DataParallelism(accumulation: 4).validate(batchSize: 8)
        #expect(throws: TrainingError.self) { try DataParallelism(accumulation: 3).validate(batchSize: 8) }
        let tooSmall = #expect(throws: TrainingError.self) {
            try DataParallelism(accumulation: 8).validate(batchSize: 8)
        }
        #expect("\(tooSmall!)".contains("does not split into 8 equal micro-batches of at least 2 images"))
        #expect(DataParallelism().recipeStrings(["seed": "1"]) == ["seed": "1"])
        #expect(DataParallelism(accumulation: 2).recipeStrings(["seed": "1"]) == ["seed": "1", "micro_batches": "2"])
    }

    /// Gradients summed over two accumulated micro-batches become their mean, whatever the bucket size.
    @Test(arguments: [1, 3, 100]) func gradientsBecomeTheMeanOverSlots(bucketCapacity: Int) throws {
        let parameters = [
            Variable(Tensor(shape: [2], scalars: [0, 0]), requiresGrad: true),
            Variable(Tensor(shape: [3], scalars: [0, 0, 0]), requiresGrad: true),
            Variable(Tensor(shape: [1], scalars: [0]), requiresGrad: true),
        ]
        parameters[0].grad = Tensor(shape: [2], scalars: [2, -4])
        parameters[1].grad = Tensor(shape: [3], scalars: [6, 8, 10])
        let averager = GradientAverager(DataParallelism(accumulation: 2), bucketCapacity: bucketCapacity)
        let loss = try averager.average(parameters, localLoss: 3)
        #expect(loss == 1.5)
        #expect(parameters[0].grad?.scalars == [1, -2])
        #expect(parameters[1].grad?.scalars == [3, 4, 5])
        #expect(parameters[2].grad == nil, "a parameter without gradient keeps none")
    }

    /// Each slot updates its own running statistics; the epoch ends with their mean in the model.
    @Test func runningStatisticsAreTheMeanOverSlots() throws {
        let norm = BatchNorm2d(1)
        let replicas = BatchNormReplicas(model: norm, parallelism: DataParallelism(accumulation: 2))
        replicas.reset()
        let batches = [[1, 3, 1, 3], [10, 10, 30, 30]].map { Tensor(shape: [2, 1, 1, 2], scalars: $0) }
        for _ in 0..<2 {
            for (slot, batch) in batches.enumerated() {
                replicas.activate(slot)
                _ = try norm(Variable(batch))
            }
        }
        try replicas.average()
        // Slot means 2 and 20; after two updates each from 0: 0.19 · mean; the model holds their average.
        expectClose(Double(norm.runningMean.value.scalars[0]), 0.19 * 11, rtol: 1e-5)
        #expect(norm.batchesTracked.value.scalars[0] == 2)
    }

    /// An accumulated run interrupted after its first epoch resumes to exactly the uninterrupted run's weights:
    /// per-slot statistics and dropout masks depend on the seed, epoch, step and slot only.
    @Test func accumulatedRunResumesExactly() throws {
        let data = TrainingData(source: SyntheticSource(count: 48, seed: 4))
        var recipe = ClassifierTrainerTests.recipe(epochs: 2)
        recipe.batchSize = 8
        func trainer(_ output: URL) throws -> ClassifierTrainer {
            let trainer = try ClassifierTrainer(data: data, recipe: recipe, output: output)
            trainer.parallelism = DataParallelism(accumulation: 2)
            return trainer
        }
        let straight = TemporaryDirectory()
        let straightLog = try trainer(straight.url).run()
        #expect(straightLog.recipe["micro_batches"] == "2")
        let interrupted = TemporaryDirectory()
        _ = try trainer(interrupted.url).run(epochLimit: 1)
        let resumedLog = try trainer(interrupted.url).run()
        #expect(resumedLog.epochs.map(\.trainLoss) == straightLog.epochs.map(\.trainLoss))
        let a = try SafetensorsFile(contentsOf: straight.url.appendingPathComponent("model.safetensors")).stateDict()
        let b = try SafetensorsFile(contentsOf: interrupted.url.appendingPathComponent("model.safetensors"))
            .stateDict()
        for key in a.keys.sorted() { #expect(a[key]!.scalars == b[key]?.scalars, "\(key)") }

        // Accumulation is another run than one batch per step.
        let plain = TemporaryDirectory()
        let plainLog = try ClassifierTrainer(data: data, recipe: recipe, output: plain.url).run()
        #expect(plainLog.fingerprint != straightLog.fingerprint)
    }
}

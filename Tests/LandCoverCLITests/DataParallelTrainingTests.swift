import Foundation
import NeuralNet
import Testing
import TestSupport

@testable import Training

/// Data-parallel training through the built binary: `mpirun -np 2 landcover train …` against one process with
/// `--accumulate 2` (the same global batch as two micro-batches), and a job that loses a rank mid-run.
///
/// Tolerance: the two runs compute the same micro-batches with the same augmentation, dropout masks and batch-norm
/// statistics, with the same thread count per process (`--threads 1`: oneDNN's own reductions depend on it, and
/// Adam amplifies last-bit differences of near-zero gradients). They differ only in how the gradient sums are
/// formed: an MPI_Allreduce of two rank buffers against accumulation in one process. With two slots those are
/// the same two addends, so on this machine the weights come out bitwise equal; the tolerance (losses rtol 1e-6,
/// weights atol 1e-6 + rtol 1e-5) leaves room for an MPI that sums in another order, and nothing more.
@Suite(.serialized) struct DataParallelTrainingTests {
    static let network = [
        "--arch", "basic:1,1,1,1:8,16,16,16", "--batch-size", "8", "--level", "1", "--threads", "1",
    ]

    /// The sample's chips (block split) in `directory`.
    static func chips(in directory: TemporaryDirectory) throws -> String {
        let chips = directory.path("chips")
        let result = try landcover([
            "chip", "--safe", Sample.product.path, "--corine", Sample.corine.path, "--out", chips, "--block-size", "2",
        ])
        #expect(result.status == 0, "\(result.error)")
        return chips
    }

    static func mpirun(_ arguments: [String], environment: [String: String] = [:]) throws -> Executables.Result {
        let binary = try #require(Executables.landcover, "the landcover binary is not built beside the tests")
        return try Executables.mpirun(processes: 2, binary, arguments, environment: environment)
    }

    static func log(_ directory: String) throws -> TrainingLog {
        try JSONDecoder().decode(
            TrainingLog.self, from: Data(contentsOf: URL(fileURLWithPath: "\(directory)/training.json")))
    }

    /// Expects the two runs' per-epoch losses and final weights (every state-dict entry) to agree.
    static func expectSameRun(
        _ ranks: String, _ reference: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let (parallel, single) = (try log(ranks), try log(reference))
        #expect(parallel.complete && single.complete, sourceLocation: sourceLocation)
        #expect(parallel.fingerprint == single.fingerprint, sourceLocation: sourceLocation)
        #expect(parallel.epochs.count == single.epochs.count, sourceLocation: sourceLocation)
        for (a, b) in zip(parallel.epochs, single.epochs) {
            expectClose(a.trainLoss, b.trainLoss, rtol: 1e-6, sourceLocation: sourceLocation)
            #expect(a.validationLoss != nil && b.validationLoss != nil, sourceLocation: sourceLocation)
            expectClose(a.validationLoss ?? 0, b.validationLoss ?? 0, rtol: 1e-6, sourceLocation: sourceLocation)
        }
        let first = try SafetensorsFile(contentsOf: URL(fileURLWithPath: "\(ranks)/model.safetensors")).stateDict()
        let second = try SafetensorsFile(contentsOf: URL(fileURLWithPath: "\(reference)/model.safetensors"))
            .stateDict()
        #expect(Set(first.keys) == Set(second.keys), sourceLocation: sourceLocation)
        var worst = (name: "", excess: -Double.infinity)
        for (name, tensor) in first {
            guard let other = second[name] else { continue }
            for (a, b) in zip(tensor.scalars, other.scalars) {
                let excess = Double(abs(a - b)) - (1e-6 + 1e-5 * Double(abs(b)))
                if excess > worst.excess { worst = (name, excess) }
            }
        }
        #expect(
            worst.excess <= 0, "\(worst.name) differs beyond tolerance by \(worst.excess)",
            sourceLocation: sourceLocation)
    }

    /// The classifier run of the tests: two epochs from scratch at level 1.
    static func classifier(_ chips: String) -> [String] {
        ["train", "classifier", "--chips", chips, "--frozen-epochs", "0", "--unfrozen-epochs", "2", "--hidden", "16"]
            + network
    }

    /// Runs `train` with one process and `--accumulate 2` into `single`, then under `mpirun -np 2` into `ranks`;
    /// expects both to succeed and returns the job's standard output.
    static func trainBothWays(_ train: [String], in directory: TemporaryDirectory) throws -> String {
        let single = try landcover(train + ["--out", directory.path("single"), "--accumulate", "2"])
        #expect(single.status == 0, "\(single.error)")
        let ranks = try mpirun(train + ["--out", directory.path("ranks")])
        #expect(ranks.status == 0, "\(ranks.output)\n\(ranks.error)")
        return ranks.output
    }

    @Test(.enabled(if: Sample.isPresent, "SampleData is absent"))
    func classifierOnTwoRanksMatchesAccumulation() throws {
        let directory = TemporaryDirectory()
        let output = try Self.trainBothWays(Self.classifier(try Self.chips(in: directory)), in: directory)
        #expect(output.contains("each step in 2 micro-batches (2 processes × 1 accumulated"), "\(output)")
        // Only rank 0 reports.
        #expect(output.components(separatedBy: "wrote ").count == 2, "\(output)")
        try Self.expectSameRun(directory.path("ranks"), directory.path("single"))
    }

    @Test(.enabled(if: Sample.isPresent, "SampleData is absent"))
    func segmenterOnTwoRanksMatchesAccumulation() throws {
        let directory = TemporaryDirectory()
        let chips = try Self.chips(in: directory)
        let train =
            ["train", "segmenter", "--chips", chips, "--all-epochs", "1", "--decoder-epochs", "0"] + Self.network
        _ = try Self.trainBothWays(train, in: directory)
        try Self.expectSameRun(directory.path("ranks"), directory.path("single"))
    }

    /// A batch that does not split over the ranks is refused by every rank before any work, and the job ends.
    @Test(.enabled(if: Sample.isPresent, "SampleData is absent"))
    func aBatchThatDoesNotSplitEndsTheJob() throws {
        let directory = TemporaryDirectory()
        let train = Self.classifier(try Self.chips(in: directory)) + ["--accumulate", "2", "--batch-size", "6"]
        let result = try Self.mpirun(train + ["--out", directory.path("ranks")])
        #expect(result.status != 0)
        #expect(
            result.error.contains("Error: rank ")
                && result.error.contains("the batch size 6 does not split into 4 equal micro-batches"),
            "\(result.error)")
        #expect(!FileManager.default.fileExists(atPath: directory.path("ranks/training.json")))
    }

    /// Rank 1 is killed (SIGKILL) in the second epoch: the job fails with mpirun's report of the lost rank, the first
    /// epoch's checkpoint and log stay intact with nothing half-written, and rerunning the job resumes from there
    /// to the model an uninterrupted run gives.
    @Test(.enabled(if: Sample.isPresent, "SampleData is absent"))
    func aKilledRankEndsTheJobAndTheRunResumes() throws {
        let directory = TemporaryDirectory()
        let train = Self.classifier(try Self.chips(in: directory))
        let reference = directory.path("reference")
        #expect(try landcover(train + ["--out", reference, "--accumulate", "2"]).status == 0)
        let stepsPerEpoch = try Self.log(reference).trainImages / 8

        let out = directory.path("ranks")
        let killed = try Self.mpirun(
            train + ["--out", out],
            environment: ["LANDCOVER_TEST_KILL_RANK": "1", "LANDCOVER_TEST_KILL_AFTER_STEP": "\(stepsPerEpoch + 1)"])
        #expect(killed.status != 0)
        #expect(killed.error.contains("rank 1") && killed.error.contains("signal 9"), "\(killed.error)")
        let log = try Self.log(out)
        #expect(log.epochs.count == 1 && !log.complete)
        _ = try Checkpoint.load(from: URL(fileURLWithPath: "\(out)/checkpoints/epoch-001.safetensors"))
        let files = try FileManager.default.subpathsOfDirectory(atPath: out)
        #expect(!files.contains("model.safetensors") && !files.contains("checkpoints/epoch-002.safetensors"))
        #expect(!files.contains { $0.hasSuffix(".partial") }, "half-written files: \(files)")

        let resumed = try Self.mpirun(train + ["--out", out])
        #expect(resumed.status == 0, "\(resumed.output)\n\(resumed.error)")
        try Self.expectSameRun(out, reference)
    }
}

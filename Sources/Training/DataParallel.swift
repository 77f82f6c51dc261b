import Cluster
import Foundation
import NeuralNet
import TensorCore

#if canImport(Glibc)
    import Glibc
#endif

/// How one optimiser step's batch is divided: across the ranks of a process group (data parallelism under
/// `mpirun`), and on each rank into micro-batches run one after another with their gradients accumulated.
///
/// The global batch of `batchSize` images is cut into `slots` = ranks × `accumulation` equal micro-batches; slot
/// `s` = rank × accumulation + micro-batch. Everything random is a function of the seed, the step and the slot,
/// never of which process runs the slot, so `mpirun -np 2` and one process with `accumulation: 2` compute the same
/// micro-batches with the same augmentation and dropout masks and the same batch-norm statistics, and differ only
/// in the order the gradient sums are added (see Docs/scaling.md).
public struct DataParallelism {
    /// The ranks that share each step; rank 0 validates and writes every output.
    public var group: any ProcessGroup
    /// Micro-batches per rank and step (gradient accumulation).
    public var accumulation: Int

    /// One process, one micro-batch per step: training exactly as without this type.
    public init(group: any ProcessGroup = SingleProcess(), accumulation: Int = 1) {
        precondition(accumulation >= 1, "A rank runs at least one micro-batch per step, not \(accumulation).")
        self.group = group
        self.accumulation = accumulation
    }

    /// The number of micro-batches a step's batch is cut into, over all ranks.
    public var slots: Int { group.size * accumulation }

    /// The slots this rank runs, in order.
    var localSlots: Range<Int> { (group.rank * accumulation)..<((group.rank + 1) * accumulation) }

    /// Throws unless `batchSize` splits into `slots` equal micro-batches of at least 2 images (batch norm).
    func validate(batchSize: Int) throws {
        guard slots > 1 else { return }
        guard batchSize % slots == 0, batchSize / slots >= 2 else {
            throw TrainingError(
                "the batch size \(batchSize) does not split into \(slots) equal micro-batches of at least 2 images "
                    + "(\(group.size) ranks × \(accumulation) accumulated); batch norm needs 2 images per micro-batch")
        }
    }

    /// The recipe strings of a run with this division: a run cut into several micro-batches is another run (its
    /// batch norm sees smaller batches), whichever mix of ranks and accumulation produced them.
    func recipeStrings(_ recipe: [String: String]) -> [String: String] {
        slots > 1 ? recipe.merging(["micro_batches": "\(slots)"]) { $1 } : recipe
    }
}

/// Averages the parameters' gradients over all micro-batches of a step: each rank's accumulated gradients are
/// copied into a few large flat buckets (parameters in reverse order, the order backward finishes them), each
/// bucket summed across ranks with one `MPI_Allreduce`, scaled by 1 / slots and copied back. Gradients are
/// reduced after the backward pass, not overlapped with it.
final class GradientAverager {
    let parallelism: DataParallelism
    /// At most this many Float values per bucket (by default 4 Mi, 16 MiB): few enough calls to amortise MPI's
    /// latency, small enough to keep the extra memory bounded. A larger parameter gets a bucket of its own.
    let bucketCapacity: Int
    private var bucket: [Float] = []

    init(_ parallelism: DataParallelism, bucketCapacity: Int = 4 << 20) {
        self.parallelism = parallelism
        self.bucketCapacity = bucketCapacity
    }

    /// Replaces each gradient of `parameters` (those that have one; the same on every rank) by its mean over the
    /// step's slots; returns the mean of `localLoss` (this rank's summed micro-batch losses) the same way.
    func average(_ parameters: [Variable], localLoss: Double) throws -> Double {
        let scale = 1 / Float(parallelism.slots)
        var pending: [Variable] = []
        var filled = 0
        func flush() throws {
            guard !pending.isEmpty else { return }
            try OperationProfile.measure("gradient all-reduce") {
                try bucket.withUnsafeMutableBufferPointer {
                    try parallelism.group.allReduce(UnsafeMutableBufferPointer(rebasing: $0[..<filled]), .sum)
                }
            }
            var offset = 0
            for parameter in pending {
                var mean = Tensor.zeros(parameter.grad!.shape)
                mean.withUnsafeMutableBufferPointer { target in
                    bucket.withUnsafeBufferPointer { sums in
                        for index in target.indices { target[index] = sums[offset + index] * scale }
                    }
                }
                parameter.grad = mean
                offset += mean.count
            }
            pending.removeAll(keepingCapacity: true)
            filled = 0
        }
        for parameter in parameters.reversed() {
            guard let gradient = parameter.grad else { continue }
            if filled > 0 && filled + gradient.count > bucketCapacity { try flush() }
            if bucket.count < filled + gradient.count {
                bucket += [Float](repeating: 0, count: filled + gradient.count - bucket.count)
            }
            gradient.withUnsafeBufferPointer { source in
                bucket.withUnsafeMutableBufferPointer { target in
                    _ = UnsafeMutableBufferPointer(rebasing: target[filled..<(filled + source.count)]).initialize(
                        fromContentsOf: source)
                }
            }
            filled += gradient.count
            pending.append(parameter)
        }
        try flush()
        var loss = [localLoss]
        try parallelism.group.allReduce(&loss, .sum)
        return loss[0] / Double(parallelism.slots)
    }
}

/// The running batch-norm statistics of each micro-batch slot a rank runs. Every slot updates its own copy, as a
/// rank of a data-parallel job does (per-rank batch norm, PyTorch DDP's default); at the end of each epoch the
/// copies of all slots on all ranks are averaged into the model, before validation and the checkpoint, and every
/// slot continues from that average.
final class BatchNormReplicas {
    private let buffers: [Variable]
    private let parallelism: DataParallelism
    /// Per local slot, the values of `buffers`.
    private var replicas: [[Tensor]] = []
    private var active: Int?

    init(model: any Layer, parallelism: DataParallelism) {
        buffers = model.namedModules().compactMap { $0.module as? BatchNorm }.flatMap {
            [$0.runningMean, $0.runningVariance, $0.batchesTracked]
        }
        self.parallelism = parallelism
    }

    /// Starts an epoch: every local slot from the model's current statistics.
    func reset() {
        replicas = Array(repeating: buffers.map(\.value), count: parallelism.accumulation)
        active = nil
    }

    /// Puts local slot `slot`'s statistics into the model (keeping those of the slot that ran before).
    func activate(_ slot: Int) {
        guard parallelism.accumulation > 1 else { return }
        if let active { replicas[active] = buffers.map(\.value) }
        for (buffer, value) in zip(buffers, replicas[slot]) { buffer.value = value }
        active = slot
    }

    /// Ends an epoch: the model gets the mean of every slot's statistics over all ranks.
    func average() throws {
        if let active { replicas[active] = buffers.map(\.value) }
        active = nil
        guard parallelism.slots > 1, !buffers.isEmpty else { return }
        // With one slot per rank the model's own buffers are that slot's: they were never swapped out.
        let slots = parallelism.accumulation > 1 ? replicas : [buffers.map(\.value)]
        var sums: [Double] = []
        for (index, buffer) in buffers.enumerated() {
            var total = [Double](repeating: 0, count: buffer.value.count)
            for replica in slots {
                replica[index].withUnsafeBufferPointer { values in
                    for position in values.indices { total[position] += Double(values[position]) }
                }
            }
            sums += total
        }
        try parallelism.group.allReduce(&sums, .sum)
        var offset = 0
        for buffer in buffers {
            let count = buffer.value.count
            buffer.value = Tensor(
                shape: buffer.value.shape,
                scalars: sums[offset..<(offset + count)].map { Float($0 / Double(parallelism.slots)) })
            offset += count
        }
    }
}

/// A test hook: `LANDCOVER_TEST_KILL_RANK=r LANDCOVER_TEST_KILL_AFTER_STEP=k` makes rank `r` kill itself
/// (SIGKILL, as the out-of-memory killer or a lost node would) after its `k`-th optimiser step of a run, so tests
/// can check that a job losing a rank ends with an error and leaves its last checkpoint intact.
struct KillHook {
    let step: Int?

    init(rank: Int, environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let target = environment["LANDCOVER_TEST_KILL_RANK"].flatMap({ Int($0) }), target == rank,
            let step = environment["LANDCOVER_TEST_KILL_AFTER_STEP"].flatMap({ Int($0) })
        else {
            self.step = nil
            return
        }
        self.step = step
    }

    func afterStep(_ taken: Int) {
        if taken == step { kill(getpid(), SIGKILL) }
    }
}

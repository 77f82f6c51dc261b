import CDNNL
import Foundation

/// The CPU compute device: a oneDNN engine and stream, a cache of oneDNN primitives by shape, and OpenBLAS.
///
/// Calls are serialised by one lock, so oneDNN's OpenMP threads and OpenBLAS's threads never compete for the
/// cores, and the thread count from `setThreads(_:)` is applied before each call. The engine is created on the
/// first oneDNN call, which throws `DNNLError` if oneDNN cannot start.
public final class CPUDevice: @unchecked Sendable {
    /// The process-wide device.
    public static let shared = CPUDevice()

    /// What identifies a cached oneDNN plan.
    enum PlanKey: Hashable {
        case convolution(ConvolutionKey)
        case eltwise(EltwiseKey)
        case batchNormalization(BatchNormalizationKey)
        case pooling(PoolingKey)
        case resampling(ResamplingKey)
        case reorder(ReorderKey)

        /// The row of `OperationProfile` this computation is timed under.
        var profileName: String {
            switch self {
            case .convolution(let key): "conv \(key.pass)"
            case .eltwise(let key): "eltwise \(key.algorithm)\(key.backward ? " backward" : "")"
            case .batchNormalization(let key): "batch norm \(key.pass)"
            case .pooling(let key): "pooling \(key.algorithm)\(key.backward ? " backward" : "")"
            case .resampling: "resampling"
            case .reorder: "reorder"
            }
        }
    }

    private let lock = NSLock()
    /// Guarded by `lock`.
    private var engine: DNNLEngine?
    /// Guarded by `lock`; grows with each new shape (a network has few).
    private var plans: [PlanKey: DNNLPlan] = [:]
    /// Guarded by `lock`: convolution weights in the layouts their primitives chose, while unchanged.
    private let reorderedWeights = ReorderedWeightCache()

    /// Creates a device with its own engine and cache; use `shared` outside tests so calls stay serialised.
    init() {}

    /// The number of cached oneDNN plans.
    var cachedPlanCount: Int { lock.withLock { plans.count } }

    /// Runs the plan for `key` on `inputs` (one per input operand, in the plan's operand order, in any layout) and
    /// returns its outputs in operand order, in the layouts the plan gives them.
    func run(_ key: PlanKey, _ inputs: [Tensor]) throws(DNNLError) -> [Tensor] {
        try withPlan(key) { plan throws(DNNLError) in
            try plan.run(inputs, reorderedWeights: reorderedWeights, profileName: key.profileName)
        }
    }

    /// `tensor` copied into `layout` (itself if it is already in it). Runs a oneDNN reorder.
    func reordered(_ tensor: Tensor, to layout: TensorLayout) throws(DNNLError) -> Tensor {
        guard tensor.layout != layout else { return tensor }
        let key = ReorderKey(shape: tensor.shape, source: tensor.layout, destination: layout)
        return try run(.reorder(key), [tensor])[0]
    }

    /// `tensor` copied into row-major order; a failing reorder is fatal (oneDNN ran out of memory).
    func reorderedToRowMajor(_ tensor: Tensor) -> Tensor {
        do {
            return try reordered(tensor, to: .rowMajor)
        } catch {
            fatalError("Reordering a \(tensor.shape) tensor to row-major failed: \(error)")
        }
    }

    /// The oneDNN implementation behind `key` (for example `jit:avx512_core`), building the plan if needed.
    func implementation(of key: PlanKey) throws(DNNLError) -> String {
        try withPlan(key) { plan throws(DNNLError) in plan.implementation }
    }

    /// The bytes of oneDNN workspace the plan behind `key` writes or reads (0 if none), building the plan if needed.
    func workspaceByteCount(of key: PlanKey) throws(DNNLError) -> Int {
        try withPlan(key) { plan throws(DNNLError) in plan.byteCount(of: DNNL_ARG_WORKSPACE) }
    }

    /// Runs `body` under the lock with OpenBLAS's pool sized to `threadCount`.
    func withOpenBLAS<Result>(_ body: () -> Result) -> Result {
        lock.withLock {
            let count = threadCount
            if openblasGetNumThreads() != count { openblasSetNumThreads(count) }
            return body()
        }
    }

    /// Runs `body` under the lock with the cached (or newly built) plan for `key`.
    func withPlan<Result>(
        _ key: PlanKey, _ body: (DNNLPlan) throws(DNNLError) -> Result
    ) throws(DNNLError) -> Result {
        lock.lock()
        defer { lock.unlock() }
        // libgomp keeps the thread count per calling thread, and callers come from any thread.
        ompSetNumThreads(threadCount)
        if let plan = plans[key] { return try body(plan) }
        let engine: DNNLEngine
        if let existing = self.engine {
            engine = existing
        } else {
            engine = try DNNLEngine()
            self.engine = engine
        }
        let plan: DNNLPlan
        switch key {
        case .convolution(let convolution): plan = try .convolution(convolution, engine: engine)
        case .eltwise(let eltwise): plan = try .eltwise(eltwise, engine: engine)
        case .batchNormalization(let normalization): plan = try .batchNormalization(normalization, engine: engine)
        case .pooling(let pooling): plan = try .pooling(pooling, engine: engine)
        case .resampling(let resampling): plan = try .resampling(resampling, engine: engine)
        case .reorder(let reorder): plan = try .reorder(reorder, engine: engine)
        }
        plans[key] = plan
        return try body(plan)
    }
}

import CDNNL

/// A ready-to-run oneDNN computation: a primitive and, for each tensor argument, the layout it runs on.
///
/// Convolutions choose their layouts (`dnnl_format_tag_any`; blocked, such as `nChw8c`), other primitives take
/// the layout of their input. Results stay in the chosen layout, so a chain of primitives runs without reorders;
/// an input in another layout is reordered first, and an output the caller wants row-major (weight gradients,
/// which the optimizer updates in Swift) is reordered after. Plans are cached by shape, layout and parameters,
/// since creating a primitive descriptor costs far more than running a small primitive.
final class DNNLPlan {
    /// Whether the primitive reads or writes an argument.
    enum Direction {
        case input
        case output
    }

    /// How an argument's memory is arranged for the caller.
    enum Form {
        /// Any layout; an input is reordered to the chosen one if needed, an output keeps the chosen one.
        case tensor
        /// An output returned row-major (reordered after the run if the primitive chose another layout).
        case rowMajorOutput
        /// oneDNN's own bytes (a pooling workspace), held in a flat Float tensor and never reordered.
        case opaque
    }

    /// One tensor argument of the primitive.
    struct Operand {
        /// The execution argument (`DNNL_ARG_SRC` …).
        let argument: Int32
        let direction: Direction
        let form: Form
        /// The layout the primitive runs on.
        let chosen: dnnl_memory_desc_t
        /// The logical shape of the argument.
        let shape: [Int]
        /// The layout an output is returned in.
        let resultLayout: TensorLayout
    }

    let primitive: DNNLPrimitive
    let operands: [Operand]
    /// Reorders built so far, from a source layout to a destination layout.
    private var reorders: [(source: dnnl_memory_desc_t, destination: dnnl_memory_desc_t, primitive: DNNLPrimitive)] =
        []

    /// A plan running `primitive` on arguments given in this order, each with the shape it has for the caller;
    /// the layouts come from the primitive descriptor.
    init(
        _ primitive: DNNLPrimitive, arguments: [(argument: Int32, direction: Direction, shape: [Int])],
        forms: [Int32: Form] = [:]
    ) throws(DNNLError) {
        var operands: [Operand] = []
        for (argument, direction, shape) in arguments {
            let chosen = primitive.descriptor.memoryDescriptor(argument)
            let form = forms[argument] ?? .tensor
            let resultLayout: TensorLayout =
                switch form {
                case .tensor: try TensorLayout(chosen, shape: shape)
                case .rowMajorOutput, .opaque: .rowMajor
                }
            operands.append(
                Operand(
                    argument: argument, direction: direction, form: form, chosen: chosen, shape: shape,
                    resultLayout: resultLayout))
        }
        self.primitive = primitive
        self.operands = operands
    }

    /// The implementation oneDNN chose for the primitive (for example `jit:avx512_core`).
    var implementation: String { primitive.descriptor.implementation }

    /// The bytes of an opaque operand's layout (a pooling workspace).
    func byteCount(of argument: Int32) -> Int {
        operands.first { $0.argument == argument }.map { dnnlMemoryDescGetSize($0.chosen) } ?? 0
    }

    /// Runs the plan on `inputs` (one per input operand, in operand order) and returns the outputs (one per output
    /// operand, in operand order), waiting for the result.
    func run(
        _ inputs: [Tensor], reorderedWeights: ReorderedWeightCache? = nil, profileName: @autoclosure () -> String
    ) throws(DNNLError) -> [Tensor] {
        let engine = primitive.descriptor.engine
        var inputIterator = inputs.makeIterator()
        var memories: [DNNLMemory] = []
        var staged: [Tensor] = []
        var arguments: [dnnl_exec_arg_t] = []
        var outputs: [Tensor] = []
        var outputReorders: [(reorder: DNNLPrimitive, source: DNNLMemory, destination: DNNLMemory)] = []
        for operand in operands {
            switch operand.direction {
            case .input:
                guard let tensor = inputIterator.next() else { preconditionFailure("A plan needs every input.") }
                let given = operand.form == .opaque ? operand.chosen : try tensor.memoryDescriptor
                let user = try DNNLMemory(given, engine: engine, data: tensor.storage.base)
                memories.append(user)
                staged.append(tensor)
                if dnnlMemoryDescEqual(given, operand.chosen) {
                    arguments.append(dnnl_exec_arg_t(arg: operand.argument, memory: user.handle))
                    continue
                }
                let cache = operand.argument == DNNL_ARG_WEIGHTS ? reorderedWeights : nil
                if let cached = cache?.lookup(tensor, layout: operand.chosen) {
                    let cachedMemory = try DNNLMemory(operand.chosen, engine: engine, data: cached.storage.base)
                    memories.append(cachedMemory)
                    staged.append(cached)
                    arguments.append(dnnl_exec_arg_t(arg: operand.argument, memory: cachedMemory.handle))
                    continue
                }
                let copy = Tensor(
                    uninitializedShape: operand.shape, layout: try TensorLayout(operand.chosen, shape: operand.shape))
                let copyMemory = try DNNLMemory(operand.chosen, engine: engine, data: copy.storage.base)
                memories.append(copyMemory)
                staged.append(copy)
                let reorder = try reorderPrimitive(from: given, to: operand.chosen)
                try OperationProfile.measure("reorder") { () throws(DNNLError) in
                    try reorder.execute(Self.reorderArguments(from: user, to: copyMemory))
                }
                cache?.store(copy, reorderedFrom: tensor, layout: operand.chosen)
                arguments.append(dnnl_exec_arg_t(arg: operand.argument, memory: copyMemory.handle))
            case .output:
                let result: Tensor
                switch operand.form {
                case .opaque:
                    let byteCount = dnnlMemoryDescGetSize(operand.chosen)
                    result = Tensor(uninitializedShape: [(byteCount + 3) / 4])
                default:
                    result = Tensor(uninitializedShape: operand.shape, layout: operand.resultLayout)
                }
                outputs.append(result)
                let user = try DNNLMemory(
                    operand.form == .opaque ? operand.chosen : try result.memoryDescriptor, engine: engine,
                    data: result.storage.base)
                memories.append(user)
                guard operand.form == .rowMajorOutput, !dnnlMemoryDescEqual(try result.memoryDescriptor, operand.chosen)
                else {
                    arguments.append(dnnl_exec_arg_t(arg: operand.argument, memory: user.handle))
                    continue
                }
                let blocked = Tensor(
                    uninitializedShape: operand.shape, layout: try TensorLayout(operand.chosen, shape: operand.shape))
                staged.append(blocked)
                let blockedMemory = try DNNLMemory(operand.chosen, engine: engine, data: blocked.storage.base)
                memories.append(blockedMemory)
                arguments.append(dnnl_exec_arg_t(arg: operand.argument, memory: blockedMemory.handle))
                outputReorders.append(
                    (try reorderPrimitive(from: operand.chosen, to: try result.memoryDescriptor), blockedMemory, user))
            }
        }
        try OperationProfile.measure(profileName()) { () throws(DNNLError) in try primitive.execute(arguments) }
        for (reorder, source, destination) in outputReorders {
            try OperationProfile.measure("reorder") { () throws(DNNLError) in
                try reorder.execute(Self.reorderArguments(from: source, to: destination))
            }
        }
        try dnnlStreamWait(engine.stream)
        withExtendedLifetime((memories, staged)) {}
        return outputs
    }

    /// The cached reorder from `source` to `destination`, built on first use.
    private func reorderPrimitive(
        from source: dnnl_memory_desc_t, to destination: dnnl_memory_desc_t
    ) throws(DNNLError) -> DNNLPrimitive {
        if let cached = reorders.first(where: {
            dnnlMemoryDescEqual($0.source, source) && dnnlMemoryDescEqual($0.destination, destination)
        }) {
            return cached.primitive
        }
        let engine = primitive.descriptor.engine
        let handle = try dnnlReorderPrimitiveDescCreate(source: source, destination: destination, engine.engine)
        let reorder = try DNNLPrimitive(DNNLPrimitiveDescriptor(handle, engine: engine))
        reorders.append((source, destination, reorder))
        return reorder
    }

    static func reorderArguments(from source: DNNLMemory, to destination: DNNLMemory) -> [dnnl_exec_arg_t] {
        [
            dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: source.handle),
            dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: destination.handle),
        ]
    }
}

/// A reorder between two layouts of one shape, as a plan: `FROM → TO`.
extension DNNLPlan {
    static func reorder(_ key: ReorderKey, engine: DNNLEngine) throws(DNNLError) -> DNNLPlan {
        let handle = try dnnlReorderPrimitiveDescCreate(
            source: key.source.memoryDescriptor(key.shape), destination: key.destination.memoryDescriptor(key.shape),
            engine.engine)
        return try DNNLPlan(
            DNNLPrimitive(DNNLPrimitiveDescriptor(handle, engine: engine)),
            arguments: [(DNNL_ARG_FROM, .input, key.shape), (DNNL_ARG_TO, .output, key.shape)])
    }
}

/// What identifies a cached reorder: the shape and both layouts.
struct ReorderKey: Hashable {
    let shape: [Int]
    let source: TensorLayout
    let destination: TensorLayout
}

extension TensorLayout {
    /// The oneDNN descriptor of this layout for a tensor of `shape`.
    func memoryDescriptor(_ shape: [Int]) throws(DNNLError) -> dnnl_memory_desc_t {
        if let blocked { return blocked.descriptor }
        return try plainMemoryDescriptor(shape)
    }
}

/// The row-major (NCHW for 4-D) Float32 memory descriptor of `shape`.
func plainMemoryDescriptor(_ shape: [Int]) throws(DNNLError) -> dnnl_memory_desc_t {
    precondition(!shape.isEmpty, "oneDNN needs a tensor of rank 1 or more.")
    var strides = Array(repeating: 1, count: shape.count)
    for axis in stride(from: shape.count - 2, through: 0, by: -1) {
        strides[axis] = strides[axis + 1] * Swift.max(shape[axis + 1], 1)
    }
    return try dnnlMemoryDescInitByStrides(dims: shape, strides: strides)
}

/// A Float32 memory descriptor of `shape` that leaves the layout to the primitive (`dnnl_format_tag_any`).
func anyMemoryDescriptor(_ shape: [Int]) throws(DNNLError) -> dnnl_memory_desc_t {
    try dnnlMemoryDescInitByTag(dims: shape, tag: dnnl_format_tag_any)
}

/// Convolution weights already reordered to a primitive's layout, kept while their source is unchanged.
///
/// Inference reruns every convolution with the same weights, so each weight is reordered once rather than per
/// call. An entry holds its source storage (so its identity cannot be reused) and that storage's write count
/// (`TensorStorage.version`); a write makes the entry stale and the next call replaces it. Used under
/// `CPUDevice`'s lock.
final class ReorderedWeightCache {
    private struct Entry {
        let source: TensorStorage
        let version: UInt64
        let layout: dnnl_memory_desc_t
        let reordered: Tensor
    }

    /// The most entries kept; past it the cache starts over (a network has a few hundred weights).
    private let limit = 1024
    private var entries: [ObjectIdentifier: [Entry]] = [:]
    private var count = 0

    /// The copy of `source` in `layout`, if one was stored since `source` was last written.
    func lookup(_ source: Tensor, layout: dnnl_memory_desc_t) -> Tensor? {
        entries[ObjectIdentifier(source.storage)]?.first {
            $0.version == source.storage.version && dnnlMemoryDescEqual($0.layout, layout)
        }?.reordered
    }

    /// Keeps `reordered`, the copy of `source` in `layout`, replacing stale copies.
    func store(_ reordered: Tensor, reorderedFrom source: Tensor, layout: dnnl_memory_desc_t) {
        let key = ObjectIdentifier(source.storage)
        var list = (entries[key] ?? []).filter {
            $0.version == source.storage.version && !dnnlMemoryDescEqual($0.layout, layout)
        }
        count -= entries[key]?.count ?? 0
        if count >= limit {
            entries.removeAll()
            count = 0
        }
        list.append(
            Entry(source: source.storage, version: source.storage.version, layout: layout, reordered: reordered))
        entries[key] = list
        count += list.count
    }
}

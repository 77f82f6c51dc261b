import CDNNL

/// A ready-to-run oneDNN computation: a primitive and, for each tensor argument, the reorder between the caller's
/// row-major layout and the layout the primitive chose through `dnnl_format_tag_any`.
///
/// Plans are cached by shape and parameters, since creating a primitive descriptor costs far more than running a
/// small primitive. A plan holds no data: blocked copies are allocated per run.
final class DNNLPlan {
    /// Whether the primitive reads or writes an argument.
    enum Direction {
        case input
        case output
    }

    /// One tensor argument of the primitive.
    struct Operand {
        /// The execution argument (`DNNL_ARG_SRC` …).
        let argument: Int32
        let direction: Direction
        /// The caller's row-major layout.
        let plain: dnnl_memory_desc_t
        /// The layout the primitive runs on.
        let chosen: dnnl_memory_desc_t
        /// Plain → chosen for an input, chosen → plain for an output; nil when the layouts are equal.
        let reorder: DNNLPrimitive?
    }

    let primitive: DNNLPrimitive
    let operands: [Operand]

    /// A plan running `primitive` on arguments given in row-major layouts `plain`, in this order.
    init(
        _ primitive: DNNLPrimitive, arguments: [(argument: Int32, direction: Direction, plain: dnnl_memory_desc_t)]
    ) throws(DNNLError) {
        let engine = primitive.descriptor.engine
        var operands: [Operand] = []
        for (argument, direction, plain) in arguments {
            let chosen = primitive.descriptor.memoryDescriptor(argument)
            var reorder: DNNLPrimitive?
            if !dnnlMemoryDescEqual(plain, chosen) {
                let (source, destination) = direction == .input ? (plain, chosen) : (chosen, plain)
                let handle = try dnnlReorderPrimitiveDescCreate(
                    source: source, destination: destination, engine.engine)
                reorder = try DNNLPrimitive(DNNLPrimitiveDescriptor(handle, engine: engine))
            }
            operands.append(
                Operand(argument: argument, direction: direction, plain: plain, chosen: chosen, reorder: reorder))
        }
        self.primitive = primitive
        self.operands = operands
    }

    /// The implementation oneDNN chose for the primitive (for example `jit:avx512_core`).
    var implementation: String { primitive.descriptor.implementation }

    /// Runs the plan on row-major data, one pointer per operand in operand order, and waits for the result.
    ///
    /// Input reorders run first, then the primitive, then output reorders; all on the engine's in-order stream.
    func run(_ data: [UnsafeMutableRawPointer]) throws(DNNLError) {
        precondition(data.count == operands.count, "A plan needs one buffer per operand.")
        let engine = primitive.descriptor.engine
        var memories: [DNNLMemory] = []
        var arguments: [dnnl_exec_arg_t] = []
        var outputReorders: [(reorder: DNNLPrimitive, source: DNNLMemory, destination: DNNLMemory)] = []
        for (operand, pointer) in zip(operands, data) {
            let user = try DNNLMemory(operand.plain, engine: engine, data: pointer)
            memories.append(user)
            guard let reorder = operand.reorder else {
                arguments.append(dnnl_exec_arg_t(arg: operand.argument, memory: user.handle))
                continue
            }
            let blocked = try DNNLMemory(operand.chosen, engine: engine, data: nil)
            memories.append(blocked)
            arguments.append(dnnl_exec_arg_t(arg: operand.argument, memory: blocked.handle))
            switch operand.direction {
            case .input:
                try reorder.execute(Self.reorderArguments(from: user, to: blocked))
            case .output:
                outputReorders.append((reorder, blocked, user))
            }
        }
        try primitive.execute(arguments)
        for (reorder, source, destination) in outputReorders {
            try reorder.execute(Self.reorderArguments(from: source, to: destination))
        }
        try dnnlStreamWait(engine.stream)
        withExtendedLifetime(memories) {}
    }

    private static func reorderArguments(from source: DNNLMemory, to destination: DNNLMemory) -> [dnnl_exec_arg_t] {
        [
            dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: source.handle),
            dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: destination.handle),
        ]
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

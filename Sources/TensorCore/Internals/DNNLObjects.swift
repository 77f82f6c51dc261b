import CDNNL

/// Owns a oneDNN CPU engine and one in-order stream on it; both are destroyed with this object.
final class DNNLEngine {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t

    /// Creates the CPU engine (index 0) and its stream.
    init() throws(DNNLError) {
        engine = try dnnlEngineCreate()
        do {
            stream = try dnnlStreamCreate(engine)
        } catch {
            dnnl_engine_destroy(engine)
            throw error
        }
    }

    deinit {
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }
}

/// Owns a oneDNN primitive descriptor; keeps its engine alive.
final class DNNLPrimitiveDescriptor {
    let handle: dnnl_primitive_desc_t
    let engine: DNNLEngine

    /// Takes ownership of `handle`, created on `engine`.
    init(_ handle: dnnl_primitive_desc_t, engine: DNNLEngine) {
        self.handle = handle
        self.engine = engine
    }

    deinit {
        dnnl_primitive_desc_destroy(handle)
    }

    /// The layout the primitive expects for one execution argument (`DNNL_ARG_SRC` …).
    func memoryDescriptor(_ argument: Int32) -> dnnl_memory_desc_t {
        dnnlPrimitiveDescQueryMD(handle, argument: argument)
    }

    /// The implementation oneDNN chose (for example `jit:avx512_core`).
    var implementation: String { dnnlPrimitiveDescQueryImplementation(handle) }
}

/// Owns a oneDNN primitive; keeps its descriptor (and a backward primitive's forward hint) alive.
final class DNNLPrimitive {
    let handle: dnnl_primitive_t
    let descriptor: DNNLPrimitiveDescriptor
    /// The forward primitive descriptor a backward primitive was created against.
    let hint: DNNLPrimitiveDescriptor?

    /// Creates the primitive of `descriptor`.
    init(_ descriptor: DNNLPrimitiveDescriptor, hint: DNNLPrimitiveDescriptor? = nil) throws(DNNLError) {
        handle = try dnnlPrimitiveCreate(descriptor.handle)
        self.descriptor = descriptor
        self.hint = hint
    }

    deinit {
        dnnl_primitive_destroy(handle)
    }

    /// The primitive's own scratchpad (created with `dnnl_scratchpad_mode_user`); nil when it needs none.
    /// Runs are serialised by `CPUDevice`'s lock, so one buffer per primitive suffices.
    private lazy var scratchpad: DNNLMemory? = {
        let layout = dnnlPrimitiveDescQueryScratchpadMD(descriptor.handle)
        guard dnnlMemoryDescGetSize(layout) > 0 else { return nil }
        return try? DNNLMemory(layout, engine: descriptor.engine, data: nil)
    }()

    /// Runs the primitive on its engine's stream (without waiting for it), adding its scratchpad.
    func execute(_ arguments: [dnnl_exec_arg_t]) throws(DNNLError) {
        var arguments = arguments
        if dnnlMemoryDescGetSize(dnnlPrimitiveDescQueryScratchpadMD(descriptor.handle)) > 0 {
            guard let scratchpad else {
                throw DNNLError(status: dnnl_out_of_memory, call: "dnnl_memory_create (scratchpad)")
            }
            arguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: scratchpad.handle))
        }
        try dnnlPrimitiveExecute(handle, descriptor.engine.stream, arguments)
    }
}

/// Owns a oneDNN memory object, over caller memory or over memory oneDNN allocated for it.
final class DNNLMemory {
    let handle: dnnl_memory_t
    let engine: DNNLEngine

    /// A memory object of `descriptor` over `data`, which must outlive it; oneDNN allocates when `data` is nil.
    init(_ descriptor: dnnl_memory_desc_t, engine: DNNLEngine, data: UnsafeMutableRawPointer?) throws(DNNLError) {
        handle = try dnnlMemoryCreate(descriptor, engine.engine, data)
        self.engine = engine
    }

    deinit {
        dnnl_memory_destroy(handle)
    }
}

import CDNNL

// Thin Swift faces of the oneDNN C functions TensorCore calls, one per C function and named after it, so the
// oneDNN documentation for each is one search away. They throw `DNNLError` instead of returning a status.

/// Throws a `DNNLError` naming `call` unless `status` is `dnnl_success`.
func checkDNNL(_ status: dnnl_status_t, _ call: String) throws(DNNLError) {
    guard status == dnnl_success else { throw DNNLError(status: status, call: call) }
}

/// oneDNN's fixed-size dimension array (`dnnl_dims_t`, `DNNL_MAX_NDIMS` entries), zero-padded.
func dnnlDims(_ values: [Int]) -> [Int64] {
    precondition(values.count <= Int(DNNL_MAX_NDIMS), "oneDNN supports at most \(DNNL_MAX_NDIMS) dimensions.")
    return values.map(Int64.init) + Array(repeating: 0, count: Int(DNNL_MAX_NDIMS) - values.count)
}

/// A CPU engine. The corresponding C function is `dnnl_engine_create`.
func dnnlEngineCreate() throws(DNNLError) -> dnnl_engine_t {
    var engine: dnnl_engine_t?
    try checkDNNL(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
    return engine!
}

/// An in-order stream on `engine`. The corresponding C function is `dnnl_stream_create`.
func dnnlStreamCreate(_ engine: dnnl_engine_t) throws(DNNLError) -> dnnl_stream_t {
    var stream: dnnl_stream_t?
    try checkDNNL(
        dnnl_stream_create(&stream, engine, UInt32(dnnl_stream_in_order.rawValue)), "dnnl_stream_create")
    return stream!
}

/// Waits until all work submitted to `stream` has finished. The corresponding C function is `dnnl_stream_wait`.
func dnnlStreamWait(_ stream: dnnl_stream_t) throws(DNNLError) {
    try checkDNNL(dnnl_stream_wait(stream), "dnnl_stream_wait")
}

/// A Float32 memory descriptor with explicit strides (in elements).
/// The corresponding C function is `dnnl_memory_desc_init_by_strides`.
func dnnlMemoryDescInitByStrides(dims: [Int], strides: [Int]) throws(DNNLError) -> dnnl_memory_desc_t {
    var descriptor = dnnl_memory_desc_t()
    try checkDNNL(
        dnnl_memory_desc_init_by_strides(&descriptor, Int32(dims.count), dnnlDims(dims), dnnl_f32, dnnlDims(strides)),
        "dnnl_memory_desc_init_by_strides")
    return descriptor
}

/// A Float32 memory descriptor with a format tag (`dnnl_format_tag_any` lets a primitive choose).
/// The corresponding C function is `dnnl_memory_desc_init_by_tag`.
func dnnlMemoryDescInitByTag(dims: [Int], tag: dnnl_format_tag_t) throws(DNNLError) -> dnnl_memory_desc_t {
    var descriptor = dnnl_memory_desc_t()
    try checkDNNL(
        dnnl_memory_desc_init_by_tag(&descriptor, Int32(dims.count), dnnlDims(dims), dnnl_f32, tag),
        "dnnl_memory_desc_init_by_tag")
    return descriptor
}

/// Whether two memory descriptors describe the same layout. The corresponding C function is `dnnl_memory_desc_equal`.
func dnnlMemoryDescEqual(_ lhs: dnnl_memory_desc_t, _ rhs: dnnl_memory_desc_t) -> Bool {
    withUnsafePointer(to: lhs) { a in withUnsafePointer(to: rhs) { b in dnnl_memory_desc_equal(a, b) != 0 } }
}

/// The bytes a memory descriptor spans. The corresponding C function is `dnnl_memory_desc_get_size`.
func dnnlMemoryDescGetSize(_ descriptor: dnnl_memory_desc_t) -> Int {
    withUnsafePointer(to: descriptor) { Int(dnnl_memory_desc_get_size($0)) }
}

/// A memory object over `handle`, or over memory oneDNN allocates when `handle` is nil.
/// The corresponding C function is `dnnl_memory_create`.
func dnnlMemoryCreate(
    _ descriptor: dnnl_memory_desc_t, _ engine: dnnl_engine_t, _ handle: UnsafeMutableRawPointer?
) throws(DNNLError) -> dnnl_memory_t {
    var memory: dnnl_memory_t?
    let status = withUnsafePointer(to: descriptor) {
        dnnl_memory_create(&memory, $0, engine, handle ?? landcover_dnnl_memory_allocate())
    }
    try checkDNNL(status, "dnnl_memory_create")
    return memory!
}

/// A convolution forward operation descriptor (direct algorithm).
/// The corresponding C function is `dnnl_convolution_forward_desc_init`.
func dnnlConvolutionForwardDescInit(
    source: dnnl_memory_desc_t, weights: dnnl_memory_desc_t, bias: dnnl_memory_desc_t?,
    destination: dnnl_memory_desc_t, strides: [Int], paddingLeft: [Int], paddingRight: [Int]
) throws(DNNLError) -> dnnl_convolution_desc_t {
    var operation = dnnl_convolution_desc_t()
    var (source, weights, destination) = (source, weights, destination)
    var biasDescriptor = bias ?? dnnl_memory_desc_t()
    let status = withUnsafePointer(to: &biasDescriptor) { biasPointer in
        dnnl_convolution_forward_desc_init(
            &operation, dnnl_forward_training, dnnl_convolution_direct, &source, &weights,
            bias == nil ? nil : biasPointer, &destination,
            dnnlDims(strides), dnnlDims(paddingLeft), dnnlDims(paddingRight))
    }
    try checkDNNL(status, "dnnl_convolution_forward_desc_init")
    return operation
}

/// A convolution backward-data operation descriptor (direct algorithm).
/// The corresponding C function is `dnnl_convolution_backward_data_desc_init`.
func dnnlConvolutionBackwardDataDescInit(
    sourceGradient: dnnl_memory_desc_t, weights: dnnl_memory_desc_t, destinationGradient: dnnl_memory_desc_t,
    strides: [Int], paddingLeft: [Int], paddingRight: [Int]
) throws(DNNLError) -> dnnl_convolution_desc_t {
    var operation = dnnl_convolution_desc_t()
    var (sourceGradient, weights, destinationGradient) = (sourceGradient, weights, destinationGradient)
    try checkDNNL(
        dnnl_convolution_backward_data_desc_init(
            &operation, dnnl_convolution_direct, &sourceGradient, &weights, &destinationGradient,
            dnnlDims(strides), dnnlDims(paddingLeft), dnnlDims(paddingRight)),
        "dnnl_convolution_backward_data_desc_init")
    return operation
}

/// A convolution backward-weights operation descriptor (direct algorithm; bias gradient when `biasGradient` is set).
/// The corresponding C function is `dnnl_convolution_backward_weights_desc_init`.
func dnnlConvolutionBackwardWeightsDescInit(
    source: dnnl_memory_desc_t, weightsGradient: dnnl_memory_desc_t, biasGradient: dnnl_memory_desc_t?,
    destinationGradient: dnnl_memory_desc_t, strides: [Int], paddingLeft: [Int], paddingRight: [Int]
) throws(DNNLError) -> dnnl_convolution_desc_t {
    var operation = dnnl_convolution_desc_t()
    var (source, weightsGradient, destinationGradient) = (source, weightsGradient, destinationGradient)
    var biasDescriptor = biasGradient ?? dnnl_memory_desc_t()
    let status = withUnsafePointer(to: &biasDescriptor) { biasPointer in
        dnnl_convolution_backward_weights_desc_init(
            &operation, dnnl_convolution_direct, &source, &weightsGradient,
            biasGradient == nil ? nil : biasPointer, &destinationGradient,
            dnnlDims(strides), dnnlDims(paddingLeft), dnnlDims(paddingRight))
    }
    try checkDNNL(status, "dnnl_convolution_backward_weights_desc_init")
    return operation
}

/// An elementwise forward operation descriptor (`dnnl_eltwise_relu` and friends).
/// The corresponding C function is `dnnl_eltwise_forward_desc_init`.
func dnnlEltwiseForwardDescInit(
    algorithm: dnnl_alg_kind_t, data: dnnl_memory_desc_t, alpha: Float, beta: Float
) throws(DNNLError) -> dnnl_eltwise_desc_t {
    var operation = dnnl_eltwise_desc_t()
    var data = data
    try checkDNNL(
        dnnl_eltwise_forward_desc_init(&operation, dnnl_forward_training, algorithm, &data, alpha, beta),
        "dnnl_eltwise_forward_desc_init")
    return operation
}

/// An elementwise backward operation descriptor. The corresponding C function is `dnnl_eltwise_backward_desc_init`.
func dnnlEltwiseBackwardDescInit(
    algorithm: dnnl_alg_kind_t, gradient: dnnl_memory_desc_t, data: dnnl_memory_desc_t, alpha: Float, beta: Float
) throws(DNNLError) -> dnnl_eltwise_desc_t {
    var operation = dnnl_eltwise_desc_t()
    var (gradient, data) = (gradient, data)
    try checkDNNL(
        dnnl_eltwise_backward_desc_init(&operation, algorithm, &gradient, &data, alpha, beta),
        "dnnl_eltwise_backward_desc_init")
    return operation
}

/// A primitive descriptor for an operation descriptor, with the forward one as a hint for backward operations,
/// and a ReLU applied to the result when `reluPostOp`. The corresponding C function is `dnnl_primitive_desc_create`.
func dnnlPrimitiveDescCreate<Operation>(
    _ operation: Operation, _ engine: dnnl_engine_t, hint: dnnl_primitive_desc_t?, reluPostOp: Bool = false
) throws(DNNLError) -> dnnl_primitive_desc_t {
    var descriptor: dnnl_primitive_desc_t?
    let attributes = try DNNLUserScratchpadAttributes()
    if reluPostOp { try attributes.appendReLU() }
    let status = withUnsafePointer(to: operation) {
        dnnl_primitive_desc_create(&descriptor, UnsafeRawPointer($0), attributes.handle, engine, hint)
    }
    try checkDNNL(status, "dnnl_primitive_desc_create")
    return descriptor!
}

/// Primitive attributes asking for a caller-provided scratchpad (`dnnl_scratchpad_mode_user`).
///
/// With the library-managed default, oneDNN 2.6 ties a primitive's scratchpad to the thread that created it,
/// and running a cached primitive from another thread crashed; every plan therefore owns its scratchpad.
/// The corresponding C functions are `dnnl_primitive_attr_create` and `dnnl_primitive_attr_set_scratchpad_mode`.
final class DNNLUserScratchpadAttributes {
    let handle: dnnl_primitive_attr_t

    init() throws(DNNLError) {
        var attributes: dnnl_primitive_attr_t?
        try checkDNNL(dnnl_primitive_attr_create(&attributes), "dnnl_primitive_attr_create")
        handle = attributes!
        try checkDNNL(
            dnnl_primitive_attr_set_scratchpad_mode(handle, dnnl_scratchpad_mode_user),
            "dnnl_primitive_attr_set_scratchpad_mode")
    }

    deinit { dnnl_primitive_attr_destroy(handle) }

    /// Adds a ReLU post-op (max(x, 0) on the result, in the primitive's own pass). The corresponding C functions
    /// are `dnnl_post_ops_create`, `dnnl_post_ops_append_eltwise` and `dnnl_primitive_attr_set_post_ops` (which
    /// copies the post-ops, so they are destroyed here).
    func appendReLU() throws(DNNLError) {
        var postOps: dnnl_post_ops_t?
        try checkDNNL(dnnl_post_ops_create(&postOps), "dnnl_post_ops_create")
        defer { dnnl_post_ops_destroy(postOps) }
        try checkDNNL(
            dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, 0, 0), "dnnl_post_ops_append_eltwise")
        try checkDNNL(dnnl_primitive_attr_set_post_ops(handle, postOps), "dnnl_primitive_attr_set_post_ops")
    }
}

/// The scratchpad layout a primitive descriptor needs (zero-sized when none).
/// The corresponding C function is `dnnl_primitive_desc_query_md` with `dnnl_query_scratchpad_md`.
func dnnlPrimitiveDescQueryScratchpadMD(_ descriptor: dnnl_primitive_desc_t) -> dnnl_memory_desc_t {
    dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0)?.pointee ?? dnnl_memory_desc_t()
}

/// A primitive descriptor copying `source` into the layout of `destination`.
/// The corresponding C function is `dnnl_reorder_primitive_desc_create`.
func dnnlReorderPrimitiveDescCreate(
    source: dnnl_memory_desc_t, destination: dnnl_memory_desc_t, _ engine: dnnl_engine_t
) throws(DNNLError) -> dnnl_primitive_desc_t {
    var descriptor: dnnl_primitive_desc_t?
    let attributes = try DNNLUserScratchpadAttributes()
    let status = withUnsafePointer(to: source) { sourcePointer in
        withUnsafePointer(to: destination) { destinationPointer in
            dnnl_reorder_primitive_desc_create(
                &descriptor, sourcePointer, engine, destinationPointer, engine, attributes.handle)
        }
    }
    try checkDNNL(status, "dnnl_reorder_primitive_desc_create")
    return descriptor!
}

/// The memory descriptor a primitive expects for one execution argument (`DNNL_ARG_SRC` …); zero when unused.
/// The corresponding C function is `dnnl_primitive_desc_query_md` with `dnnl_query_exec_arg_md`.
func dnnlPrimitiveDescQueryMD(_ descriptor: dnnl_primitive_desc_t, argument: Int32) -> dnnl_memory_desc_t {
    dnnl_primitive_desc_query_md(descriptor, dnnl_query_exec_arg_md, argument)?.pointee ?? dnnl_memory_desc_t()
}

/// The name of the implementation oneDNN chose (for example `jit:avx512_core`).
/// The corresponding C function is `dnnl_primitive_desc_query` with `dnnl_query_impl_info_str`.
func dnnlPrimitiveDescQueryImplementation(_ descriptor: dnnl_primitive_desc_t) -> String {
    var name: UnsafePointer<CChar>?
    guard dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &name) == dnnl_success,
        let name
    else { return "unknown" }
    return String(cString: name)
}

/// A primitive from its descriptor. The corresponding C function is `dnnl_primitive_create`.
func dnnlPrimitiveCreate(_ descriptor: dnnl_primitive_desc_t) throws(DNNLError) -> dnnl_primitive_t {
    var primitive: dnnl_primitive_t?
    try checkDNNL(dnnl_primitive_create(&primitive, descriptor), "dnnl_primitive_create")
    return primitive!
}

/// Runs `primitive` on `stream` with its arguments. The corresponding C function is `dnnl_primitive_execute`.
func dnnlPrimitiveExecute(
    _ primitive: dnnl_primitive_t, _ stream: dnnl_stream_t, _ arguments: [dnnl_exec_arg_t]
) throws(DNNLError) {
    try checkDNNL(
        dnnl_primitive_execute(primitive, stream, Int32(arguments.count), arguments), "dnnl_primitive_execute")
}

/// Sets the OpenMP thread count of the calling thread's next parallel regions (oneDNN's, on Debian).
/// The corresponding C function is `omp_set_num_threads` (libgomp).
func ompSetNumThreads(_ count: Int) {
    omp_set_num_threads(Int32(count))
}

import CDNNL

/// A memory layout a oneDNN primitive chose (`dnnl_format_tag_any`), kept with a tensor stored in it.
///
/// Two layouts are equal when oneDNN says their descriptors are (`dnnl_memory_desc_equal`).
final class DNNLLayout: Hashable, @unchecked Sendable {
    /// The descriptor: logical dimensions, blocking and padding.
    let descriptor: dnnl_memory_desc_t
    /// The Float32 scalars the layout spans, padding included.
    let scalarCount: Int

    init(_ descriptor: dnnl_memory_desc_t) {
        self.descriptor = descriptor
        scalarCount = (dnnlMemoryDescGetSize(descriptor) + MemoryLayout<Float>.stride - 1) / MemoryLayout<Float>.stride
    }

    static func == (lhs: DNNLLayout, rhs: DNNLLayout) -> Bool {
        lhs === rhs || dnnlMemoryDescEqual(lhs.descriptor, rhs.descriptor)
    }

    /// Hashes what equal descriptors always share: the dimensions and the size.
    func hash(into hasher: inout Hasher) {
        hasher.combine(descriptor.ndims)
        withUnsafeBytes(of: descriptor.dims) { hasher.combine(bytes: $0) }
        hasher.combine(scalarCount)
    }
}

extension TensorLayout {
    /// The layout of a primitive's `descriptor` for a tensor of `shape`: row-major when the descriptor is.
    init(_ descriptor: dnnl_memory_desc_t, shape: [Int]) throws(DNNLError) {
        if dnnlMemoryDescEqual(descriptor, try plainMemoryDescriptor(shape)) {
            self = .rowMajor
        } else {
            self.init(kind: .blocked(DNNLLayout(descriptor)))
        }
    }
}

extension Tensor {
    /// The oneDNN memory descriptor of the tensor as stored.
    var memoryDescriptor: dnnl_memory_desc_t {
        get throws(DNNLError) {
            if let blocked = layout.blocked { return blocked.descriptor }
            return try plainMemoryDescriptor(shape)
        }
    }
}

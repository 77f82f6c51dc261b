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

extension TensorLayout {
    /// oneDNN's `nChw8c` (`aBcd8b`) for a `[batch, channels, height, width]` shape: channels in blocks of 8 (the
    /// last block zero-padded), the 8 channels of a pixel adjacent. AVX2 convolutions choose it, and Swift copies
    /// that move whole pixels (resize, concatenation of multiples of 8 channels) can keep it.
    static func channelBlocks8(_ shape: [Int]) throws(DNNLError) -> TensorLayout {
        TensorLayout(kind: .blocked(DNNLLayout(try dnnlMemoryDescInitByTag(dims: shape, tag: dnnl_aBcd8b))))
    }

    /// Whether this layout is `channelBlocks8(shape)`.
    func isChannelBlocks8(_ shape: [Int]) -> Bool {
        guard shape.count == 4, let blocked,
            let expected = try? dnnlMemoryDescInitByTag(dims: shape, tag: dnnl_aBcd8b)
        else { return false }
        return dnnlMemoryDescEqual(blocked.descriptor, expected)
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

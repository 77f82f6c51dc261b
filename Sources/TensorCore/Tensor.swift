import Synchronization

/// A Float32 tensor: a shape and contiguous scalars with value semantics (copy-on-write).
///
/// A 4-D image tensor is `[batch, channels, height, width]` (NCHW) and a convolution weight is
/// `[outChannels, inChannels, kernelHeight, kernelWidth]` (OIHW), both row-major: the last dimension varies fastest.
///
/// oneDNN results may instead keep the blocked layout the primitive chose (for example `nChw8c`), so the next
/// primitive reads them without a reorder. Such a tensor converts itself to row-major whenever its scalars are
/// read (`scalars`, `withUnsafeBufferPointer`, subscripts, `reshaped`), so callers see no difference but the cost.
public struct Tensor: Sendable {
    /// The extent of each dimension, outermost first (for images `[batch, channels, height, width]`).
    public let shape: [Int]
    /// How the scalars are arranged in memory: `.rowMajor`, or a layout oneDNN chose.
    public let layout: TensorLayout
    /// The number of elements (the product of the shape; 1 for a rank-0 tensor).
    public let count: Int
    var storage: TensorStorage

    /// Creates a tensor over `storage`, which must hold the shape's elements in `layout` (a blocked layout may pad).
    init(shape: [Int], storage: TensorStorage, layout: TensorLayout = .rowMajor) {
        let count = Tensor.elementCount(shape)
        precondition(
            storage.count == (layout.blocked?.scalarCount ?? count), "The storage size must match the shape \(shape).")
        self.shape = shape
        self.count = count
        self.storage = storage
        self.layout = layout
    }

    /// A tensor of `shape` whose scalars are not initialised; the caller writes every element before reading any.
    init(uninitializedShape shape: [Int], layout: TensorLayout = .rowMajor) {
        let scalarCount = layout.blocked?.scalarCount ?? Tensor.elementCount(shape)
        self.init(shape: shape, storage: TensorStorage(uninitializedCount: scalarCount), layout: layout)
    }

    /// This tensor with its scalars in row-major order: itself when it already is, else a reordered copy.
    public var rowMajor: Tensor {
        layout == .rowMajor ? self : CPUDevice.shared.reorderedToRowMajor(self)
    }

    /// Creates a tensor of `shape` from row-major `scalars`.
    public init(shape: [Int], scalars: [Float]) {
        let count = Tensor.elementCount(shape)
        precondition(scalars.count == count, "\(scalars.count) scalars cannot fill the shape \(shape) (\(count)).")
        self.init(uninitializedShape: shape)
        scalars.withUnsafeBufferPointer { source in
            if let start = source.baseAddress { storage.base.initialize(from: start, count: count) }
        }
    }

    /// Creates a tensor of `shape` with every element equal to `value`.
    public init(shape: [Int], repeating value: Float) {
        self.init(uninitializedShape: shape)
        storage.base.initialize(repeating: value, count: storage.count)
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// The scalars in row-major order.
    public var scalars: [Float] {
        withUnsafeBufferPointer { Array($0) }
    }

    /// Calls `body` with the row-major scalars.
    public func withUnsafeBufferPointer<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<Float>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        guard layout == .rowMajor else { return try rowMajor.withUnsafeBufferPointer(body) }
        return try withExtendedLifetime(storage) { () throws(Failure) -> Result in
            try body(UnsafeBufferPointer(start: storage.base, count: storage.count))
        }
    }

    /// Calls `body` with the row-major scalars for writing, copying them first if the storage is shared.
    public mutating func withUnsafeMutableBufferPointer<Result, Failure: Error>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        if layout != .rowMajor { self = rowMajor }
        makeUnique()
        return try withExtendedLifetime(storage) { () throws(Failure) -> Result in
            try body(UnsafeMutableBufferPointer(start: storage.base, count: storage.count))
        }
    }

    /// The same values in the layout of `other` (itself if it already is in it); `other` must have this shape.
    public func inLayout(of other: Tensor) -> Tensor {
        precondition(shape == other.shape, "A \(shape) tensor cannot take the layout of a \(other.shape) one.")
        return layout == other.layout ? self : CPUDevice.shared.reorderedOrFatal(self, to: other.layout)
    }

    /// Calls `body` with the stored scalars in the tensor's own layout (for a blocked layout: in blocks, with zero
    /// padding), for writing; copies them first if the storage is shared. Elementwise updates over tensors of one
    /// layout (an optimizer step) can run on these directly, without reordering to row-major.
    public mutating func withUnsafeMutableStoredScalars<Result, Failure: Error>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        makeUnique()
        return try withExtendedLifetime(storage) { () throws(Failure) -> Result in
            try body(UnsafeMutableBufferPointer(start: storage.base, count: storage.count))
        }
    }

    /// Calls `body` with the stored scalars in the tensor's own layout (see `withUnsafeMutableStoredScalars`).
    public func withUnsafeStoredScalars<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<Float>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try withExtendedLifetime(storage) { () throws(Failure) -> Result in
            try body(UnsafeBufferPointer(start: storage.base, count: storage.count))
        }
    }

    /// The element at a full index, one coordinate per dimension (`tensor[n, c, h, w]`); slow, for tests and tools.
    public subscript(_ index: Int...) -> Float {
        get { self[index] }
        set { self[index] = newValue }
    }

    /// The element at a full index given as an array.
    subscript(_ index: [Int]) -> Float {
        get {
            guard layout == .rowMajor else { return rowMajor[index] }
            return withExtendedLifetime(storage) { storage.base[offset(of: index)] }
        }
        set {
            if layout != .rowMajor { self = rowMajor }
            let position = offset(of: index)
            makeUnique()
            storage.base[position] = newValue
        }
    }

    /// The same scalars viewed with another shape of equal element count (no copy).
    public func reshaped(to newShape: [Int]) -> Tensor {
        precondition(
            Tensor.elementCount(newShape) == count, "Cannot reshape \(shape) (\(count) elements) to \(newShape).")
        guard layout == .rowMajor else { return rowMajor.reshaped(to: newShape) }
        return Tensor(shape: newShape, storage: storage)
    }

    /// The product of `shape`, checking that no extent is negative.
    static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1) { product, extent in
            precondition(extent >= 0, "A tensor extent cannot be negative: \(shape).")
            return product * extent
        }
    }

    /// The row-major offset of a full index.
    private func offset(of index: [Int]) -> Int {
        precondition(index.count == shape.count, "An index into a \(shape) tensor needs \(shape.count) coordinates.")
        var offset = 0
        for (coordinate, extent) in zip(index, shape) {
            precondition(0 <= coordinate && coordinate < extent, "The index \(index) is outside the shape \(shape).")
            offset = offset * extent + coordinate
        }
        return offset
    }

    /// Gives this value its own storage before a write if another value shares it.
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy()
        }
        storage.version &+= 1
    }
}

/// What a tensor's scalars are at one moment: equal stamps mean the same storage, not written in between. A value
/// derived from a tensor (a convolution weight with a batch norm folded in) keeps the stamp to tell whether it is
/// still current, without holding the tensor (which would make the next in-place write copy it).
public struct TensorStamp: Hashable, Sendable {
    let storage: UInt64
    let version: UInt64
}

extension Tensor {
    /// The stamp of the scalars as they are now.
    public var stamp: TensorStamp { TensorStamp(storage: storage.serial, version: storage.version) }
}

extension Tensor: Equatable {
    /// Tensors are equal when their shapes and all their scalars are equal.
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape
            && lhs.withUnsafeBufferPointer { a in rhs.withUnsafeBufferPointer { b in a.elementsEqual(b) } }
    }
}

extension Tensor: CustomStringConvertible {
    /// The shape and, for small tensors, the scalars.
    public var description: String {
        count <= 16 ? "Tensor(\(shape), \(scalars))" : "Tensor(\(shape), \(count) scalars)"
    }
}

/// How a tensor's scalars are arranged in memory.
///
/// Row-major (NCHW for images), or a layout a oneDNN primitive chose for its result (blocked, such as `nChw8c`,
/// possibly padding the channels with zeros), carried as an opaque oneDNN memory descriptor. oneDNN results keep
/// their layout so that the next primitive reads them without a reorder; Swift code reads them row-major.
public struct TensorLayout: Hashable, Sendable {
    enum Kind: Hashable {
        case rowMajor
        case blocked(DNNLLayout)
    }

    let kind: Kind

    /// Contiguous, last dimension fastest (NCHW for `[batch, channels, height, width]`).
    public static let rowMajor = TensorLayout(kind: .rowMajor)

    /// Whether the scalars are in row-major order.
    public var isRowMajor: Bool { kind == .rowMajor }

    /// The oneDNN layout, or nil for row-major.
    var blocked: DNNLLayout? {
        if case .blocked(let layout) = kind { return layout }
        return nil
    }
}

/// The owned, 64-byte aligned memory behind one or more `Tensor` values.
///
/// Values share it until one of them writes (copy-on-write), so it is only mutated while uniquely referenced.
final class TensorStorage: @unchecked Sendable {
    /// The first scalar; 64-byte aligned for AVX-512 loads and oneDNN.
    let base: UnsafeMutablePointer<Float>
    /// The number of scalars.
    let count: Int
    /// Counts the writes through a `Tensor` (each starts with `makeUnique`), so that a copy of these scalars in
    /// another layout (a reordered convolution weight) can tell whether it is still current.
    var version: UInt64 = 0
    /// Unique over the process's lifetime (unlike the object's address, which a later storage may reuse).
    let serial = TensorStorage.serials.wrappingAdd(1, ordering: .relaxed).newValue

    private static let serials = Atomic<UInt64>(0)

    /// Allocates `count` scalars without initialising them.
    init(uninitializedCount count: Int) {
        let raw = StoragePool.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride)
        base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
    }

    deinit {
        StoragePool.release(UnsafeMutableRawPointer(base), byteCount: max(count, 1) * MemoryLayout<Float>.stride)
    }

    /// A new storage holding the same scalars.
    func copy() -> TensorStorage {
        let copy = TensorStorage(uninitializedCount: count)
        copy.base.initialize(from: base, count: count)
        return copy
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Element types of the safetensors format that checkpoints use.
public enum SafetensorsDType: String, Sendable, Codable, CaseIterable {
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case float64 = "F64"
    case int64 = "I64"
    case int32 = "I32"
    case uint8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16: 2
        case .uint8, .bool: 1
        }
    }
}

/// One tensor of a safetensors file: element type, shape and raw little-endian bytes.
public struct SafetensorsEntry: Sendable, Equatable {
    /// Element type.
    public var dtype: SafetensorsDType
    /// Shape (empty for a scalar, such as batch norm's `num_batches_tracked`).
    public var shape: [Int]
    /// Raw little-endian bytes, `shape.product × dtype.size` of them.
    public var bytes: Data

    /// Creates an entry, checking that the byte count matches the shape.
    public init(dtype: SafetensorsDType, shape: [Int], bytes: Data) {
        precondition(
            bytes.count == shape.reduce(1, *) * dtype.size,
            "\(bytes.count) bytes do not fit shape \(shape) of \(dtype.rawValue).")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// A float32 entry from values.
    public init(shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fit shape \(shape).")
        self.init(dtype: .float32, shape: shape, bytes: values.withUnsafeBytes { Data($0) })
    }

    /// The values as Float32, converting from F16, BF16, F64 and integer types.
    public func floats() -> [Float] {
        let count = shape.reduce(1, *)
        return bytes.withUnsafeBytes { raw -> [Float] in
            switch dtype {
            case .float32: return (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
            case .float64: return (0..<count).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) }
            case .float16:
                return (0..<count).map {
                    Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))
                }
            case .bfloat16:
                return (0..<count).map {
                    Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16)
                }
            case .int64: return (0..<count).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            case .int32: return (0..<count).map { Float(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
            case .uint8, .bool: return (0..<count).map { Float(raw[$0]) }
            }
        }
    }
}

/// A safetensors file: named tensors plus a string `__metadata__` map.
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON (`{"name": {"dtype", "shape",
/// "data_offsets": [begin, end]}, "__metadata__": {…}}`, offsets relative to the data section), then the data.
public struct SafetensorsFile: Sendable, Equatable {
    /// Tensors by name (PyTorch `state_dict` keys).
    public var tensors: [String: SafetensorsEntry]
    /// Free-form string metadata.
    public var metadata: [String: String]

    /// Creates a file in memory.
    public init(tensors: [String: SafetensorsEntry] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Reads and validates a file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafetensorsError(path: url.path, problem: "cannot read the file")
        }
        try self.init(data: data, path: url.path)
    }

    /// Parses a file's bytes; `path` names it in errors.
    public init(data: Data, path: String = "<memory>") throws {
        func fail(_ problem: String) -> SafetensorsError { SafetensorsError(path: path, problem: problem) }
        guard data.count >= 8 else { throw fail("too short for a safetensors header") }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(data.count - 8), headerLength < 100_000_000 else {
            throw fail("header length \(headerLength) exceeds the file (truncated or not safetensors)")
        }
        let headerEnd = 8 + Int(headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: data[8..<headerEnd]) as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        let dataStart = headerEnd
        var tensors: [String: SafetensorsEntry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let map = value as? [String: String] else {
                    throw fail("__metadata__ must map strings to strings")
                }
                metadata = map
                continue
            }
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else { throw fail("tensor \(name) has a malformed header entry") }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
                throw fail("tensor \(name) has unsupported dtype \(dtypeName)")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= begin, end <= data.count - dataStart else {
                throw fail("tensor \(name) points outside the file (truncated?)")
            }
            // A hostile shape must not overflow: negative extents are refused, products are checked.
            var bytes: Int? = shape.allSatisfy { $0 >= 0 } ? dtype.size : nil
            for extent in shape {
                guard let running = bytes else { break }
                let (product, overflow) = running.multipliedReportingOverflow(by: extent)
                bytes = overflow ? nil : product
            }
            guard let bytes, end - begin == bytes else {
                throw fail("tensor \(name): \(end - begin) bytes do not match shape \(shape) of \(dtypeName)")
            }
            tensors[name] = SafetensorsEntry(
                dtype: dtype, shape: shape, bytes: Data(data[(dataStart + begin)..<(dataStart + end)]))
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The file's bytes: tensors in name order, header padded with spaces to a multiple of 8 bytes.
    public func serialized() throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let entry = tensors[name]!
            header[name] = [
                "dtype": entry.dtype.rawValue, "shape": entry.shape,
                "data_offsets": [offset, offset + entry.bytes.count],
            ]
            offset += entry.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var result = Data()
        result.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { result.append(contentsOf: $0) }
        result.append(json)
        for name in names { result.append(tensors[name]!.bytes) }
        return result
    }

    /// Writes the file to a temporary name beside `url`, then renames it into place.
    public func write(to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        try serialized().write(to: temporary)
        // POSIX rename replaces an existing checkpoint atomically: a failure never leaves half a file.
        guard rename(temporary.path, url.path) == 0 else {
            throw SafetensorsError(
                path: url.path, problem: "cannot rename into place: \(String(cString: strerror(errno)))")
        }
    }
}

/// A safetensors problem, in one line naming the file.
public struct SafetensorsError: Error, CustomStringConvertible, Sendable {
    /// The file.
    public let path: String
    /// What is wrong.
    public let problem: String
    public var description: String { "\(path): \(problem)" }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A float32 NumPy array in a `.npy` file: what `forward` reads and writes, so a model can be scripted or checked
/// from Python (`np.save("x.npy", x.astype(np.float32))`).
///
/// Reads format versions 1.0, 2.0 and 3.0 with dtype `<f4` (little-endian float32) in C order; any other dtype,
/// Fortran order or a truncated file is refused with one line naming the file. Writes version 1.0 (2.0 if the
/// header needs it), `<f4`, C order, header padded to 64 bytes as NumPy does.
public struct NumPyArray: Sendable, Equatable {
    /// The shape (empty for a scalar).
    public var shape: [Int]
    /// The values in C (row-major) order.
    public var values: [Float]

    /// An array of `shape` holding `values` in C order.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "A shape has no negative dimensions: \(shape).")
        precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fit shape \(shape).")
        self.shape = shape
        self.values = values
    }

    private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Reads a `.npy` file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            let reason =
                FileManager.default.fileExists(atPath: url.path) ? "cannot read the file" : "file not found"
            throw NumPyError(path: url.path, problem: reason)
        }
        try self.init(data: data, path: url.path)
    }

    /// Parses a `.npy` file's bytes; `path` names it in errors.
    public init(data: Data, path: String = "<memory>") throws {
        func fail(_ problem: String) -> NumPyError { NumPyError(path: path, problem: problem) }
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, Array(bytes[0..<6]) == Self.magic else {
            throw fail("not a NumPy .npy file (no \\x93NUMPY magic)")
        }
        let (major, minor) = (bytes[6], bytes[7])
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw fail("unsupported .npy format version \(major).\(minor) (1.0, 2.0 and 3.0 are read)")
        }
        guard headerStart + headerLength <= data.count else { throw fail("truncated .npy header") }
        let start = data.startIndex
        let headerData = data[(start + headerStart)..<(start + headerStart + headerLength)]
        guard let header = String(data: headerData, encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw fail("the .npy header is not text")
        }
        let (descr, fortranOrder, shape) = try Self.parseHeader(header, fail: fail)
        guard descr == "<f4" else {
            throw fail(
                "dtype '\(descr)' is not supported: landcover reads little-endian float32 ('<f4'); "
                    + "convert with x.astype(np.float32)")
        }
        guard !fortranOrder else {
            throw fail("Fortran-order arrays are not supported: save np.ascontiguousarray(x)")
        }
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= Int(Int32.max) else { throw fail("shape \(shape) is too large") }
            count = product
        }
        let dataStart = headerStart + headerLength
        let available = data.count - dataStart
        guard available >= count * 4 else {
            throw fail("truncated: shape \(shape) needs \(count * 4) bytes of data but the file has \(available)")
        }
        guard available == count * 4 else {
            throw fail("\(available - count * 4) bytes after the data of shape \(shape) (not a single array?)")
        }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBytes { target in
            data.withUnsafeBytes { source in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[dataStart..<(dataStart + count * 4)]))
            }
        }
        if UInt32(littleEndian: 1) != 1 {
            values = values.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
        }
        self.init(shape: shape, values: values)
    }

    /// The `descr`, `fortran_order` and `shape` of a header such as
    /// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
    private static func parseHeader(
        _ header: String, fail: (String) -> NumPyError
    ) throws -> (descr: String, fortranOrder: Bool, shape: [Int]) {
        func value(of key: String) throws -> Substring {
            for quote in ["'", "\""] {
                if let keyRange = header.range(of: "\(quote)\(key)\(quote)") {
                    let rest = header[keyRange.upperBound...].drop { $0 == " " }
                    guard rest.first == ":" else { break }
                    return rest.dropFirst().drop { $0 == " " }
                }
            }
            throw fail("the .npy header lacks '\(key)': \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let descrText = try value(of: "descr")
        guard let quote = descrText.first, quote == "'" || quote == "\"",
            let end = descrText.dropFirst().firstIndex(of: quote)
        else {
            throw fail("dtype is not a simple type string (structured arrays are not supported)")
        }
        let descr = String(descrText[descrText.index(after: descrText.startIndex)..<end])
        let fortranText = try value(of: "fortran_order")
        let fortranOrder: Bool
        if fortranText.hasPrefix("True") {
            fortranOrder = true
        } else if fortranText.hasPrefix("False") {
            fortranOrder = false
        } else {
            throw fail("the .npy header's fortran_order is neither True nor False")
        }
        let shapeText = try value(of: "shape")
        guard shapeText.first == "(", let close = shapeText.firstIndex(of: ")") else {
            throw fail("the .npy header's shape is not a tuple")
        }
        let items = shapeText[shapeText.index(after: shapeText.startIndex)..<close]
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: [Int] = []
        for item in items {
            guard let dimension = Int(item.hasSuffix("L") ? String(item.dropLast()) : item), dimension >= 0 else {
                throw fail("the .npy header's shape has a bad dimension '\(item)'")
            }
            shape.append(dimension)
        }
        return (descr, fortranOrder, shape)
    }

    /// The `.npy` bytes.
    public func serialized() -> Data {
        let dimensions = shape.map(String.init)
        let tuple = dimensions.count == 1 ? "(\(dimensions[0]),)" : "(\(dimensions.joined(separator: ", ")))"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(tuple), }"
        // Version 1.0 has a 10-byte preamble (2-byte length); 2.0 a 12-byte one, for headers of 64 KiB or more.
        let version2 = 10 + header.utf8.count + 1 > 65_535
        let preamble = version2 ? 12 : 10
        let padding = (64 - (preamble + header.utf8.count + 1) % 64) % 64
        header += String(repeating: " ", count: padding) + "\n"
        let length = header.utf8.count
        var data = Data(Self.magic)
        data.append(contentsOf: [version2 ? 2 : 1, 0])
        if version2 {
            withUnsafeBytes(of: UInt32(length).littleEndian) { data.append(contentsOf: $0) }
        } else {
            withUnsafeBytes(of: UInt16(length).littleEndian) { data.append(contentsOf: $0) }
        }
        data.append(contentsOf: Array(header.utf8))
        values.map(\.bitPattern.littleEndian).withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }

    /// Writes the file to a temporary name beside `url`, then renames it into place.
    public func write(to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        do {
            try serialized().write(to: temporary)
        } catch {
            throw NumPyError(path: url.path, problem: "cannot write: \(error.localizedDescription)")
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw NumPyError(path: url.path, problem: "cannot rename into place: \(reason)")
        }
    }
}

/// A `.npy` problem, in one line naming the file.
public struct NumPyError: Error, CustomStringConvertible, Sendable {
    /// The file.
    public let path: String
    /// What is wrong.
    public let problem: String

    /// An error about the file at `path`.
    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}

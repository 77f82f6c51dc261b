import Foundation
import Testing
import TestSupport

@testable import NeuralNet

@Suite struct NumPyArrayTests {
    /// A `.npy` file with `header` (padded as NumPy pads) and `payload`.
    static func npy(_ header: String, version: UInt8 = 1, payload: Data = Data()) -> Data {
        var text = header
        let preamble = version == 1 ? 10 : 12
        text += String(repeating: " ", count: (64 - (preamble + text.utf8.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [version, 0])
        if version == 1 {
            withUnsafeBytes(of: UInt16(text.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        } else {
            withUnsafeBytes(of: UInt32(text.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        }
        data.append(contentsOf: Array(text.utf8))
        data.append(payload)
        return data
    }

    static func floats(_ values: [Float]) -> Data { values.withUnsafeBytes { Data($0) } }

    @Test(arguments: [[2, 3, 4, 5], [7], [], [0, 3], [1, 1, 1]])
    func roundTripKeepsShapeAndValues(_ shape: [Int]) throws {
        let count = shape.reduce(1, *)
        let array = NumPyArray(shape: shape, values: (0..<count).map { Float($0) * 0.5 - 3 })
        let data = array.serialized()
        // NumPy's layout: magic, version 1.0, header ending in a newline, data 64-byte aligned.
        #expect(data.prefix(8) == Data([0x93] + Array("NUMPY".utf8) + [1, 0]))
        #expect((data.count - count * 4) % 64 == 0)
        #expect(try NumPyArray(data: data) == array)

        let directory = TemporaryDirectory()
        let url = directory.url.appendingPathComponent("a.npy")
        try array.write(to: url)
        #expect(try NumPyArray(contentsOf: url) == array)
    }

    @Test func writesNumPysExactHeader() throws {
        let data = NumPyArray(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]).serialized()
        let header = String(decoding: data[10..<(data.count - 24)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
        #expect(header.hasSuffix(" \n"))
        let vector = NumPyArray(shape: [3], values: [1, 2, 3]).serialized()
        #expect(String(decoding: vector, as: UTF8.self).contains("'shape': (3,)"))
    }

    @Test func readsVersion2AndDoubleQuotedHeaders() throws {
        let payload = Self.floats([1.5, -2, 3.25])
        let v2 = Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", version: 2, payload: payload)
        #expect(try NumPyArray(data: v2) == NumPyArray(shape: [3], values: [1.5, -2, 3.25]))
        let quoted = Self.npy("{\"descr\": \"<f4\", \"shape\": (1, 3), \"fortran_order\": False}", payload: payload)
        #expect(try NumPyArray(data: quoted).shape == [1, 3])
    }

    @Test func badFilesFailWithOneLineNamingTheProblem() throws {
        let cases: [(data: Data, message: String)] = [
            (Data("hello, not numpy".utf8), "not a NumPy .npy file"),
            (Self.npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", payload: Data(count: 16)), "'<f8'"),
            (Self.npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", payload: Data(count: 8)), "'>f4'"),
            (
                Self.npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", payload: Data(count: 16)),
                "float32"
            ),
            (
                Self.npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", payload: Data(count: 16)),
                "Fortran"
            ),
            (
                Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", payload: Data(count: 20)),
                "truncated"
            ),
            (
                Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", payload: Data(count: 12)),
                "bytes after"
            ),
            (Self.npy("{'descr': '<f4', 'fortran_order': False, }"), "lacks 'shape'"),
            (Self.npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }"), "structured"),
            (Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), "bad dimension"),
            (
                Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"),
                "too large"
            ),
            (Self.npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", version: 9), "version 9.0"),
            (Data([0x93] + Array("NUMPY".utf8) + [1, 0, 0xFF, 0x7F]), "truncated"),
        ]
        for (data, message) in cases {
            let error = #expect(throws: NumPyError.self) { try NumPyArray(data: data, path: "x.npy") }
            let text = error?.description ?? ""
            #expect(text.hasPrefix("x.npy: ") && text.contains(message) && !text.contains("\n"), "\(text)")
        }
        let missing = #expect(throws: NumPyError.self) {
            try NumPyArray(contentsOf: URL(fileURLWithPath: "/nonexistent/x.npy"))
        }
        #expect(missing?.description == "/nonexistent/x.npy: file not found")
    }
}

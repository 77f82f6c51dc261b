import CGDAL
import Foundation

/// 8-bit PNG images encoded by GDAL's PNG driver (through an in-memory `/vsimem/` file).
public enum PNGImage {
    /// Encodes `planes` (1 = grey, 3 = RGB, 4 = RGBA), each row-major `[height * width]`, as PNG bytes.
    public static func encode(planes: [[UInt8]], width: Int, height: Int) throws -> Data {
        precondition([1, 3, 4].contains(planes.count), "A PNG has 1, 3 or 4 bands, not \(planes.count).")
        precondition(planes.allSatisfy { $0.count == width * height }, "Every plane holds width × height values.")
        let dataset = try Dataset.create(
            "", driver: "MEM", width: width, height: height, bands: planes.count, type: .byte)
        let window = PixelWindow(column: 0, row: 0, width: width, height: height)
        for (number, plane) in planes.enumerated() { try dataset.band(number + 1).write(plane, window: window) }
        let path = "/vsimem/landcover-\(UUID().uuidString).png"
        defer {
            VSIUnlink(path)
            VSIUnlink(path + ".aux.xml")
        }
        try dataset.translate(to: path, arguments: ["-of", "PNG"]).close()
        var length: vsi_l_offset = 0
        guard let buffer = VSIGetMemFileBuffer(path, &length, 0) else {
            throw GDALError(code: 0, message: "the PNG driver wrote nothing", call: "VSIGetMemFileBuffer(\(path))")
        }
        return Data(bytes: buffer, count: Int(length))
    }

    /// Writes `encode(planes:width:height:)` to `url` under a temporary name, then renames it into place.
    public static func write(planes: [[UInt8]], width: Int, height: Int, to url: URL) throws {
        try encode(planes: planes, width: width, height: height).write(to: url, options: .atomic)
    }
}

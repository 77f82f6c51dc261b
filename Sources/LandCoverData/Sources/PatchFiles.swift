import Foundation
import GeoRaster

/// Patch folders and the one-band GeoTIFFs of BigEarthNet patches, read onto the patch's 10 m grid.
enum PatchFiles {
    /// The names of the directories in `url`, sorted; hidden entries and files are skipped.
    static func subdirectories(of url: URL) throws -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: url.path)
        } catch {
            throw MultiLabelSourceError("\(url.path): cannot list the directory (\(error.localizedDescription))")
        }
        return names.filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".")
                && FileManager.default.fileExists(
                    atPath: url.appendingPathComponent(name).path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }.sorted()
    }

    /// Checks a band selection for a BigEarthNet source: not empty, no B10 (sen2cor L2A drops the cirrus band).
    static func validate(_ bands: [SpectralBand], for dataset: String) throws {
        precondition(!bands.isEmpty, "A \(dataset) source needs at least one band.")
        if bands.contains(.b10) {
            throw MultiLabelSourceError("\(dataset) has no band B10 (L2A patches carry B01–B12 and B8A without B10)")
        }
    }

    /// Reads patch `patch`'s bands from `folder/<patch>_<band>.tif` as reflectance `[bands, size, size]`.
    static func readImage(
        folder: URL, patch: String, bands: [SpectralBand], size: Int, offset: Float,
        into buffer: UnsafeMutableBufferPointer<Float>
    ) throws {
        let pixels = size * size
        precondition(
            buffer.count == bands.count * pixels,
            "Image buffer of \(buffer.count) values is not [\(bands.count), \(size), \(size)].")
        for (position, band) in bands.enumerated() {
            let path = folder.appendingPathComponent("\(patch)_\(band.name).tif").path
            let slice = UnsafeMutableBufferPointer(rebasing: buffer[(position * pixels)..<((position + 1) * pixels)])
            try readReflectance(path, size: size, offset: offset, into: slice)
        }
    }

    /// Reads band 1 of `path` as reflectance `[size, size]` into `output`.
    ///
    /// A raster of `size / k` pixels a side (20 m: 60², 60 m: 20²) is brought to `size` by pixel replication
    /// (nearest, each pixel becomes k×k), as the chip stores do. Reflectance = (DN + `offset`) / 10000 with DN 0
    /// (no data) kept 0 and valid pixels kept at ≥ 1 DN after the offset, so that 0 always means no data.
    static func readReflectance(
        _ path: String, size: Int, offset: Float, into output: UnsafeMutableBufferPointer<Float>
    ) throws {
        precondition(output.count == size * size, "Output of \(output.count) values is not \(size)×\(size).")
        let band = try Dataset.open(path).band(1)
        let side = band.dataset.width
        guard band.dataset.height == side, side > 0, size % side == 0 else {
            throw MultiLabelSourceError(
                "\(path): \(band.dataset.width)×\(band.dataset.height) pixels, expected a square of \(size) "
                    + "or of a divisor of \(size)")
        }
        let factor = size / side
        let values = try band.read(PixelWindow(column: 0, row: 0, width: side, height: side), as: Float.self)
        for row in 0..<size {
            let sourceRow = (row / factor) * side
            for column in 0..<size {
                let dn = values[sourceRow + column / factor]
                output[row * size + column] = dn == 0 ? 0 : max(dn + offset, 1) / 10_000
            }
        }
    }

    /// Reads band 1 of `path`, which must be `size`×`size`, row-major `[size * size]`.
    static func read<T: RasterScalar>(_ path: String, size: Int, as type: T.Type) throws -> [T] {
        let dataset = try Dataset.open(path)
        guard dataset.width == size, dataset.height == size else {
            throw MultiLabelSourceError("\(path): \(dataset.width)×\(dataset.height) pixels, expected \(size)×\(size)")
        }
        return try dataset.band(1).read(PixelWindow(column: 0, row: 0, width: size, height: size), as: type)
    }
}

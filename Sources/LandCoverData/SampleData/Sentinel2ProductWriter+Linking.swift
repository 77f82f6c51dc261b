import Foundation
import GeoRaster

extension Sentinel2ProductWriter {
    /// Writes a product around existing JPEG-2000 band images instead of encoding new ones: each image is linked
    /// (symbolic link) under `GRANULE/…/IMG_DATA` with the name the SAFE layout gives its band, and the metadata is
    /// written as by `write(reflectance:size:into:overwrite:)`. Returns the URL of the `.SAFE` folder.
    ///
    /// Each image must lie on `grid(size:resolution:)` at its band's native resolution (size, origin, pixel size
    /// and EPSG code are checked), and hold DNs as the product declares them (`DN = reflectance × 10000 − offset`).
    /// The links point at absolute paths: moving the images breaks the product.
    ///
    /// - Parameters:
    ///   - images: the JPEG-2000 file of each band, for example `[.b02: …/T35VMF_B02.jp2, …]`.
    ///   - size: width and height of the window in 10 m pixels, a multiple of 6 (10 980 for a full tile with
    ///     `windowOffset` (0, 0)).
    ///   - directory: parent folder, created if missing.
    ///   - overwrite: replace an existing product of the same name; otherwise an existing one is an error.
    @discardableResult
    public func write(linking images: [SpectralBand: URL], size: Int, into directory: URL, overwrite: Bool = false)
        throws -> URL
    {
        try validateWindow(size: size)
        guard !images.isEmpty else { throw SampleDataError.missingData("no band image to link") }
        for (band, image) in images.sorted(by: { $0.key < $1.key }) {
            try checkGrid(of: image, band: band, size: size)
        }
        return try assemble(bands: Array(images.keys), size: size, into: directory, overwrite: overwrite) {
            band, path in
            try FileManager.default.createSymbolicLink(at: path, withDestinationURL: images[band]!.absoluteURL)
        }
    }

    /// Throws unless `image` is a single-band raster on this product's grid at `band`'s native resolution.
    private func checkGrid(of image: URL, band: SpectralBand, size: Int) throws {
        let dataset: Dataset
        do {
            dataset = try Dataset.open(image.path)
        } catch {
            throw SampleDataError.missingData("band \(band.name): cannot open \(image.path) (\(error))")
        }
        let expected = try grid(size: size, resolution: band.nativeResolution)
        func mismatch(_ what: String) -> SampleDataError {
            .missingData("band \(band.name): \(image.path) \(what)")
        }
        guard dataset.bandCount == 1 else { throw mismatch("has \(dataset.bandCount) bands, expected 1") }
        guard dataset.width == expected.width, dataset.height == expected.height else {
            throw mismatch(
                "is \(dataset.width)×\(dataset.height) pixels, expected \(expected.width)×\(expected.height)")
        }
        guard let transform = dataset.geoTransform, dataset.crs?.epsg == epsg else {
            throw mismatch("is not georeferenced in EPSG:\(epsg)")
        }
        let target = expected.geoTransform
        let tolerance = 1e-6
        guard abs(transform.originX - target.originX) < tolerance, abs(transform.originY - target.originY) < tolerance,
            abs(transform.pixelWidth - target.pixelWidth) < tolerance,
            abs(transform.pixelHeight - target.pixelHeight) < tolerance, transform.isNorthUp
        else {
            throw mismatch("has geotransform \(transform.coefficients), expected \(target.coefficients)")
        }
    }
}

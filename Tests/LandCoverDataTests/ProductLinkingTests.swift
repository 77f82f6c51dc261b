import Foundation
import GeoRaster
import Testing
import TestSupport

@testable import LandCoverData

/// `Sentinel2ProductWriter.write(linking:)`: a SAFE product around existing JP2 files.
@Suite struct ProductLinkingTests {
    /// Writes a small product with encoded bands to link from; returns its band files.
    func encodedBands(in directory: TemporaryDirectory, writer: Sentinel2ProductWriter, size: Int) throws
        -> [SpectralBand: URL]
    {
        let ramp = (0..<size * size).map { UInt16(200 + $0 % 977) }
        let source = try writer.write(
            reflectance: [.b02: ramp, .b04: ramp.reversed(), .b11: ramp], size: size,
            into: directory.url.appendingPathComponent("encoded"))
        let images = source.appendingPathComponent("GRANULE/\(writer.granuleName)/IMG_DATA")
        return Dictionary(
            uniqueKeysWithValues: [SpectralBand.b02, .b04, .b11].map {
                ($0, images.appendingPathComponent(writer.imageName($0) + ".jp2"))
            })
    }

    @Test func linkedProductReadsLikeTheEncodedOne() throws {
        let directory = TemporaryDirectory("s2-linking")
        let writer = Sentinel2ProductWriter()
        let size = 36
        let bands = try encodedBands(in: directory, writer: writer, size: size)
        let linked = try writer.write(linking: bands, size: size, into: directory.url.appendingPathComponent("linked"))

        let image = linked.appendingPathComponent("GRANULE/\(writer.granuleName)/IMG_DATA")
            .appendingPathComponent(writer.imageName(.b04) + ".jp2")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: image.path) == bands[.b04]!.path)

        let encodedProduct = try Sentinel2Product.open(bands[.b02]!.deletingLastPathComponent().path + "/../../..")
        let linkedProduct = try Sentinel2Product.open(linked.path)
        #expect(linkedProduct.availableBands == [.b02, .b04, .b11])
        #expect(linkedProduct.grid == encodedProduct.grid)
        let window = PixelWindow(column: 0, row: 0, width: size, height: size)
        let order: [SpectralBand] = [.b04, .b11, .b02]
        #expect(
            try linkedProduct.openReader(bands: order).read(window)
                == encodedProduct.openReader(bands: order).read(window))
        let manifest = try String(contentsOf: linked.appendingPathComponent("manifest.safe"), encoding: .utf8)
        let bytes = try FileManager.default.attributesOfItem(atPath: bands[.b04]!.path)[.size] as! Int
        #expect(manifest.contains("size=\"\(bytes)\""), "the manifest gives the linked file's size")
    }

    @Test func imagesOffTheProductGridAreRefused() throws {
        let directory = TemporaryDirectory("s2-linking-grid")
        let writer = Sentinel2ProductWriter()
        let bands = try encodedBands(in: directory, writer: writer, size: 36)
        var shifted = writer
        shifted.windowOffset = (writer.windowOffset.column + 6, writer.windowOffset.row)
        #expect(throws: SampleDataError.self) {
            try shifted.write(linking: bands, size: 36, into: directory.url.appendingPathComponent("shifted"))
        }
        #expect(throws: SampleDataError.self) {
            try writer.write(linking: bands, size: 42, into: directory.url.appendingPathComponent("larger"))
        }
        #expect(throws: SampleDataError.self) {
            try writer.write(linking: [.b08: bands[.b11]!], size: 36, into: directory.url.appendingPathComponent("20m"))
        }
    }
}

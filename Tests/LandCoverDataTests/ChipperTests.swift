import Foundation
import GeoRaster
import Testing
import TestSupport

@testable import LandCoverData

/// An in-memory image source: band b at (row, column) holds DN `1000 + 100 * b + (row + column) % 50`,
/// except in `noDataRows`; optionally fails when asked for a row at or after `failAtRow`.
final class FakeImageSource: ChipImageSource {
    let grid: RasterGrid
    let bandNames = ["B04", "B03", "B02"]
    var noDataRows: Range<Int> = 0..<0
    var cloudyRows: Range<Int> = 0..<0
    var failAtRow: Int?
    var quantification = 10_000.0
    var hasCloudMask: Bool { !cloudyRows.isEmpty }

    init(grid: RasterGrid) { self.grid = grid }

    var productRecord: ChipProductRecord {
        ChipProductRecord(
            name: "FAKE_MSIL1C", path: "/fake", level: "L1C", tileID: "35VMF", sensingTime: "2018-05-10T09:40:29Z",
            processingBaseline: "05.00", quantificationValue: quantification,
            offsets: ["B04": -1000, "B03": -1000, "B02": -1000])
    }

    func read(_ window: PixelWindow, into buffer: UnsafeMutableBufferPointer<UInt16>) throws {
        if let failAtRow, window.endRow > failAtRow {
            throw ChipStoreError(path: "/fake", problem: "simulated read failure")
        }
        var i = 0
        for band in 0..<3 {
            for row in window.row..<window.endRow {
                for column in window.column..<window.endColumn {
                    buffer[i] = noDataRows.contains(row) ? 0 : UInt16(1000 + 100 * band + (row + column) % 50)
                    i += 1
                }
            }
        }
    }

    func readInvalidMask(_ window: PixelWindow) throws -> [Bool] {
        (window.row..<window.endRow).flatMap { row in
            [Bool](repeating: cloudyRows.contains(row), count: window.width)
        }
    }
}

/// Labels from a function of the pixel position.
final class FakeLabelSource: ChipLabelSource {
    let path = "/fake/corine.tif"
    let grid: RasterGrid
    init(grid: RasterGrid) { self.grid = grid }

    /// Forest (23) left half, arable land (12) right half, a lake (41) in the top-left 30×30 of every 120 block.
    static func label(row: Int, column: Int, width: Int) -> UInt8 {
        if row % 120 < 30 && column % 120 < 30 { return 41 }
        return column < width / 2 ? 23 : 12
    }

    func labels(on target: RasterGrid) throws -> [UInt8] {
        let origin = grid.geoTransform.pixel(x: target.geoTransform.originX, y: target.geoTransform.originY)
        let top = Int(origin.row.rounded())
        let left = Int(origin.column.rounded())
        return (0..<target.height).flatMap { y in
            (0..<target.width).map { x in Self.label(row: top + y, column: left + x, width: grid.width) }
        }
    }

    func overlaps(_ grid: RasterGrid) throws -> Bool { true }
}

@Suite struct ChipperTests {
    let grid = RasterGrid(
        crsWKT: try! CRS(epsg: 32635).wkt,
        geoTransform: GeoTransform(originX: 400_000, originY: 6_600_000, pixelWidth: 10, pixelHeight: -10),
        width: 490, height: 370)

    func chipper(_ image: FakeImageSource, configuration: ChipperConfiguration = .init()) -> Chipper {
        Chipper(image: image, labels: FakeLabelSource(grid: grid), configuration: configuration)
    }

    @Test func cutsWholeChipsWithGeoreferenceOffsetsAndLabels() throws {
        let directory = TemporaryDirectory()
        let store = try chipper(FakeImageSource(grid: grid)).run(into: directory.url.appendingPathComponent("chips"))
        // 490×370 holds 4×3 whole chips of 120.
        #expect(store.count == 12)
        #expect(store.isComplete)
        let record = store.records[5]
        #expect(record.row == 120 && record.column == 120)
        #expect(record.originX == 401_200 && record.originY == 6_598_800)
        // Image: DN + offset (−1000); band-sequential.
        let image = store.image(5)
        #expect(image[0] == UInt16((120 + 120) % 50))
        #expect(image[120 * 120 + 121] == UInt16(100 + (121 + 121) % 50))
        // Labels equal the label source on the chip window.
        let labels = store.labels(5)
        #expect(labels[0] == 41 && labels[119 * 120 + 119] == FakeLabelSource.label(row: 239, column: 239, width: 490))
        #expect(record.classes["41"] == 900)
        #expect(record.labelSet() == [23, 41])
    }

    @Test func statisticsAndHistogramsAreComputed() throws {
        let directory = TemporaryDirectory()
        let configuration = ChipperConfiguration(split: .random(validationFraction: 0, seed: 1))
        let store = try chipper(FakeImageSource(grid: grid), configuration: configuration)
            .run(into: directory.url.appendingPathComponent("chips"))
        let manifest = store.manifest
        #expect(manifest.trainCount == 12 && manifest.validationCount == 0)
        // Band B04 values are (row + column) % 50 over 480×360 pixels, with 0 raised to 1 (0 means no data).
        var sum = 0.0
        for row in 0..<360 { for column in 0..<480 { sum += Double(max((row + column) % 50, 1)) } }
        expectClose(manifest.bandStatistics[0].mean, sum / Double(480 * 360), rtol: 1e-9)
        #expect(manifest.bandStatistics[2].min == 200 && manifest.bandStatistics[2].max == 249)
        let level3 = manifest.classHistograms[2]
        #expect(level3.pixels[41] == 12 * 900)
        #expect(level3.images[41] == 12)
        let level1 = manifest.classHistograms[0]
        #expect(level1.pixels.reduce(0, +) == 12 * 14_400)
        #expect(level1.images[5] == 12)  // water bodies in every chip
    }

    @Test func noDataAndCloudyChipsAreRejected() throws {
        let directory = TemporaryDirectory()
        let image = FakeImageSource(grid: grid)
        image.noDataRows = 0..<60  // half of the first chip row: rejected at the default 20 %
        image.cloudyRows = 250..<262  // 12 of 120 rows of the third chip row: 10 % cloud, kept at ≤ 10 %
        let store = try chipper(image).run(into: directory.url.appendingPathComponent("chips"))
        #expect(store.manifest.rejectedCount == 4)
        #expect(store.count == 8)
        #expect(store.records.allSatisfy { $0.row >= 120 })
        let cloudy = store.records.filter { $0.row == 240 }
        #expect(cloudy.allSatisfy { abs($0.cloudFraction - 0.1) < 1e-9 && abs($0.validFraction - 0.9) < 1e-9 })
    }

    @Test func blockedSplitKeepsBlocksTogether() {
        let rule = SplitRule.blocked(blockSize: 4, validationFraction: 0.3, seed: 7)
        var validation = 0
        for blockRow in 0..<20 {
            for blockColumn in 0..<20 {
                let first = rule.split(product: 0, chipRow: blockRow * 4, chipColumn: blockColumn * 4)
                for r in 0..<4 {
                    for c in 0..<4 {
                        #expect(
                            rule.split(product: 0, chipRow: blockRow * 4 + r, chipColumn: blockColumn * 4 + c) == first)
                    }
                }
                if first == .validation { validation += 1 }
            }
        }
        #expect((80...160).contains(validation), "≈30 % of 400 blocks, got \(validation)")
        let random = SplitRule.random(validationFraction: 0.2, seed: 7)
        let share = (0..<10_000).filter {
            random.split(product: 0, chipRow: $0 / 100, chipColumn: $0 % 100) == .validation
        }
        #expect((1800...2200).contains(share.count))
    }

    @Test func interruptedRunResumesToTheSameResult() throws {
        let directory = TemporaryDirectory()
        let reference = try chipper(FakeImageSource(grid: grid)).run(into: directory.url.appendingPathComponent("a"))

        let failing = FakeImageSource(grid: grid)
        failing.failAtRow = 300  // the third chip row fails
        let output = directory.url.appendingPathComponent("b")
        #expect(throws: ChipStoreError.self) { try chipper(failing).run(into: output) }
        #expect(!FileManager.default.fileExists(atPath: output.path), "no output under the final name")
        let partial = try ChipStore(directory.url.appendingPathComponent("b.partial"))
        #expect(!partial.isComplete && partial.count == 8)

        failing.failAtRow = nil
        let resumed = try chipper(failing).run(into: output)
        #expect(resumed.records == reference.records)
        #expect(resumed.manifest == reference.manifest)
        for name in [ChipStore.FileName.images, ChipStore.FileName.labels] {
            let a = try Data(contentsOf: reference.url.appendingPathComponent(name))
            let b = try Data(contentsOf: resumed.url.appendingPathComponent(name))
            #expect(a == b)
        }
        #expect(!FileManager.default.fileExists(atPath: directory.url.appendingPathComponent("b.partial").path))
    }

    @Test func rerunIsANoOpAndADifferentRunIsRefused() throws {
        let directory = TemporaryDirectory()
        let output = directory.url.appendingPathComponent("chips")
        let first = try chipper(FakeImageSource(grid: grid)).run(into: output)
        let again = try chipper(FakeImageSource(grid: grid)).run(into: output)
        #expect(again.manifest == first.manifest)
        let other = ChipperConfiguration(chipSize: 60)
        let error = #expect(throws: ChipStoreError.self) {
            try chipper(FakeImageSource(grid: grid), configuration: other).run(into: output)
        }
        #expect(error?.description.contains("holds a different run") == true)
        // The first store is intact; --overwrite replaces it.
        #expect(try ChipStore(output).count == 12)
        let replaced = try chipper(FakeImageSource(grid: grid), configuration: other).run(into: output, overwrite: true)
        #expect(replaced.manifest.chipSize == 60 && replaced.count == 48)
    }

    @Test func anEmptyOutputDirectoryIsAccepted() throws {
        let directory = TemporaryDirectory()
        let output = directory.url.appendingPathComponent("chips")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        #expect(try chipper(FakeImageSource(grid: grid)).run(into: output).count == 12)
    }

    @Test func storedValuesAreScaledToTenThousandWhateverTheQuantification() throws {
        let directory = TemporaryDirectory()
        let image = FakeImageSource(grid: grid)
        image.quantification = 1000
        let store = try chipper(image).run(into: directory.url.appendingPathComponent("chips"))
        // DN 1000 + 240 % 50 = 1040, offset −1000 → 40 at quantification 1000 → 400 at 10000.
        #expect(store.image(5)[0] == 400)
    }

    @Test func newerFormatVersionIsRefused() throws {
        let directory = TemporaryDirectory()
        let output = directory.url.appendingPathComponent("chips")
        _ = try chipper(FakeImageSource(grid: grid)).run(into: output)
        let manifestURL = output.appendingPathComponent(ChipStore.FileName.manifest)
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as! [String: Any]
        json["version"] = 99
        try JSONSerialization.data(withJSONObject: json).write(to: manifestURL)
        let error = #expect(throws: ChipStoreError.self) { try ChipStore(output) }
        #expect(error?.description.contains("format version 99 is newer") == true)
    }

    @Test func labelStatisticsFollowThePaperDefinitions() {
        // Three images at some level with labels {1,2}, {2}, {1,2,3}: cardinality 2, |L| = 3, density 2/3.
        let stats = LabelStatistics(nomenclature: "test", classCount: 5, labelSets: [[1, 2], [2], [1, 2, 3]])
        #expect(stats.cardinality == 2)
        #expect(stats.labelsPresent == 3)
        expectClose(stats.density, 2.0 / 3.0)
        #expect(stats.imagesPerClass == [0, 2, 3, 1, 0, 0])
        let empty = LabelStatistics(nomenclature: "test", classCount: 5, labelSets: [[]])
        #expect(empty.cardinality == 0 && empty.density == 0)
    }
}

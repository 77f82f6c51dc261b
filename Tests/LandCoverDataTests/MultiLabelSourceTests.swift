import Foundation
import GeoRaster
import Testing
import TestSupport

@testable import LandCoverData

/// The six real BigEarthNet v1 patches in `../shared/testdata` (read-only).
private let v1Example = TestPaths.sharedTestData("bigearthnet-v1-example")
private let hasV1Example = TestPaths.hasSharedTestData("bigearthnet-v1-example")
private let v1Absent: Comment = "../shared/testdata/bigearthnet-v1-example is absent: BigEarthNet v1 tests skipped"

/// A patch whose JSON reads `"labels": ["Coniferous forest", "Mixed forest", "Transitional woodland/shrub",
/// "Peatbogs", "Water bodies"]`, i.e. CLC 312, 313, 324, 412, 512.
private let forestPatch = "S2B_MSIL2A_20170924T93020_69_24"

/// Writes a one-band UInt16 GeoTIFF, row-major `values` of `side`×`side`.
private func writeTIFF(_ url: URL, side: Int, values: [UInt16]) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let dataset = try Dataset.create(url.path, width: side, height: side, bands: 1, type: .uint16)
    try dataset.band(1).write(values, window: PixelWindow(column: 0, row: 0, width: side, height: side))
    try dataset.close()
}

/// Reads band 1 of a GeoTIFF independently of the sources.
private func readTIFF(_ url: URL) throws -> (side: Int, values: [UInt16]) {
    let dataset = try Dataset.open(url.path)
    let window = PixelWindow(column: 0, row: 0, width: dataset.width, height: dataset.height)
    return (dataset.width, try dataset.band(1).read(window, as: UInt16.self))
}

/// Writes text to a file in `directory`.
@discardableResult
private func write(_ text: String, to name: String, in directory: URL) throws -> URL {
    let url = directory.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url
}

/// A tiny BigEarthNet v2 tree: two tile products, three patches with bands B04 (120²) and B8A (60²).
///
/// Reference maps: patch 0 has 311 (top half), 512 (bottom left), 122 (bottom right) and 999 (last row);
/// patch 1 is all 999; patch 2 has 211 (left half) and 231 (right half).
private struct FakeV2Tree {
    static let tileProducts = [
        "S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP", "S2B_MSIL2A_20180204T094159_N9999_R036_T35VPK",
    ]
    static let patchIDs = [tileProducts[0] + "_26_57", tileProducts[0] + "_26_58", tileProducts[1] + "_10_10"]

    let directory = TemporaryDirectory("landcover-ben-v2")
    var patches: URL { directory.url.appendingPathComponent("BigEarthNet-S2") }
    var referenceMaps: URL { directory.url.appendingPathComponent("Reference_Maps") }

    /// B04 DN at (row, column): 0 (no data) at the origin, else 500 + 7 row + column.
    static func red(_ row: Int, _ column: Int) -> UInt16 {
        row == 0 && column == 0 ? 0 : UInt16(500 + 7 * row + column)
    }
    /// B8A DN at native (60²) pixel (row, column).
    static func nir(_ row: Int, _ column: Int) -> UInt16 { UInt16(2000 + 60 * row + column) }

    static func referenceCode(patch: Int, row: Int, column: Int) -> UInt16 {
        switch patch {
        case 0: row == 119 ? 999 : row < 60 ? 311 : column < 60 ? 512 : 122
        case 1: 999
        default: column < 60 ? 211 : 231
        }
    }

    init() throws {
        for (patch, id) in Self.patchIDs.enumerated() {
            let tileProduct = Self.tileProducts[patch < 2 ? 0 : 1]
            let folder = patches.appendingPathComponent(tileProduct).appendingPathComponent(id)
            let grid = (0..<120).flatMap { row in (0..<120).map { (row, $0) } }
            try writeTIFF(folder.appendingPathComponent("\(id)_B04.tif"), side: 120, values: grid.map(Self.red))
            let coarse = (0..<60).flatMap { row in (0..<60).map { (row, $0) } }
            try writeTIFF(folder.appendingPathComponent("\(id)_B8A.tif"), side: 60, values: coarse.map(Self.nir))
            let map = grid.map { Self.referenceCode(patch: patch, row: $0.0, column: $0.1) }
            try writeTIFF(
                referenceMaps.appendingPathComponent(tileProduct).appendingPathComponent(id)
                    .appendingPathComponent("\(id)_reference_map.tif"), side: 120, values: map)
        }
    }
}

/// Labels by position inside every 120×120 chip: 211 in rows 0..<12 of columns 0..<48 (4 %), 311 in the rest
/// of columns 0..<48 (36 %), 312 in columns 48..<96 (40 %), 512 in columns 96..<120 (20 %).
private final class StripedLabelSource: ChipLabelSource {
    let path = "/fake/striped.tif"
    let grid: RasterGrid
    init(grid: RasterGrid) { self.grid = grid }

    static func label(row: Int, column: Int) -> UInt8 {
        let (row, column) = (row % 120, column % 120)
        if column < 48 { return row < 12 ? 12 : 23 }
        return column < 96 ? 24 : 41
    }

    func labels(on target: RasterGrid) throws -> [UInt8] {
        let origin = grid.geoTransform.pixel(x: target.geoTransform.originX, y: target.geoTransform.originY)
        let top = Int(origin.row.rounded())
        let left = Int(origin.column.rounded())
        return (0..<target.height).flatMap { y in (0..<target.width).map { Self.label(row: top + y, column: left + $0) }
        }
    }

    func overlaps(_ grid: RasterGrid) throws -> Bool { true }
}

/// An in-memory source of 2×2 images with two bands, for hand-checked statistics.
private final class TinySource: MultiLabelSource {
    let images: [[Float]]
    let bands: [SpectralBand] = [.b04, .b08]
    let size = 2
    let nomenclature = Nomenclature.corineLevel1
    init(images: [[Float]]) { self.images = images }

    var count: Int { images.count }
    func identifier(at index: Int) -> String { "tiny\(index)" }
    func split(at index: Int) -> ChipSplit? { index == 0 ? .train : index == 1 ? .validation : nil }
    func labels(at index: Int) -> [Int] { index == 0 ? [1, 3] : [] }
    func readImage(at index: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        for i in 0..<buffer.count { buffer[i] = images[index][i] }
    }
}

@Suite struct MultiLabelSourceTests {
    // MARK: BigEarthNet v1 (real example)

    @Test(
        .enabled(if: hasV1Example, v1Absent),
        arguments: [
            // Coniferous, mixed, transitional woodland, inland wetlands, inland waters.
            ("bigearthnet-19", [10, 11, 14, 16, 18]),
            ("bigearthnet-43", [24, 25, 29, 35, 40]),  // 43-label order skips 335, so 412 is 35 and 512 is 40
            ("corine-l3", [24, 25, 29, 36, 41]),  // grid codes of 312, 313, 324, 412, 512
            ("corine-l2", [9, 10, 12, 14]),  // 31 forests, 32 scrub, 41 inland wetlands, 51 inland waters
            ("corine-l1", [3, 4, 5]),  // forest and semi-natural, wetlands, water bodies
        ])
    func v1LabelsFollowTheNomenclature(nomenclatureID: String, expected: [Int]) throws {
        let nomenclature = try #require(Nomenclature.named(nomenclatureID))
        let source = try BigEarthNetV1Source(root: v1Example, nomenclature: nomenclature)
        #expect(source.count == 6)
        #expect(source.size == 120 && source.bands == SpectralBand.rgb)
        #expect((0..<6).map(source.identifier(at:)) == (0..<6).map(source.identifier(at:)).sorted())
        let index = try #require((0..<source.count).first { source.identifier(at: $0) == forestPatch })
        #expect(source.labels(at: index) == expected)
        let vector = source.labelVector(at: index)
        #expect(vector.count == nomenclature.count)
        #expect(vector.indices.filter { vector[$0] == 1 }.map { $0 + 1 } == expected)
        #expect(vector.reduce(0, +) == Float(expected.count))
        for patch in 0..<source.count {
            #expect(!source.labels(at: patch).isEmpty, "every example patch has a class kept by \(nomenclatureID)")
            #expect(source.split(at: patch) == nil)
        }
    }

    @Test(.enabled(if: hasV1Example, v1Absent))
    func v1ImagesAreDNOverTenThousandWithCoarseBandsReplicated() throws {
        let source = try BigEarthNetV1Source(root: v1Example, bands: [.b04, .b05, .b01])
        let index = try #require((0..<source.count).first { source.identifier(at: $0) == forestPatch })
        let image = try source.image(at: index)
        #expect(image.count == 3 * 120 * 120)
        let folder = v1Example.appendingPathComponent(forestPatch)

        let red = try readTIFF(folder.appendingPathComponent("\(forestPatch)_B04.tif"))
        #expect(red.side == 120)
        #expect((0..<14_400).allSatisfy { image[$0] == Float(red.values[$0]) / 10_000 })
        expectClose(Double(image[0]), Double(red.values[0]) / 10_000, rtol: 1e-6)

        let redEdge = try readTIFF(folder.appendingPathComponent("\(forestPatch)_B05.tif"))
        let aerosol = try readTIFF(folder.appendingPathComponent("\(forestPatch)_B01.tif"))
        #expect(redEdge.side == 60 && aerosol.side == 20)
        for row in 0..<120 {
            for column in 0..<120 {
                let pixel = row * 120 + column
                #expect(image[14_400 + pixel] == Float(redEdge.values[(row / 2) * 60 + column / 2]) / 10_000)
                #expect(image[28_800 + pixel] == Float(aerosol.values[(row / 6) * 20 + column / 6]) / 10_000)
            }
        }
        // One 20 m pixel covers a 2×2 block of the 10 m grid.
        #expect(image[14_400 + 120 * 10 + 10] == image[14_400 + 120 * 11 + 11])
        #expect(image[14_400] != 0)
    }

    @Test(.enabled(if: hasV1Example, v1Absent))
    func v1ExclusionListsAndOfficialSplitFiles() throws {
        let directory = TemporaryDirectory()
        let all = try BigEarthNetV1Source(root: v1Example)
        let names = (0..<all.count).map(all.identifier(at:))

        // A published-style list (one name per line) and a CSV whose first column is the name.
        let snow = try write("\(names[0])\n\n", to: "snow.csv", in: directory.url)
        let cloud = try write("patch_name,reason\r\n\"\(names[5])\",cloud\r\n", to: "cloud.csv", in: directory.url)
        let excluded = try BigEarthNet.readPatchList(snow).union(BigEarthNet.readPatchList(cloud))
        #expect(excluded.isSuperset(of: [names[0], names[5]]))
        let kept = try BigEarthNetV1Source(root: v1Example, excluding: excluded)
        #expect(kept.count == 4)
        #expect((0..<kept.count).map(kept.identifier(at:)) == Array(names[1...4]))

        // The official v1 split files: `s2_name,s1_name` per line, one file per split.
        let splits = directory.url.appendingPathComponent("splits")
        try write("\(names[1]),S1A_x\n\(names[2]),S1A_y\n", to: "train.csv", in: splits)
        try write("\(names[3]),S1A_z\n", to: "val.csv", in: splits)
        try write("\(names[4]),S1B_w\n", to: "test.csv", in: splits)
        let split = try BigEarthNetV1Source(root: v1Example, splitFile: splits, excluding: excluded)
        #expect((0..<4).map(split.split(at:)) == [.train, .train, .validation, nil])
        #expect((0..<4).map(split.patchSplit(at:)) == [.train, .train, .validation, .test])
        #expect(split.indices(in: .train) == [0, 1] && split.indices(in: .validation) == [2])
    }

    @Test func v1RejectsUnknownLabelsAndBandB10() throws {
        let directory = TemporaryDirectory()
        let patch = "S2A_MSIL2A_20170613T101031_1_1"
        try write(
            #"{"labels": ["Glaciers and perpetual snow"]}"#, to: "\(patch)/\(patch)_labels_metadata.json",
            in: directory.url)
        let error = #expect(throws: MultiLabelSourceError.self) { try BigEarthNetV1Source(root: directory.url) }
        #expect(error?.description.contains("\"Glaciers and perpetual snow\" is not a BigEarthNet-43 label") == true)
        #expect(throws: MultiLabelSourceError.self) { try BigEarthNetV1Source(root: directory.url, bands: [.b10]) }
    }

    // MARK: BigEarthNet v2 (fake tree)

    @Test(arguments: [
        ("bigearthnet-19", [[9, 18], [], [3, 5]]),  // 122 is dropped from the 19 classes
        ("corine-l3", [[4, 23, 41], [], [12, 18]]),
        ("corine-l2", [[2, 9, 14], [], [5, 7]]),
        ("corine-l1", [[1, 3, 5], [], [2]]),
    ])
    func v2LabelsComeFromTheReferenceMaps(nomenclatureID: String, expected: [[Int]]) throws {
        let tree = try FakeV2Tree()
        let nomenclature = try #require(Nomenclature.named(nomenclatureID))
        let source = try BigEarthNetV2Source(
            patches: tree.patches, referenceMaps: tree.referenceMaps, nomenclature: nomenclature)
        #expect(source.count == 3)
        #expect((0..<3).map(source.identifier(at:)) == FakeV2Tree.patchIDs)
        #expect(source.tileProduct(at: 2) == FakeV2Tree.tileProducts[1])
        #expect((0..<3).map(source.labels(at:)) == expected)
        #expect(source.labelVector(at: 1) == [Float](repeating: 0, count: nomenclature.count))
    }

    @Test func v2SplitExclusionReferenceMapAndImage() throws {
        let tree = try FakeV2Tree()
        let ids = FakeV2Tree.patchIDs
        // As written by the pandas one-liner: header, then `patch_id,split`.
        let splitFile = try write(
            "patch_id,split\n\(ids[0]),train\n\(ids[1]),validation\n\(ids[2]),test\n", to: "split.csv",
            in: tree.directory.url)
        let source = try BigEarthNetV2Source(
            patches: tree.patches, referenceMaps: tree.referenceMaps, bands: [.b04, .b8A], splitFile: splitFile,
            offset: -1000)
        #expect((0..<3).map(source.split(at:)) == [.train, .validation, nil])
        #expect((0..<3).map(source.patchSplit(at:)) == [.train, .validation, .test])
        #expect(source.indices(in: .validation) == [1])

        let map = try source.referenceMap(at: 0)
        #expect(map.count == 120 * 120)
        #expect(map[0] == 23 && map[60 * 120] == 41 && map[60 * 120 + 60] == 4 && map[119 * 120 + 100] == 0)
        #expect(try source.referenceMap(at: 1).allSatisfy { $0 == 0 })

        let image = try source.image(at: 2)
        #expect(image[0] == 0, "DN 0 stays no data")
        #expect(image[1] == Float(1) / 10_000, "DN 501 − 1000 is clamped to 1 so that only no data is 0")
        #expect(image[119 * 120 + 119] == Float(500 + 7 * 119 + 119 - 1000) / 10_000)
        for row in 0..<120 {
            for column in 0..<120 {
                let expected = Float(Int(FakeV2Tree.nir(row / 2, column / 2)) - 1000) / 10_000
                #expect(image[14_400 + row * 120 + column] == expected)
            }
        }

        let kept = try BigEarthNetV2Source(
            patches: tree.patches, referenceMaps: tree.referenceMaps, excluding: [ids[1]])
        #expect((0..<kept.count).map(kept.identifier(at:)) == [ids[0], ids[2]])
        #expect(kept.labels(at: 1) == [3, 5])
    }

    /// BigEarthNet v2 reference maps serve as segmentation labels: each pixel's class at the source's level.
    @Test func v2PixelLabelsForSegmentation() throws {
        let tree = try FakeV2Tree()
        let source: any SegmentationSource = try BigEarthNetV2Source(
            patches: tree.patches, referenceMaps: tree.referenceMaps, nomenclature: .corineLevel1)
        let pixels = try source.pixelLabels(at: 0)
        // 311 forest → 3, 512 water bodies → 5, 122 road and rail → 1, 999 (no data) → 0.
        #expect(pixels[0] == 3 && pixels[60 * 120] == 5 && pixels[60 * 120 + 60] == 1 && pixels[119 * 120] == 0)
    }

    @Test func splitFilesRejectUnknownSplitsAndContradictions() throws {
        let directory = TemporaryDirectory()
        let bad = try write("a,train\nb,holdout\n", to: "bad.csv", in: directory.url)
        let error = #expect(throws: MultiLabelSourceError.self) { try BigEarthNet.readSplits(bad) }
        #expect(error?.description.contains("bad.csv:2") == true)
        let twice = try write("a,train\na,test\n", to: "twice.csv", in: directory.url)
        #expect(throws: MultiLabelSourceError.self) { try BigEarthNet.readSplits(twice) }
        let fine = try write("a,val\nb,TEST\n", to: "fine.csv", in: directory.url)
        #expect(try BigEarthNet.readSplits(fine) == ["a": .validation, "b": .test])
    }

    // MARK: Chip stores

    @Test func chipStoreLabelsAggregateToTheLevelBeforeTheShareThreshold() throws {
        let directory = TemporaryDirectory()
        let grid = RasterGrid(
            crsWKT: try CRS(epsg: 32635).wkt,
            geoTransform: GeoTransform(originX: 400_000, originY: 6_600_000, pixelWidth: 10, pixelHeight: -10),
            width: 240, height: 120)
        let chipper = Chipper(
            image: FakeImageSource(grid: grid), labels: StripedLabelSource(grid: grid),
            configuration: ChipperConfiguration(split: .random(validationFraction: 0.5, seed: 3)))
        let store = try chipper.run(into: directory.url.appendingPathComponent("chips"))
        #expect(store.count == 2)

        // Shares: 211 4 %, 311 36 %, 312 40 %, 512 20 %; at level 2 forests (31) hold 76 %, at level 1 class 3 too.
        let cases: [(CorineLevel, Double, [Int])] = [
            (.level3, 0, [12, 23, 24, 41]), (.level2, 0, [5, 9, 14]), (.level1, 0, [2, 3, 5]),
            (.level3, 0.05, [23, 24, 41]), (.level2, 0.05, [9, 14]), (.level1, 0.05, [3, 5]),
            (.level3, 0.5, []), (.level2, 0.5, [9]), (.level1, 0.5, [3]),
        ]
        for (level, share, expected) in cases {
            let source = try ChipStoreSource(store: store, level: level, minimumShare: share)
            #expect(source.nomenclature == .corine(level))
            for chip in 0..<2 {
                #expect(source.labels(at: chip) == expected, "level \(level.rawValue), share \(share)")
            }
        }
        let bigEarthNet = try ChipStoreSource(store: store, nomenclature: .bigEarthNet19, minimumShare: 0.05)
        #expect(bigEarthNet.labels(at: 0) == [9, 10, 18])

        let source = try ChipStoreSource(store: store, level: .level1)
        #expect(source.bands == [.b04, .b03, .b02] && source.size == 120 && source.count == 2)
        #expect((0..<2).map(source.split(at:)) == store.records.map(\.split))
        #expect(source.identifier(at: 1) == "FAKE_MSIL1C_0_120")
        let image = try source.image(at: 1)
        let stored = store.image(1)
        #expect(image.count == stored.count)
        #expect(stored.indices.allSatisfy { image[$0] == Float(stored[$0]) / 10_000 })
    }

    // MARK: Statistics

    @Test func channelStatisticsSkipNoDataAndMatchHandComputedValues() throws {
        // Band 0 holds 0 (no data), 1, 2, 3 and 4, 0, 0, 5; band 1 is 0.5 wherever it is not 0.
        let source = TinySource(images: [
            [0, 1, 2, 3, 0.5, 0.5, 0, 0.5],
            [4, 0, 0, 5, 0.5, 0, 0.5, 0.5],
            [9, 9, 9, 9, 9, 9, 9, 9],
        ])
        let statistics = try ChannelStatistics.compute(from: source, indices: [0, 1])
        // Band 0 over {1, 2, 3, 4, 5}: mean 3, population variance 2.
        expectClose(Double(statistics.mean[0]), 3, rtol: 1e-6)
        expectClose(Double(statistics.std[0]), 2.0.squareRoot(), rtol: 1e-6)
        expectClose(Double(statistics.mean[1]), 0.5, rtol: 1e-6)
        #expect(statistics.std[1] == 0)

        // With zeros: band 0 over {0, 1, 2, 3, 4, 0, 0, 5}: mean 15/8, variance 55/8 − (15/8)².
        let withZeros = try ChannelStatistics.compute(from: source, indices: [0, 1], ignoringNoData: false)
        expectClose(Double(withZeros.mean[0]), 15.0 / 8, rtol: 1e-6)
        expectClose(Double(withZeros.std[0]), (55.0 / 8 - 225.0 / 64).squareRoot(), rtol: 1e-6)

        let json = try JSONEncoder().encode(statistics)
        #expect(try JSONDecoder().decode(ChannelStatistics.self, from: json) == statistics)

        var image: [Float] = [0, 1, 3, 5, 0.5, 0, 0.5, 0.5]
        image.withUnsafeMutableBufferPointer { statistics.normalize($0) }
        expectClose(Double(image[1]), -2 / 2.0.squareRoot(), rtol: 1e-6)
        expectClose(Double(image[3]), 2 / 2.0.squareRoot(), rtol: 1e-6)
        #expect(image[0] == 0 && image[2] == 0 && image[4] == 0 && image[5] == 0)
    }

    @Test func protocolExtensionsUseLabelsAndSplits() throws {
        let source = TinySource(images: [[Float](repeating: 1, count: 8), [], []])
        #expect(source.labelVector(at: 0) == [1, 0, 1, 0, 0])
        #expect(source.labelVector(at: 1) == [0, 0, 0, 0, 0])
        #expect(source.indices(in: .train) == [0] && source.indices(in: .validation) == [1])
        #expect(try source.image(at: 0) == [Float](repeating: 1, count: 8))
    }
}

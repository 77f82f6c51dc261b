import Foundation
import GeoRaster
import LandCoverData
import Mapping
import TestSupport
import Testing

@Suite("Agreement with CORINE and change between dates")
struct ChangeAnalysisTests {
    // Level-1 indices on a 4×4 grid of 10 m pixels (0.01 ha each).
    let map: [UInt8] = [
        1, 1, 2, 2,
        1, 1, 2, 2,
        3, 3, 0, 4,
        3, 3, 5, 5,
    ]
    let reference: [UInt8] = [
        1, 1, 1, 2,
        1, 1, 1, 2,
        3, 3, 3, 4,
        0, 3, 5, 5,
    ]

    @Test func agreementRasterMatrixAndHotspotsByHand() throws {
        let grid = try MapFixtures.grid(width: 4, height: 4)
        let analysis = try ChangeAnalysis.compare(
            map: map, reference: reference, grid: grid, nomenclature: .corine(.level1), hotspotCellSize: 20)
        #expect(
            analysis.raster == [
                1, 1, 2, 1,
                1, 1, 2, 1,
                1, 1, 0, 1,
                0, 1, 1, 1,
            ])
        let summary = analysis.summary
        #expect(summary.kind == .agreement)
        #expect(summary.comparedPixels == 14)
        #expect(summary.agreeingPixels == 12)
        #expect(summary.noDataPixels == 2)
        expectClose(summary.agreementShare, 12.0 / 14.0)
        expectClose(summary.pixelHectares, 0.01)
        expectClose(summary.comparedHectares, 0.14)
        // Rows: CORINE; columns: map.
        let expected: [[Double]] = [
            [0.04, 0.02, 0, 0, 0],
            [0, 0.02, 0, 0, 0],
            [0, 0, 0.03, 0, 0],
            [0, 0, 0, 0.01, 0],
            [0, 0, 0, 0, 0.02],
        ]
        for (row, expectedRow) in zip(summary.transitionHectares, expected) {
            for (value, expectedValue) in zip(row, expectedRow) { expectClose(value, expectedValue, atol: 1e-12) }
        }
        #expect(summary.transitionPixels[0] == [4, 2, 0, 0, 0])
        let artificial = summary.perClass[0]
        expectClose(artificial.referenceHectares, 0.06)
        expectClose(artificial.mapHectares, 0.04)
        expectClose(artificial.agreeingHectares, 0.04)
        #expect(summary.largestTransitions.count == 1)
        #expect(summary.largestTransitions.first?.from.code == 1)
        #expect(summary.largestTransitions.first?.to.code == 2)

        // 20 m cells: only the top-right cell differs, half of it.
        let hotspot = try #require(summary.hotspots.first)
        #expect(summary.hotspots.count == 1)
        #expect(hotspot.window == PixelWindow(column: 2, row: 0, width: 2, height: 2))
        expectClose(hotspot.share, 0.5)
        expectClose(hotspot.centerX, 500_030)
        expectClose(hotspot.centerY, 4_599_990)
        #expect(hotspot.dominantTransition?.from.name == "Artificial surfaces")
        #expect(hotspot.dominantTransition?.to.name == "Agricultural areas")
        #expect(hotspot.dominantTransition?.pixels == 2)
    }

    @Test func confidenceThresholdLeavesPixelsOut() throws {
        let grid = try MapFixtures.grid(width: 4, height: 4)
        var confidence = [UInt8](repeating: 90, count: 16)
        confidence[2] = 40
        confidence[15] = 255
        let analysis = try ChangeAnalysis.compare(
            map: map, reference: reference, grid: grid, nomenclature: .corine(.level1), confidence: confidence,
            confidenceThreshold: 50)
        #expect(analysis.raster[2] == 0)
        #expect(analysis.raster[6] == 2)
        #expect(analysis.raster[15] == 0)
        #expect(analysis.summary.lowConfidencePixels == 2)
        #expect(analysis.summary.comparedPixels == 12)
        #expect(analysis.summary.transitionPixels[0][1] == 1)
        #expect(analysis.summary.transitionPixels[4][4] == 1)
        // Without a threshold the confidence is ignored.
        let all = try ChangeAnalysis.compare(
            map: map, reference: reference, grid: grid, nomenclature: .corine(.level1), confidence: confidence)
        #expect(all.summary.comparedPixels == 14)
    }

    @Test func twoDatesGiveAChangeRasterAndReports() throws {
        let directory = TemporaryDirectory()
        let grid = try MapFixtures.grid(width: 4, height: 4)
        let analysis = try ChangeAnalysis.compare(
            earlier: reference, later: map, grid: grid, nomenclature: .corine(.level1),
            earlierConfidence: [UInt8](repeating: 80, count: 16),
            laterConfidence: (0..<16).map { $0 == 0 ? 10 : 80 }, confidenceThreshold: 50)
        #expect(analysis.summary.kind == .change)
        #expect(analysis.raster[0] == 0 && analysis.raster[1] == 1 && analysis.raster[2] == 2)
        #expect(analysis.summary.transitionPixels[0][0] == 3)

        let json = try analysis.summary.json()
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["kind"] as? String == "change")
        #expect((object["transitionHectares"] as? [[Double]])?.count == 5)
        let markdown = analysis.summary.markdown()
        #expect(markdown.contains("# Land-cover change (corine-l1)"))
        #expect(markdown.contains("| 1 Artificial surfaces | 2 Agricultural areas | 0.02 |"))

        let options = LandCoverMapWriter.Options(blockSize: 128)
        let files = try analysis.writeRaster(to: directory.path("change.tif"), options: options)
        let dataset = try Dataset.open(files.map)
        #expect(dataset.metadata(domain: "IMAGE_STRUCTURE")["LAYOUT"] == "COG")
        #expect(dataset.metadata()["NOMENCLATURE"] == "change")
        #expect(try dataset.band(1).read(grid.fullWindow) == analysis.raster)
        #expect(try MapFixtures.categoryNames(files.map)[safe: 2] == "Change")
        #expect(MapFixtures.parseXML(files.style)?.entries.count == 2)
    }

    @Test func rejectsMismatchedRasters() throws {
        let grid = try MapFixtures.grid(width: 4, height: 4)
        #expect(throws: MappingError.self) {
            try ChangeAnalysis.compare(
                map: map, reference: Array(reference.prefix(8)), grid: grid, nomenclature: .corine(.level1))
        }
        #expect(throws: MappingError.self) {
            try ChangeAnalysis.compare(
                map: map.map { $0 == 5 ? 9 : $0 }, reference: reference, grid: grid, nomenclature: .corine(.level1))
        }
    }
}

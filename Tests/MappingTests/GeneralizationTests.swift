import Foundation
import GeoRaster
import LandCoverData
import Mapping
import TestSupport
import Testing

@Suite("Minimum mapping unit and polygons")
struct GeneralizationTests {
    /// Background 12 (211) with a 20×20 patch of 23 (4 ha), a 60×60 patch of 24 (36 ha) and a no-data corner.
    func landscape() -> [UInt8] {
        var classes = [UInt8](repeating: 12, count: 256 * 256)
        for row in 20..<40 { for column in 20..<40 { classes[row * 256 + column] = 23 } }
        for row in 100..<160 { for column in 100..<160 { classes[row * 256 + column] = 24 } }
        for row in 240..<256 { for column in 240..<256 { classes[row * 256 + column] = 0 } }
        return classes
    }

    @Test func thresholdIsTheAreaInPixels() throws {
        let grid = try MapFixtures.grid()
        #expect(Generalization.threshold(minimumAreaHectares: 25, grid: grid) == 2500)
        #expect(Generalization.threshold(minimumAreaHectares: 0.5, grid: grid) == 50)
        #expect(Generalization.threshold(minimumAreaHectares: 0.0105, grid: grid) == 2)
    }

    @Test func sieveRemovesSmallPatchesAndKeepsLargeOnes() throws {
        let grid = try MapFixtures.grid()
        let sieved = try Generalization.generalize(classes: landscape(), grid: grid, minimumAreaHectares: 25)
        #expect(sieved[30 * 256 + 30] == 12, "the 4 ha patch merges into its surroundings")
        #expect(!sieved.contains(23))
        #expect(sieved.filter { $0 == 24 }.count == 3600, "the 36 ha patch stays whole")
        #expect(sieved.filter { $0 == 0 }.count == 256, "no data stays no data")
        // A smaller unit keeps the 4 ha patch.
        let kept = try Generalization.generalize(classes: landscape(), grid: grid, minimumAreaHectares: 4)
        #expect(kept.filter { $0 == 23 }.count == 400)
        let removed = try Generalization.generalize(classes: landscape(), grid: grid, minimumAreaHectares: 4.01)
        #expect(removed.filter { $0 == 23 }.isEmpty)
    }

    @Test func connectivityDecidesWhetherDiagonalPixelsFormOnePatch() throws {
        let grid = try MapFixtures.grid(width: 64, height: 64)
        var classes = [UInt8](repeating: 12, count: 64 * 64)
        // A diagonal line of 30 pixels of 23: 30 one-pixel patches (4-connected) or one of 30 (8-connected).
        for i in 10..<40 { classes[i * 64 + i] = 23 }
        let four = try Generalization.generalize(
            classes: classes, grid: grid, minimumAreaHectares: 0.2, connectivity: 4)
        let eight = try Generalization.generalize(
            classes: classes, grid: grid, minimumAreaHectares: 0.2, connectivity: 8)
        #expect(!four.contains(23))
        #expect(eight.filter { $0 == 23 }.count == 30)
    }

    @Test func generalizesAMapFileKeepingLegendAndProvenance() throws {
        let directory = TemporaryDirectory()
        let grid = try MapFixtures.grid()
        let writer = LandCoverMapWriter(nomenclature: .corine(.level3), options: MapFixtures.options())
        try writer.write(classes: landscape(), grid: grid, to: directory.path("map.tif"), provenance: ["MODEL": "m1"])
        let files = try Generalization.generalize(
            mapPath: directory.path("map.tif"), to: directory.path("mmu.tif"), options: MapFixtures.options())
        let map = try ClassMap.read(files.map)
        #expect(map.nomenclature == .corine(.level3))
        #expect(map.grid == grid)
        #expect(map.provenance["MODEL"] == "m1")
        #expect(map.provenance["MINIMUM_MAPPING_UNIT_HA"] == "25.0")
        #expect(!map.classes.contains(23))
        #expect(try MapFixtures.categoryNames(files.map)[safe: 24] == "312 Coniferous forest")
    }

    @Test func polygonizesWithCodesAndNamesAtThreeLevels() throws {
        let directory = TemporaryDirectory()
        let grid = try MapFixtures.grid()
        let path = directory.path("polygons.gpkg")
        let count = try Generalization.polygonize(
            classes: landscape(), grid: grid, nomenclature: .corine(.level3), to: path)
        #expect(count == 3, "background, two patches; no polygon for no data")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["polygons.gpkg"])

        let vector = try Dataset.openVector(path)
        let info = try #require(vector.vectorLayers.first)
        #expect(info.name == "landcover")
        #expect(info.featureCount == 3)
        for field in Generalization.polygonFields { #expect(info.fields.contains(field), "\(field)") }
        #expect(info.crsWKT.map { try? CRS($0).epsg } == 32635)
        let extent = try #require(info.extent)
        expectClose(extent.minX, 500_000)
        expectClose(extent.maxY, 4_600_000)

        let layer = try #require(vector.layer(named: "landcover"))
        let features = layer.features()
        let forest = try #require(features.first { $0.fields["class_index"] == "23" })
        #expect(forest.fields["clc_code"] == "311")
        #expect(forest.fields["level1"] == "Forest and semi natural areas")
        #expect(forest.fields["level2"] == "Forests")
        #expect(forest.fields["level3"] == "Broad-leaved forest")
        expectClose(forest.area, 400 * 100)
        let coniferous = try #require(features.first { $0.fields["class_index"] == "24" })
        #expect(coniferous.fields["clc_code"] == "312")
        expectClose(coniferous.area, 3600 * 100)
        let arable = try #require(features.first { $0.fields["class_index"] == "12" })
        #expect(arable.fields["level3"] == "Non-irrigated arable land")
        expectClose(arable.area, Double(256 * 256 - 400 - 3600 - 256) * 100)

        #expect(throws: MappingError.self) {
            try Generalization.polygonize(classes: landscape(), grid: grid, nomenclature: .corine(.level3), to: path)
        }
    }

    @Test func polygonsOfACoarserLevelLeaveFinerNamesEmpty() throws {
        let directory = TemporaryDirectory()
        let grid = try MapFixtures.grid()
        let level2 = Nomenclature.corine(.level2)
        let classes = landscape().map { level2.level3LookupTable[Int($0)] }
        let path = directory.path("l2.gpkg")
        #expect(try Generalization.polygonize(classes: classes, grid: grid, nomenclature: level2, to: path) == 3)
        let layer = try #require(try Dataset.openVector(path).layer(named: "landcover"))
        let forests = try #require(layer.features().first { $0.fields["class_index"] == "9" })
        #expect(forests.fields["clc_code"] == "31")
        #expect(forests.fields["level1"] == "Forest and semi natural areas")
        #expect(forests.fields["level2"] == "Forests")
        #expect(forests.fields["level3"] == .some(nil))
    }
}

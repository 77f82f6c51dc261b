import Foundation
import GeoRaster
import LandCoverData
import Mapping
import TestSupport
import Testing

@Suite("STAC item")
struct StacItemTests {
    @Test func describesTheMapAssets() throws {
        let grid = try MapFixtures.grid()
        let writer = LandCoverMapWriter(nomenclature: .corine(.level3))
        let files = MapFiles(map: "/data/maps/T35TLF_2023.tif", confidence: true)
        let sensing = try #require(ISO8601DateFormatter().date(from: "2023-07-04T09:05:59Z"))
        let data = try writer.stacItem(
            id: "T35TLF_2023", files: files, grid: grid, datetime: sensing, provenance: ["MODEL": "unet"])
        let item = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(item["type"] as? String == "Feature")
        #expect(item["stac_version"] as? String == "1.0.0")
        #expect(item["id"] as? String == "T35TLF_2023")
        #expect((item["links"] as? [Any]) != nil)
        let extensions = try #require(item["stac_extensions"] as? [String])
        #expect(
            extensions.contains { $0.contains("/classification/") }
                && extensions.contains { $0.contains("/projection/") })

        // Footprint in longitude/latitude: UTM 35N easting 500 000 lies on 27° E.
        let bbox = try #require(item["bbox"] as? [Double])
        #expect(bbox.count == 4)
        #expect(bbox[0] >= 26.99 && bbox[0] <= 27.0001 && bbox[2] > 27 && bbox[2] < 27.05)
        #expect(bbox[1] > 41.5 && bbox[3] < 41.6 && bbox[1] < bbox[3])
        let geometry = try #require(item["geometry"] as? [String: Any])
        #expect(geometry["type"] as? String == "Polygon")
        let ring = try #require((geometry["coordinates"] as? [[[Double]]])?.first)
        #expect(ring.count == 5 && ring.first == ring.last)
        for point in ring {
            #expect(point[0] >= bbox[0] - 1e-9 && point[0] <= bbox[2] + 1e-9)
            #expect(point[1] >= bbox[1] - 1e-9 && point[1] <= bbox[3] + 1e-9)
        }

        let properties = try #require(item["properties"] as? [String: Any])
        #expect((properties["datetime"] as? String)?.hasPrefix("2023-07-04T09:05:59") == true)
        #expect(properties["proj:epsg"] as? Int == 32635)
        #expect(properties["proj:shape"] as? [Int] == [256, 256])
        #expect(properties["proj:transform"] as? [Double] == [10, 0, 500_000, 0, -10, 4_600_000])
        #expect(properties["landcover:model"] as? String == "unet")

        let assets = try #require(item["assets"] as? [String: [String: Any]])
        let map = try #require(assets["data"])
        #expect(map["href"] as? String == "T35TLF_2023.tif")
        #expect(map["roles"] as? [String] == ["data"])
        #expect(assets["style"]?["href"] as? String == "T35TLF_2023.qml")
        #expect(assets["aux"]?["roles"] as? [String] == ["metadata"])
        #expect(assets["confidence"]?["href"] as? String == "T35TLF_2023.confidence.tif")
        let classes = try #require(map["classification:classes"] as? [[String: Any]])
        #expect(classes.count == 45)
        let forest = try #require(classes.first { $0["value"] as? Int == 23 })
        #expect(forest["description"] as? String == "311 Broad-leaved forest")
        #expect(forest["name"] as? String == "clc_311_broad_leaved_forest")
        #expect(forest["color_hint"] as? String == "80FF00")
        #expect(classes.first?["nodata"] as? Bool == true)
    }
}

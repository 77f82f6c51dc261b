import Foundation
import Mapping
import Testing

@Suite struct GranuleBatchNamingTests {
    static let first = "/data/S2B_MSIL1C_20180510T094029_N0500_R036_T35VMF_20230104T000000.SAFE"
    static let sameDayOtherPass = "/data/S2A_MSIL2A_20180510T101031_N0206_R022_T35VMF_20180510T120000.SAFE"

    @Test func namesAreTileAndDateFromTheProductName() throws {
        let names = try GranuleBatch.granuleNames([
            Self.first, "/data/S2A_MSIL2A_20190704T094031_N0500_R036_T34VFL_20230101T000000.zip",
            "/data/S2B_MSIL1C_20180520T094029_N0500_R036_T35VMF_20230104T000000.SAFE/MTD_MSIL1C.xml",
        ])
        #expect(names == ["T35VMF_20180510", "T34VFL_20190704", "T35VMF_20180520"])
    }

    @Test func twoProductsOfOneTileAndDayGetTheirTimes() throws {
        let names = try GranuleBatch.granuleNames([Self.first, Self.sameDayOtherPass])
        #expect(names == ["T35VMF_20180510T094029", "T35VMF_20180510T101031"])
    }

    @Test func otherNamesKeepTheirStemAndDuplicatesAreRefused() throws {
        #expect(try GranuleBatch.granuleNames(["/data/my-scene.SAFE", "scene2"]) == ["my-scene", "scene2"])
        #expect(throws: MappingError.self) { try GranuleBatch.granuleNames([Self.first, Self.first]) }
        #expect(throws: MappingError.self) { try GranuleBatch.granuleNames(["/a/x.SAFE", "/b/x.zip"]) }
    }
}

import Foundation
import LandCoverData
import Testing

/// `<repo>/../shared/testdata/bigearthnet-v1-example`: real BigEarthNet v1 patches, outside the repository.
private let bigEarthNetExampleDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // LandCoverDataTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()  // repository root
    .deletingLastPathComponent()
    .appendingPathComponent("shared/testdata/bigearthnet-v1-example")

@Suite struct NomenclatureTests {
    // MARK: CORINE legend

    @Test func classCountsPerLevel() {
        #expect(Corine.classes.count == 44)
        #expect(Nomenclature.corineLevel3.count == 44)
        #expect(Nomenclature.corineLevel2.count == 15)
        #expect(Nomenclature.corineLevel1.count == 5)
        #expect(Nomenclature.corineLevel1.codes == [1, 2, 3, 4, 5])
        #expect(Nomenclature.corineLevel2.codes == [11, 12, 13, 14, 21, 22, 23, 24, 31, 32, 33, 41, 42, 51, 52])
        #expect(Nomenclature.corineLevel2.names[0] == "Urban fabric")
        #expect(Nomenclature.corineLevel1.names[2] == "Forest and semi natural areas")
    }

    @Test func classesAreInGridCodeAndCodeOrder() {
        #expect(Corine.classes.map(\.gridCode) == Array(1...44))
        #expect(zip(Corine.classes, Corine.classes.dropFirst()).allSatisfy { $0.code < $1.code })
    }

    @Test(arguments: [
        (12, 211), (18, 231), (23, 311), (24, 312), (25, 313), (34, 335),
        (40, 511), (41, 512), (42, 521), (43, 522), (44, 523),
    ])
    func gridCodeMatchesClcCode(gridCode: Int, code: Int) {
        #expect(Corine.byGridCode(gridCode)?.code == code)
        #expect(Corine.byCode(code)?.gridCode == gridCode)
    }

    @Test func specialRasterValuesAreNotClasses() {
        for value in [
            0, 45, Corine.gridNoData, Corine.gridUnclassifiedLand, Corine.gridUnclassifiedWater, Corine.gridOutside, -1,
        ] {
            #expect(Corine.byGridCode(value) == nil)
        }
        #expect(Corine.byCode(Corine.codeNoData) == nil)
        #expect(Corine.byCode(110) == nil)
    }

    @Test(arguments: [(111, "#e6004d"), (523, "#e6f2ff"), (334, "#000000"), (312, "#00a600"), (211, "#ffffa8")])
    func officialColour(code: Int, hex: String) {
        #expect(Corine.byCode(code)?.color.hex == hex)
    }

    @Test func hexPadsSingleDigitComponents() {
        #expect(RGB(1, 2, 255).hex == "#0102ff")
        #expect(RGB(red: 230, green: 0, blue: 77) == RGB(230, 0, 77))
    }

    @Test func codeAndNameAtEachLevel() throws {
        let peatBogs = try #require(Corine.byCode(412))
        #expect(CorineLevel.allCases.map(peatBogs.code(at:)) == [4, 41, 412])
        #expect(CorineLevel.allCases.map(peatBogs.name(at:)) == ["Wetlands", "Inland wetlands", "Peat bogs"])
    }

    @Test(arguments: Corine.classes.map(\.code))
    func levelIndicesAgreeWithCodeDigits(code: Int) throws {
        let corineClass = try #require(Corine.byCode(code))
        let level3 = try #require(Nomenclature.corineLevel3.index(ofLevel3: corineClass.gridCode))
        #expect(level3 == corineClass.gridCode)
        #expect(Nomenclature.corineLevel3.codes[level3 - 1] == corineClass.code)

        let level2 = try #require(Nomenclature.corineLevel2.index(ofLevel3: corineClass.gridCode))
        #expect(Nomenclature.corineLevel2.codes[level2 - 1] == corineClass.code / 10)
        #expect(Nomenclature.corineLevel2.names[level2 - 1] == corineClass.level2Name)

        let level1 = try #require(Nomenclature.corineLevel1.index(ofLevel3: corineClass.gridCode))
        #expect(Nomenclature.corineLevel1.codes[level1 - 1] == corineClass.code / 100)
        #expect(Nomenclature.corineLevel1.names[level1 - 1] == corineClass.level1Name)
    }

    @Test func groupColourIsThatOfTheFirstMember() {
        #expect(Nomenclature.corineLevel1.colors.map(\.hex) == ["#e6004d", "#ffffa8", "#80ff00", "#a6a6ff", "#00ccf2"])
        #expect(Nomenclature.corineLevel3.colors == Corine.classes.map(\.color))
        #expect(Nomenclature.bigEarthNet19.colors[0].hex == "#e6004d")
    }

    // MARK: Nomenclature lookups

    @Test(arguments: Nomenclature.all.map(\.id))
    func lookupTableAgreesWithIndex(id: String) throws {
        let nomenclature = try #require(Nomenclature.named(id))
        let table = nomenclature.level3LookupTable
        #expect(table.count == 256)
        for gridCode in 0...255 {
            #expect(Int(table[gridCode]) == nomenclature.index(ofLevel3: gridCode) ?? 0)
        }
        #expect(nomenclature.index(ofLevel3: 0) == nil)
        #expect(nomenclature.index(ofLevel3: 256) == nil)
        #expect(nomenclature.names.count == nomenclature.codes.count)
        #expect(nomenclature.colors.count == nomenclature.count)
    }

    @Test func nomenclaturesByIdAndLevel() {
        #expect(
            Nomenclature.all.map(\.id) == ["corine-l1", "corine-l2", "corine-l3", "bigearthnet-43", "bigearthnet-19"])
        for nomenclature in Nomenclature.all {
            #expect(Nomenclature.named(nomenclature.id) == nomenclature)
        }
        #expect(Nomenclature.named("corine-l4") == nil)
        #expect(Nomenclature.corine(.level2) == Nomenclature.corineLevel2)
        #expect(CorineLevel.allCases.map { Nomenclature.corine($0).count } == [5, 15, 44])
    }

    @Test func indexOfNameIsExact() {
        #expect(Nomenclature.corineLevel3.index(ofName: "Peat bogs") == 36)
        #expect(Nomenclature.corineLevel3.index(ofName: "Peatbogs") == nil)
        #expect(Nomenclature.bigEarthNet43.index(ofName: "peatbogs") == nil)
        #expect(Nomenclature.bigEarthNet43.index(ofName: "Continuous urban fabric") == 1)
    }

    // MARK: BigEarthNet

    @Test func bigEarthNet43LabelsAreExact() {
        // torchgeo `class_sets[43]`
        let expected = [
            "Continuous urban fabric", "Discontinuous urban fabric", "Industrial or commercial units",
            "Road and rail networks and associated land", "Port areas", "Airports", "Mineral extraction sites",
            "Dump sites", "Construction sites", "Green urban areas", "Sport and leisure facilities",
            "Non-irrigated arable land", "Permanently irrigated land", "Rice fields", "Vineyards",
            "Fruit trees and berry plantations", "Olive groves", "Pastures",
            "Annual crops associated with permanent crops", "Complex cultivation patterns",
            "Land principally occupied by agriculture, with significant areas of natural vegetation",
            "Agro-forestry areas", "Broad-leaved forest", "Coniferous forest", "Mixed forest", "Natural grassland",
            "Moors and heathland", "Sclerophyllous vegetation", "Transitional woodland/shrub",
            "Beaches, dunes, sands", "Bare rock", "Sparsely vegetated areas", "Burnt areas", "Inland marshes",
            "Peatbogs", "Salt marshes", "Salines", "Intertidal flats", "Water courses", "Water bodies",
            "Coastal lagoons", "Estuaries", "Sea and ocean",
        ]
        #expect(BigEarthNet.labels43 == expected)
        #expect(Nomenclature.bigEarthNet43.count == 43)
        #expect(!BigEarthNet.labels43.contains("Glaciers and perpetual snow"))
        #expect(!Nomenclature.bigEarthNet43.codes.contains(335))
        #expect(Nomenclature.bigEarthNet43.index(ofLevel3: 34) == nil)
        #expect(Nomenclature.bigEarthNet43.index(ofLevel3: 35) == 34)
    }

    @Test(arguments: [
        ("Natural grassland", 321, "Natural grasslands"),
        ("Transitional woodland/shrub", 324, "Transitional woodland-shrub"),
        ("Bare rock", 332, "Bare rocks"),
        ("Peatbogs", 412, "Peat bogs"),
    ])
    func bigEarthNetSpellingDiffersFromEEA(label: String, code: Int, eeaName: String) throws {
        let corineClass = try #require(Corine.byCode(code))
        #expect(corineClass.name == eeaName)
        #expect(BigEarthNet.labels43.contains(label))
        #expect(!BigEarthNet.labels43.contains(eeaName))
        #expect(BigEarthNet.gridCode(ofLabel43: label) == corineClass.gridCode)
        #expect(BigEarthNet.gridCode(ofLabel43: eeaName) == nil)
    }

    @Test func every43LabelMapsToItsGridCode() {
        // Index i -> grid code i + 1 up to Burnt areas, then i + 2 (grid 34 = 335 is skipped).
        for (index, label) in BigEarthNet.labels43.enumerated() {
            #expect(BigEarthNet.gridCode(ofLabel43: label) == (index <= 32 ? index + 1 : index + 2))
        }
        #expect(BigEarthNet.gridCode(ofLabel43: "Peatbogs") == 36)
    }

    @Test func bigEarthNet19Shape() {
        #expect(BigEarthNet.labels19.count == 19)
        #expect(Nomenclature.bigEarthNet19.codes == Array(1...19))
        let mapped = Corine.classes.filter { Nomenclature.bigEarthNet19.index(ofLevel3: $0.gridCode) != nil }
        #expect(mapped.count == 32)
    }

    @Test(arguments: [
        (241, "Permanent crops"), (333, "Natural grassland and sparsely vegetated areas"),
        (321, "Natural grassland and sparsely vegetated areas"), (111, "Urban fabric"),
        (112, "Urban fabric"), (324, "Transitional woodland, shrub"), (412, "Inland wetlands"),
        (422, "Coastal wetlands"), (523, "Marine waters"),
    ])
    func bigEarthNet19Mapping(code: Int, label: String) throws {
        let gridCode = try #require(Corine.byCode(code)?.gridCode)
        let index = try #require(Nomenclature.bigEarthNet19.index(ofLevel3: gridCode))
        #expect(BigEarthNet.labels19[index - 1] == label)
    }

    @Test(arguments: [122, 123, 124, 131, 132, 133, 141, 142, 332, 334, 423, 335])
    func droppedFromBigEarthNet19(code: Int) throws {
        let gridCode = try #require(Corine.byCode(code)?.gridCode)
        #expect(Nomenclature.bigEarthNet19.index(ofLevel3: gridCode) == nil)
        #expect(Nomenclature.bigEarthNet19.level3LookupTable[gridCode] == 0)
    }

    @Test(
        .enabled(
            if: FileManager.default.fileExists(atPath: bigEarthNetExampleDirectory.path),
            "BigEarthNet v1 example data (../shared/testdata/bigearthnet-v1-example) is absent"))
    func realBigEarthNetLabelsMapToGridCodes() throws {
        let files = try FileManager.default.contentsOfDirectory(
            at: bigEarthNetExampleDirectory, includingPropertiesForKeys: nil
        )
        .flatMap { try FileManager.default.contentsOfDirectory(at: $0, includingPropertiesForKeys: nil) }
        .filter { $0.lastPathComponent.hasSuffix("_labels_metadata.json") }
        #expect(!files.isEmpty)
        var labelCount = 0
        for file in files {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any]
            let labels = try #require(json?["labels"] as? [String], "no labels in \(file.lastPathComponent)")
            for label in labels {
                #expect(
                    BigEarthNet.gridCode(ofLabel43: label) != nil,
                    "unknown label \"\(label)\" in \(file.lastPathComponent)")
                labelCount += 1
            }
        }
        #expect(labelCount > 0)
    }
}

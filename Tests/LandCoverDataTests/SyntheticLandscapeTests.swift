@testable import LandCoverData
import Testing

/// Small scenes (3 km): tests also run in debug builds.
@Suite struct SyntheticLandscapeTests {
    static let size = 300
    static let scene = SyntheticLandscape(.init(size: size, seed: 7))
    static let noiselessScene = SyntheticLandscape(.init(size: size, seed: 7, labelNoise: 0))

    // MARK: Generator

    @Test func generatorMatchesSplitMix64ReferenceValues() {
        // First outputs of the reference C implementation (Vigna, splitmix64.c) seeded with 0.
        var generator = SeededGenerator(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
    }

    // MARK: Scene

    @Test func sameSeedGivesIdenticalScene() {
        let again = SyntheticLandscape(.init(size: Self.size, seed: 7))
        #expect(again.truth == Self.scene.truth)
        #expect(again.reflectance == Self.scene.reflectance)
        #expect(again.corine100m == Self.scene.corine100m)
    }

    @Test func differentSeedGivesDifferentScene() {
        let other = SyntheticLandscape(.init(size: Self.size, seed: 8))
        #expect(other.truth != Self.scene.truth)
        #expect(other.reflectance["B08"] != Self.scene.reflectance["B08"])
        #expect(other.corine100m != Self.scene.corine100m)
    }

    @Test(arguments: [1, 7, 2018] as [UInt64])
    func truthHoldsAtLeastSixClasses(seed: UInt64) {
        let truth = seed == 7 ? Self.scene.truth : SyntheticLandscape(.init(size: Self.size, seed: seed)).truth
        #expect(truth.count == Self.size * Self.size)
        #expect(Set(truth).count >= 6)
        #expect(truth.allSatisfy { (1...44).contains($0) })
    }

    @Test func truthUsesTheIntendedCorineClasses() {
        let expected: Set<Int> = [112, 211, 231, 311, 312, 313, 411, 412, 511, 512]
        let drawn = Set(Self.scene.truth.compactMap { Corine.byGridCode(Int($0))?.code })
        #expect(drawn.isSubset(of: expected))
        #expect(drawn.isSuperset(of: [112, 211, 231, 311, 512]))
    }

    @Test func reflectanceHasEveryBandInRange() {
        #expect(SyntheticLandscape.bandNames == ["B02", "B03", "B04", "B08", "B11"])
        #expect(Set(Self.scene.reflectance.keys) == Set(SyntheticLandscape.bandNames))
        for (band, values) in Self.scene.reflectance {
            #expect(values.count == Self.size * Self.size, "\(band)")
            #expect(values.allSatisfy { (1...20_000).contains($0) }, "\(band)")
        }
    }

    @Test func reflectanceSeparatesForestWaterAndTown() throws {
        let forest: Set<UInt8> = [23, 24, 25]
        let water: Set<UInt8> = [40, 41]
        let town: Set<UInt8> = [2]
        let nir = try #require(Self.scene.reflectance["B08"])
        let red = try #require(Self.scene.reflectance["B04"])
        let forestNIR = try #require(mean(of: nir, where: forest))
        let waterNIR = try #require(mean(of: nir, where: water))
        #expect(forestNIR > 2 * waterNIR)
        #expect(waterNIR < 300)
        #expect(try #require(mean(of: red, where: town)) > #require(mean(of: red, where: forest)))
    }

    // MARK: CORINE generalisation

    @Test func corineIsTheGeneralisedMajorityWithoutNoise() {
        let width = Self.size / 10
        let modal = SyntheticLandscape.majority(of: Self.noiselessScene.truth, size: Self.size)
        #expect(Self.noiselessScene.corine100m == SyntheticLandscape.generalised(modal, width: width))
        #expect(Self.noiselessScene.corine100m.count == width * width)
    }

    @Test func generalisedRegionsReachTheMinimumMappingUnit() {
        let regions = SyntheticLandscape.ConnectedRegions(Self.noiselessScene.corine100m, width: Self.size / 10)
        #expect(regions.sizes.count > 1)
        #expect(regions.sizes.allSatisfy { $0 >= 25 }, "region sizes \(regions.sizes.sorted())")
    }

    @Test func corineAgreesWithTruthMajority() {
        let modal = SyntheticLandscape.majority(of: Self.scene.truth, size: Self.size)
        let agreeing = zip(modal, Self.scene.corine100m).filter { $0 == $1 }.count
        #expect(Double(agreeing) >= 0.7 * Double(modal.count))
    }

    @Test func majorityTakesTheModeAndTheLowerCodeOnTies() {
        // A 20² grid of four 10² blocks: 60/40, a 50/50 tie, one class, and three classes.
        var codes = [UInt8](repeating: 0, count: 400)
        for y in 0..<20 {
            for x in 0..<20 {
                let (bx, by) = (x % 10, y % 10)
                codes[y * 20 + x] =
                    switch (x / 10, y / 10) {
                    case (0, 0): by < 6 ? 5 : 3
                    case (1, 0): bx < 5 ? 7 : 4
                    case (0, 1): 9
                    default: by < 3 ? 1 : by < 7 ? 2 : 3
                    }
            }
        }
        #expect(SyntheticLandscape.majority(of: codes, size: 20) == [5, 4, 9, 2])
    }

    @Test func smallRegionMergesIntoTheNeighbourWithTheLongestBorder() {
        // Forest (23) left, arable (12) right, and a 3-cell pond (41) touching forest on 6 sides, arable on 2.
        var codes = (0..<100).map { $0 % 10 < 5 ? UInt8(23) : 12 }
        for cell in [43, 44, 54] { codes[cell] = 41 }
        let expected = (0..<100).map { $0 % 10 < 5 ? UInt8(23) : 12 }
        #expect(SyntheticLandscape.generalised(codes, width: 10, minimumRegion: 25) == expected)
    }

    @Test func generalisationKeepsLargeRegionsAndSingleClassGrids() {
        let halves = (0..<100).map { $0 % 10 < 5 ? UInt8(23) : 12 }
        #expect(SyntheticLandscape.generalised(halves, width: 10, minimumRegion: 25) == halves)
        let single = [UInt8](repeating: 41, count: 16)
        #expect(SyntheticLandscape.generalised(single, width: 4, minimumRegion: 25) == single)
    }

    @Test func labelNoiseRelabelsTheRequestedShareMostlyAtBorders() {
        let width = Self.size / 10
        let clean = Self.noiselessScene.corine100m
        var generator = SeededGenerator(seed: 1)
        let noisy = SyntheticLandscape.withLabelNoise(clean, width: width, share: 0.05, using: &generator)
        let changed = clean.indices.filter { clean[$0] != noisy[$0] }
        #expect(changed.count == Int((0.05 * Double(clean.count)).rounded()))
        let takenFromNeighbour = changed.filter { cell in
            let (x, y) = (cell % width, cell / width)
            let neighbours = [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                .filter { (0..<width).contains($0.0) && (0..<width).contains($0.1) }
            return neighbours.contains { clean[$0.1 * width + $0.0] == noisy[cell] }
        }
        #expect(Double(takenFromNeighbour.count) >= 0.75 * Double(changed.count))

        var sameSeed = SeededGenerator(seed: 1)
        #expect(SyntheticLandscape.withLabelNoise(clean, width: width, share: 0.05, using: &sameSeed) == noisy)
    }
}

/// Mean of `values` over the pixels whose truth class is in `classes`, or nil if there are none.
private func mean(of values: [UInt16], where classes: Set<UInt8>) -> Double? {
    let truth = SyntheticLandscapeTests.scene.truth
    let selected = values.indices.filter { classes.contains(truth[$0]) }
    guard !selected.isEmpty else { return nil }
    return selected.reduce(0.0) { $0 + Double(values[$1]) } / Double(selected.count)
}

import Foundation
import GeoRaster
import LandCoverData
import Testing
import TestSupport

@testable import Mapping
@testable import NeuralNet
@testable import TensorCore

/// An in-memory input: `[bands, height, width]` values and a validity mask.
final class ArraySource: PredictionSource {
    let grid: RasterGrid
    let bandCount: Int
    let values: [Float]
    let validity: [Bool]

    init(grid: RasterGrid, bands: Int, values: [Float], validity: [Bool]? = nil) {
        self.grid = grid
        bandCount = bands
        self.values = values
        self.validity = validity ?? [Bool](repeating: true, count: grid.width * grid.height)
    }

    func read(rows: Range<Int>, input: UnsafeMutableBufferPointer<Float>, valid: UnsafeMutableBufferPointer<Bool>) {
        let width = grid.width
        let plane = rows.count * width
        for band in 0..<bandCount {
            for (offset, row) in rows.enumerated() {
                for column in 0..<width {
                    input[band * plane + offset * width + column] =
                        values[(band * grid.height + row) * width + column]
                }
            }
        }
        for (offset, row) in rows.enumerated() {
            for column in 0..<width { valid[offset * width + column] = validity[row * width + column] }
        }
    }
}

/// A model whose logits are a fixed mix of the input bands plus a bias that depends on the position inside the
/// window (an edge effect), so that blending matters. Throws after `failAfter` calls, to interrupt a run.
final class PositionalModel: SegmentationModel {
    let inputBands: Int
    let classCount: Int
    let mix: [Float]
    let bias: (Int, Int, Int, Int, Int) -> Float
    var calls = 0
    var failAfter: Int?

    struct Interrupted: Error {}

    init(bands: Int, classes: Int, seed: UInt64, bias: @escaping (Int, Int, Int, Int, Int) -> Float) {
        inputBands = bands
        classCount = classes
        var generator = NeuralNet.SeededGenerator(seed: seed)
        mix = (0..<(bands * classes)).map { _ in Float.random(in: -2...2, using: &generator) }
        self.bias = bias
    }

    func logits(_ input: Tensor) throws -> Tensor {
        calls += 1
        if let failAfter, calls > failAfter { throw Interrupted() }
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        let x = input.scalars
        var out = [Float](repeating: 0, count: n * classCount * h * w)
        for sample in 0..<n {
            for c in 0..<classCount {
                for i in 0..<h {
                    for j in 0..<w {
                        var value = bias(c, i, j, h, w)
                        for band in 0..<inputBands {
                            value += mix[c * inputBands + band] * x[((sample * inputBands + band) * h + i) * w + j]
                        }
                        out[((sample * classCount + c) * h + i) * w + j] = value
                    }
                }
            }
        }
        return Tensor(shape: [n, classCount, h, w], scalars: out)
    }
}

@Suite("Whole-granule prediction")
struct PredictionTests {
    @Test func windowsCoverTheFullTileAndRampsSumToOne() {
        let starts = WindowLayout.starts(extent: 10980, window: 256, overlap: 32)
        #expect(starts.first == 0 && starts.last == 10980 - 256)
        #expect(zip(starts, starts.dropFirst()).allSatisfy { $1 - $0 <= 224 && $1 > $0 })
        #expect(WindowLayout.starts(extent: 100, window: 256, overlap: 32) == [0])
        #expect(WindowLayout.starts(extent: 240, window: 120, overlap: 0) == [0, 120])
        let ramp = WindowLayout.ramp(length: 64, overlap: 16)
        #expect(ramp.allSatisfy { $0 > 0 && $0 <= 1 })
        // Neighbours 48 px apart share 16 px: the two ramps sum to 1 there.
        for k in 0..<16 { expectClose(Double(ramp[48 + k] + ramp[k]), 1, rtol: 1e-6) }
        #expect(ramp[20] == 1 && ramp[0] < 0.01)
    }

    @Test func fastExponentialMatchesExp() {
        var worst: Double = 0
        var x: Float = -100
        while x <= 0 {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.001 })
            let result = fastExponential(lanes)
            for lane in 0..<8 {
                let exact = exp(Double(lanes[lane]))
                if exact > 1e-37 { worst = max(worst, abs(Double(result[lane]) - exact) / exact) }
            }
            x += 0.0173
        }
        #expect(worst < 1e-6, "worst relative error \(worst)")
        #expect(fastExponential(SIMD8(repeating: -200)) == SIMD8(repeating: 0))
    }

    @Test func hierarchySumsChildrenIntoParents() throws {
        let hierarchy = try ClassHierarchy(codes: ["211", "231", "311", "312", "512"], path: "m")
        #expect(hierarchy.modelLevel == .level3 && hierarchy.levels == [.level1, .level2, .level3])
        #expect(hierarchy.classIndices(at: .level3) == [12, 18, 23, 24, 41])
        let level2 = Nomenclature.corine(.level2)
        #expect(hierarchy.classIndices(at: .level2).map { level2.codes[$0 - 1] } == [21, 23, 31, 31, 51])
        #expect(
            hierarchy.classIndices(at: .level1).map { Nomenclature.corine(.level1).codes[$0 - 1] } == [2, 2, 3, 3, 5])
        let coarse = try ClassHierarchy(codes: ["1", "2", "3"], path: "m")
        #expect(coarse.levels == [.level1])
        #expect(throws: MappingError.self) { try ClassHierarchy(codes: ["211", "31"], path: "m") }
        #expect(throws: MappingError.self) { try ClassHierarchy(codes: ["999"], path: "m") }
    }

    static func grid(width: Int, height: Int) throws -> RasterGrid {
        try MapFixtures.grid(width: width, height: height)
    }

    static func randomValues(_ count: Int, seed: UInt64) -> [Float] {
        var generator = NeuralNet.SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float.random(in: -1...1, using: &generator) }
    }

    /// The whole-raster overlap-add the streaming predictor must equal: probabilities per class `[C, H, W]`.
    static func naiveBlend(
        model: PositionalModel, source: ArraySource, window: Int, overlap: Int
    ) throws -> [Double] {
        let (height, width, classes) = (source.grid.height, source.grid.width, model.classCount)
        var sum = [Double](repeating: 0, count: classes * height * width)
        var weights = [Double](repeating: 0, count: height * width)
        let wy = min(window, height)
        let wx = min(window, width)
        let rampY = WindowLayout.ramp(length: wy, overlap: overlap)
        let rampX = WindowLayout.ramp(length: wx, overlap: overlap)
        for top in WindowLayout.starts(extent: height, window: window, overlap: overlap) {
            for left in WindowLayout.starts(extent: width, window: window, overlap: overlap) {
                var input = [Float](repeating: 0, count: source.bandCount * wy * wx)
                for band in 0..<source.bandCount {
                    for i in 0..<wy {
                        for j in 0..<wx {
                            input[(band * wy + i) * wx + j] =
                                source.values[(band * height + top + i) * width + left + j]
                        }
                    }
                }
                let logits = try model.logits(Tensor(shape: [1, source.bandCount, wy, wx], scalars: input)).scalars
                for i in 0..<wy {
                    for j in 0..<wx {
                        let values = (0..<classes).map { Double(logits[($0 * wy + i) * wx + j]) }
                        let top1 = values.max()!
                        let exps = values.map { exp($0 - top1) }
                        let total = exps.reduce(0, +)
                        let weight = Double(rampY[i]) * Double(rampX[j])
                        let pixel = (top + i) * width + left + j
                        weights[pixel] += weight
                        for c in 0..<classes { sum[c * height * width + pixel] += weight * exps[c] / total }
                    }
                }
            }
        }
        for c in 0..<classes {
            for pixel in 0..<(height * width) { sum[c * height * width + pixel] /= weights[pixel] }
        }
        return sum
    }

    @Test(arguments: [(32, 8, 3), (40, 0, 2), (200, 16, 1)])
    func streamingBlendEqualsANaiveOverlapAdd(window: Int, overlap: Int, batch: Int) throws {
        let (width, height, bands) = (97, 75, 2)
        let grid = try Self.grid(width: width, height: height)
        var validity = [Bool](repeating: true, count: width * height)
        for row in 10..<14 { for column in 0..<width { validity[row * width + column] = false } }
        let source = ArraySource(
            grid: grid, bands: bands, values: Self.randomValues(bands * width * height, seed: 4), validity: validity)
        let model = PositionalModel(bands: bands, classes: 5, seed: 9) { c, i, j, h, w in
            Float(c - 2) * (Float(i) / Float(h) - Float(j) / Float(w))
        }
        let hierarchy = try ClassHierarchy(codes: ["211", "231", "311", "312", "512"], path: "m")
        let predictor = GranulePredictor(
            model: model, source: source, hierarchy: hierarchy,
            options: PredictionOptions(
                window: window, overlap: overlap, batchSize: batch, levels: [.level1, .level2, .level3],
                confidence: true))
        let directory = TemporaryDirectory()
        let result = try predictor.run(work: directory.url.appendingPathComponent("work"), runKey: "test")
        #expect(result.bands.map(\.rows.count).reduce(0, +) == height)
        #expect(result.computedWindows == result.windows)

        let probabilities = try Self.naiveBlend(model: model, source: source, window: window, overlap: overlap)
        let plane = width * height
        for level in [CorineLevel.level1, .level2, .level3] {
            let indices = hierarchy.classIndices(at: level)
            var classes: [UInt8] = []
            var confidence: [UInt8] = []
            for band in result.bands {
                let values = try predictor.read(band, level: level, width: width)
                classes += values.classes
                confidence += values.confidence!
            }
            var mismatches = 0
            var checked = 0
            for pixel in 0..<plane {
                guard validity[pixel] else {
                    #expect(classes[pixel] == 0 && confidence[pixel] == 255)
                    continue
                }
                var summed: [Int: Double] = [:]
                for (output, index) in indices.enumerated() {
                    summed[index, default: 0] += probabilities[output * plane + pixel]
                }
                let ranked = summed.sorted { $0.value > $1.value }
                // Ties within float rounding may go either way.
                if ranked.count > 1 && ranked[0].value - ranked[1].value < 1e-4 { continue }
                checked += 1
                if Int(classes[pixel]) != ranked[0].key { mismatches += 1 }
                #expect(abs(Int(confidence[pixel]) - Int((ranked[0].value * 100).rounded())) <= 1)
            }
            #expect(mismatches == 0 && checked > plane / 2, "\(level): \(mismatches) of \(checked)")
        }
    }

    @Test func anInterruptedRunResumesWithoutRecomputingFinishedBands() throws {
        let (width, height, bands) = (64, 150, 2)
        let grid = try Self.grid(width: width, height: height)
        let source = ArraySource(grid: grid, bands: bands, values: Self.randomValues(bands * width * height, seed: 8))
        let hierarchy = try ClassHierarchy(codes: ["1", "2", "3"], path: "m")
        let options = PredictionOptions(window: 32, overlap: 8, batchSize: 1, levels: [.level1], confidence: true)
        func model() -> PositionalModel {
            PositionalModel(bands: bands, classes: 3, seed: 2) { c, i, _, h, _ in Float(c) * Float(i) / Float(h) }
        }
        let directory = TemporaryDirectory()
        let clean = GranulePredictor(model: model(), source: source, hierarchy: hierarchy, options: options)
        let reference = try clean.run(work: directory.url.appendingPathComponent("clean"), runKey: "k")
        let windowsPerBand = clean.columnStarts.count

        let work = directory.url.appendingPathComponent("interrupted")
        let failing = model()
        failing.failAfter = 3 * windowsPerBand + 1
        let interrupted = GranulePredictor(model: failing, source: source, hierarchy: hierarchy, options: options)
        #expect(throws: PositionalModel.Interrupted.self) { try interrupted.run(work: work, runKey: "k") }

        let second = model()
        let resumed = GranulePredictor(model: second, source: source, hierarchy: hierarchy, options: options)
        let result = try resumed.run(work: work, runKey: "k")
        #expect(result.resumedBands == 3)
        // Bands 3… are computed, plus band 2 once more to restore the overlap.
        #expect(result.computedWindows == (reference.bands.count - 2) * windowsPerBand)
        for (a, b) in zip(reference.bands, result.bands) {
            #expect(try Data(contentsOf: a.url) == Data(contentsOf: b.url), "band \(a.rows)")
        }
        // Another run key starts over.
        let fresh = try GranulePredictor(model: model(), source: source, hierarchy: hierarchy, options: options)
            .run(work: work, runKey: "other")
        #expect(fresh.resumedBands == 0 && fresh.computedWindows == fresh.windows)
    }

    @Test func overlapRemovesSeams() throws {
        let (width, height) = (160, 40)
        let grid = try Self.grid(width: width, height: height)
        let source = ArraySource(grid: grid, bands: 1, values: [Float](repeating: 0, count: width * height))
        let hierarchy = try ClassHierarchy(codes: ["1", "2"], path: "m")
        // An edge effect: class 2 gains towards each window's right edge, so its probability (the confidence, as
        // it wins from mid-window on) drops from ~100 % to 50 % where a window ends.
        func largestStep(overlap: Int) throws -> Int {
            let model = PositionalModel(bands: 1, classes: 2, seed: 1) { c, _, j, _, w in
                c == 1 ? 6 * Float(j) / Float(w) : 0
            }
            let predictor = GranulePredictor(
                model: model, source: source, hierarchy: hierarchy,
                options: PredictionOptions(window: 40, overlap: overlap, levels: [.level1], confidence: true))
            let directory = TemporaryDirectory()
            let result = try predictor.run(work: directory.url, runKey: "s")
            let row = try predictor.read(result.bands[0], level: .level1, width: width).confidence!.prefix(width)
            return zip(row, row.dropFirst()).map { abs(Int($0) - Int($1)) }.max()!
        }
        let withoutOverlap = try largestStep(overlap: 0)
        let withOverlap = try largestStep(overlap: 16)
        #expect(withoutOverlap >= 45)
        #expect(withOverlap * 5 < withoutOverlap, "steps \(withOverlap) vs \(withoutOverlap)")
    }
}

/// A pointwise model on raw reflectance: water (CORINE 512) where NIR (channel 3) is below 0.1, else forest (311).
final class WaterModel: SegmentationModel {
    let inputBands = 4
    let classCount = 2

    func logits(_ input: Tensor) throws -> Tensor {
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        let x = input.scalars
        var out = [Float](repeating: 0, count: n * 2 * h * w)
        for sample in 0..<n {
            for pixel in 0..<(h * w) {
                let nir = x[(sample * 4 + 3) * h * w + pixel]
                out[(sample * 2) * h * w + pixel] = 50 * (0.1 - nir)
            }
        }
        return Tensor(shape: [n, 2, h, w], scalars: out)
    }
}

@Suite("Georeference of predicted maps")
struct GeoreferenceTests {
    static var product: URL? {
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: TestPaths.sampleData.path)) ?? []
        return contents.first { $0.hasSuffix(".SAFE") }.map { TestPaths.sampleData.appendingPathComponent($0) }
    }

    @Test(.enabled(if: product != nil, "needs SampleData"))
    func theSampleLakeLandsOnItsPixels() throws {
        let product = try Sentinel2Product.open(Self.product!.path)
        let source = try Sentinel2PredictionSource(product: product, bands: [.b04, .b03, .b02, .b08])
        let hierarchy = try ClassHierarchy(codes: ["512", "311"], path: "water")
        let predictor = GranulePredictor(
            model: WaterModel(), source: source, hierarchy: hierarchy,
            options: PredictionOptions(window: 256, overlap: 32, levels: [.level3]))
        let directory = TemporaryDirectory()
        let result = try predictor.run(work: directory.url.appendingPathComponent("work"), runKey: "lake")
        let path = directory.path("water.tif")
        let stream = try LandCoverMapWriter(nomenclature: .corine(.level3)).begin(path: path, grid: product.grid)
        for band in result.bands {
            try stream.write(rows: band.rows, classes: predictor.read(band, level: .level3, width: 1200).classes)
        }
        try stream.finish()

        let map = try Dataset.open(path)
        let truthDataset = try Dataset.open(TestPaths.sampleData.appendingPathComponent("truth.tif").path)
        #expect(map.geoTransform == product.grid.geoTransform && map.crs?.epsg == 32635)
        let truth: [UInt8] = try truthDataset.band(1).read(product.grid.fullWindow)
        let classes: [UInt8] = try map.band(1).read(product.grid.fullWindow)
        // A pixel deep inside the lake (its 11×11 neighbourhood is all water in the truth), found through map
        // coordinates: truth pixel → x, y → map pixel.
        func insideLake(_ row: Int, _ column: Int) -> Bool {
            for dy in -5...5 {
                for dx in -5...5 where truth[(row + dy) * 1200 + column + dx] != 41 { return false }
            }
            return true
        }
        var found: (Int, Int)?
        for row in 5..<1195 where found == nil {
            for column in 5..<1195 where insideLake(row, column) {
                found = (row, column)
                break
            }
        }
        let lake = try #require(found, "the sample has a lake")
        let centre = truthDataset.geoTransform!.map(column: Double(lake.1) + 0.5, row: Double(lake.0) + 0.5)
        let pixel = map.geoTransform!.pixel(x: centre.x, y: centre.y)
        let (row, column) = (Int(pixel.row), Int(pixel.column))
        #expect(row == lake.0 && column == lake.1)
        #expect(classes[row * 1200 + column] == 41, "the lake is water on the map")
        let water = truth.indices.filter { truth[$0] == 41 }
        let hits = water.filter { classes[$0] == 41 }.count
        #expect(Double(hits) > 0.95 * Double(water.count), "\(hits) of \(water.count) lake pixels")
        let dry = truth.indices.filter { truth[$0] != 41 && truth[$0] != 40 && truth[$0] != 35 }
        #expect(Double(dry.filter { classes[$0] == 41 }.count) < 0.02 * Double(dry.count))
    }
}

import Foundation
import LandCoverData
import NeuralNet

/// A multi-label source generated in memory with known labels: CORINE level 1 (5 classes); each class present
/// leaves a mark a small network can learn and that no flip or rotation changes: classes 1–3 brighten band 0–2,
/// classes 4 and 5 roughen band 0 or band 1 with strong noise and a faint checkerboard. Every class is present with probability 0.4.
final class SyntheticSource: MultiLabelSource {
    let count: Int
    let bands = SpectralBand.rgb
    let size: Int
    let nomenclature = Nomenclature.corineLevel1
    private let labelSets: [[Int]]
    private let seeds: [UInt64]
    private let validationEvery: Int

    init(count: Int, size: Int = 16, seed: UInt64 = 1, validationEvery: Int = 5) {
        self.count = count
        self.size = size
        self.validationEvery = validationEvery
        var generator = NeuralNet.SeededGenerator(seed: seed)
        labelSets = (0..<count).map { _ in (1...5).filter { _ in generator.next() % 10 < 4 } }
        seeds = (0..<count).map { _ in generator.next() }
    }

    func identifier(at index: Int) -> String { "synthetic-\(index)" }

    func split(at index: Int) -> ChipSplit? { index % validationEvery == 0 ? .validation : .train }

    func labels(at index: Int) -> [Int] { labelSets[index] }

    func readImage(at index: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        var generator = NeuralNet.SeededGenerator(seed: seeds[index])
        let area = size * size
        let labels = Set(labelSets[index])
        for band in 0..<3 {
            for pixel in 0..<area {
                let (y, x) = (pixel / size, pixel % size)
                var value = 0.05 + 0.02 * Float(generator.next() % 1000) / 1000
                if labels.contains(band + 1) { value += 0.05 }
                if band < 2, labels.contains(band + 4) {
                    value += 0.12 * (Float(generator.next() % 1000) / 1000 - 0.5) + ((x + y) % 2 == 0 ? 0.03 : 0)
                }
                buffer[band * area + pixel] = value
            }
        }
    }
}

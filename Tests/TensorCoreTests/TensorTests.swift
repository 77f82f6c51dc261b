import Testing
import TestSupport

@testable import TensorCore

@Suite struct TensorTests {
    @Test func createsFromScalarsAndIndexesRowMajor() {
        let tensor = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(tensor.rank == 2 && tensor.count == 6 && tensor.layout == .rowMajor)
        #expect(tensor[0, 2] == 3 && tensor[1, 0] == 4)
        #expect(Tensor.zeros([2, 2]).scalars == [0, 0, 0, 0])
        #expect(Tensor(shape: [3], repeating: 1.5).scalars == [1.5, 1.5, 1.5])
        #expect(Tensor(shape: [], scalars: [7]).count == 1)
        #expect(Tensor.zeros([4, 0, 3]).count == 0)
    }

    @Test func storageIsAlignedForAVX512() {
        for count in [1, 3, 17, 1000] {
            #expect(UInt(bitPattern: Tensor.zeros([count]).storage.base) % 64 == 0)
        }
    }

    @Test func copiesOnWrite() {
        let original = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        var copy = original
        copy[1, 1] = 40
        #expect(original.scalars == [1, 2, 3, 4])
        #expect(copy.scalars == [1, 2, 3, 40])

        var reshaped = original.reshaped(to: [4])
        #expect(reshaped.storage === original.storage)
        reshaped.withUnsafeMutableBufferPointer { $0[0] = -1 }
        #expect(original[0, 0] == 1 && reshaped[0] == -1)
    }

    @Test func elementwiseArithmetic() {
        let a = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        let b = Tensor(shape: [2, 2], scalars: [0.5, -1, 2, 0])
        #expect((a + b).scalars == [1.5, 1, 5, 4])
        #expect((a - b).scalars == [0.5, 3, 1, 4])
        #expect((a * b).scalars == [0.5, -2, 6, 0])
        #expect((2 * a).scalars == [2, 4, 6, 8] && (a * 2) == 2 * a)
        #expect((-a).scalars == [-1, -2, -3, -4])
        var sum = a
        sum += b
        #expect(sum == a + b)
        #expect(a.sum() == 10)
        #expect(a.maxAbsoluteDifference(b) == 4)
    }

    @Test func seededRandomTensorsRepeat() {
        var first = TestGenerator(seed: 7)
        var second = TestGenerator(seed: 7)
        let a = Tensor.randomNormal([3, 5], using: &first)
        #expect(a == Tensor.randomNormal([3, 5], using: &second))
        #expect(a != Tensor.randomNormal([3, 5], using: &second))
        // Odd counts use half of the last Box–Muller pair.
        #expect(Tensor.randomNormal([7], using: &first).count == 7)
    }

    @Test func randomNormalHasRequestedMoments() {
        var generator = TestGenerator(seed: 1)
        let samples = Tensor.randomNormal([20_000], mean: 3, standardDeviation: 0.5, using: &generator).scalars
        let mean = samples.reduce(0.0) { $0 + Double($1) } / Double(samples.count)
        let variance = samples.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(samples.count)
        // Standard errors: 0.5/√20000 ≈ 0.0035 for the mean, ≈ 0.0025 for the deviation.
        expectClose(mean, 3, atol: 0.015)
        expectClose(variance.squareRoot(), 0.5, atol: 0.012)
    }

    @Test func randomUniformStaysInRange() {
        var generator = TestGenerator(seed: 2)
        let samples = Tensor.randomUniform([10_000], in: -2..<3, using: &generator).scalars
        #expect(samples.allSatisfy { -2 <= $0 && $0 < 3 })
        let mean = samples.reduce(0.0) { $0 + Double($1) } / Double(samples.count)
        // Standard error: 5/√12/√10000 ≈ 0.014.
        expectClose(mean, 0.5, atol: 0.06)
    }
}

import Testing
import TestSupport

@testable import TensorCore

/// Operations on tensors kept in oneDNN's blocked `nChw8c` layout give exactly what they give row-major.
@Suite struct BlockedLayoutTests {
    static func blocked(_ tensor: Tensor) throws -> Tensor {
        try CPUDevice.shared.reordered(tensor, to: .channelBlocks8(tensor.shape))
    }

    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = TestGenerator(seed: seed)
        return Tensor.randomUniform(shape, in: -1..<1, using: &generator)
    }

    @Test(arguments: [[2, 16, 8, 8], [1, 12, 5, 7]]) func resizeNearestKeepsTheLayout(_ shape: [Int]) throws {
        let device = CPUDevice.shared
        let input = Self.random(shape, seed: 1)
        let output = try device.resizeNearest(try Self.blocked(input), height: 15, width: 11)
        #expect(!output.layout.isRowMajor)
        #expect(output == (try device.resizeNearest(input, height: 15, width: 11)))

        let gradient = Self.random([shape[0], shape[1], 15, 11], seed: 2)
        let inputGradient = try device.resizeNearestBackward(try Self.blocked(gradient), inputShape: shape)
        #expect(!inputGradient.layout.isRowMajor)
        #expect(inputGradient == (try device.resizeNearestBackward(gradient, inputShape: shape)))
    }

    @Test func concatenationAndSplitKeepTheLayout() throws {
        let device = CPUDevice.shared
        let parts = [Self.random([2, 16, 5, 5], seed: 3), Self.random([2, 8, 5, 5], seed: 4)]
        let joined = device.concatenateChannels(try parts.map(Self.blocked))
        #expect(!joined.layout.isRowMajor)
        #expect(joined == device.concatenateChannels(parts))
        let split = device.splitChannels(try Self.blocked(joined), sizes: [16, 8])
        #expect(split.allSatisfy { !$0.layout.isRowMajor })
        #expect(split == parts)
    }

    @Test func addsAndReLUsInTheLayout() throws {
        let device = CPUDevice.shared
        let (a, b) = (Self.random([2, 12, 4, 4], seed: 5), Self.random([2, 12, 4, 4], seed: 6))
        #expect(device.addReLU(try Self.blocked(a), try Self.blocked(b)) == (a + b).mapped { max($0, 0) })
        #expect(device.add(try Self.blocked(a), b) == a + b)
        var sum = try Self.blocked(a)
        sum += try Self.blocked(b)
        #expect(sum == a + b)
    }
}

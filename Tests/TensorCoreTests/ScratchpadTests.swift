import Foundation
import Testing
@testable import TensorCore

/// oneDNN 2.6 ties a library-managed scratchpad to the thread that created the primitive; cached plans run on
/// whatever thread calls them (Swift Testing, dispatch queues), which crashed before plans owned their scratchpad.
@Suite struct ScratchpadTests {
    @Test func planCreatedOnOneThreadRunsOnAnother() throws {
        var g = SystemRandomNumberGenerator()  // values do not matter: the test is that it does not crash
        // (input, weight, stride, padding): the fastai classifier's convolutions.
        let cases: [([Int], [Int], Int, Int)] = [
            ([4, 3, 32, 32], [4, 3, 7, 7], 2, 3), ([4, 4, 8, 8], [4, 4, 3, 3], 1, 1),
            ([4, 4, 8, 8], [8, 4, 3, 3], 2, 1),
            ([4, 8, 4, 4], [8, 8, 3, 3], 1, 1), ([4, 4, 8, 8], [8, 4, 1, 1], 2, 0),
            ([4, 8, 4, 4], [16, 8, 3, 3], 2, 1),
            ([4, 16, 2, 2], [16, 16, 3, 3], 1, 1), ([4, 16, 2, 2], [32, 16, 3, 3], 2, 1),
            ([4, 32, 1, 1], [32, 32, 3, 3], 1, 1),
        ]
        for _ in 0..<3 {
            for (inputShape, weightShape, stride, padding) in cases {
                let options = ConvolutionOptions(stride: stride, padding: padding)
                let x = Tensor.randomNormal(inputShape, using: &g)
                let gy = Tensor.randomNormal(options.outputShape(input: inputShape, weight: weightShape), using: &g)
                let thread = Thread {
                    _ = try? CPUDevice.shared.convolution2DBackwardWeights(
                        gy, input: x, weightShape: weightShape, options: options)
                }
                thread.start()
                while !thread.isFinished { usleep(1000) }
            }
        }
    }
}

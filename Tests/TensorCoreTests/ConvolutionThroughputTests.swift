import Foundation
import Testing

@testable import TensorCore

/// Prints the throughput of one ResNet-like convolution; a measurement, not a pass/fail test.
/// Run it in release: `TENSORCORE_BENCHMARK=1 swift test -c release -Xswiftc -enable-testing
/// --filter ConvolutionThroughputTests`; `TENSORCORE_BENCHMARK_THREADS=1` measures one thread.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["TENSORCORE_BENCHMARK"] != nil))
struct ConvolutionThroughputTests {
    @Test func resNetBasicBlockConvolution() throws {
        // Batch 32, 64 → 64 channels, 3×3, padding 1, on 30×30: a ResNet layer1 convolution of a 120-pixel image.
        var generator = TestGenerator(seed: 61)
        let input = Tensor.randomUniform([32, 64, 30, 30], in: -1..<1, using: &generator)
        let weight = Tensor.randomNormal([64, 64, 3, 3], standardDeviation: 0.05, using: &generator)
        let outputGradient = Tensor.randomUniform([32, 64, 30, 30], in: -1..<1, using: &generator)
        let options = ConvolutionOptions(padding: 1)
        let device = CPUDevice.shared
        let flops = 2.0 * 32 * 64 * 30 * 30 * 64 * 9
        let threads = ProcessInfo.processInfo.environment["TENSORCORE_BENCHMARK_THREADS"].flatMap { Int($0) }
        setThreads(threads ?? 2)
        defer { setThreads(2) }

        let passes: [(String, () throws -> Void)] = [
            ("forward", { _ = try device.convolution2D(input, weight: weight, options: options) }),
            (
                "backward data",
                {
                    _ = try device.convolution2DBackwardData(
                        outputGradient, weight: weight, inputShape: input.shape, options: options)
                }
            ),
            (
                "backward weights",
                {
                    _ = try device.convolution2DBackwardWeights(
                        outputGradient, input: input, weightShape: weight.shape, options: options, withBias: false)
                }
            ),
        ]
        for (name, pass) in passes {
            try pass()  // builds and caches the plan
            let repetitions = 10
            let start = ContinuousClock.now
            for _ in 0..<repetitions { try pass() }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            let perCall = seconds / Double(repetitions)
            print(
                "conv 3×3 64→64 30×30 batch 32, \(name): \(String(format: "%.2f", perCall * 1e3)) ms, "
                    + "\(String(format: "%.0f", flops / perCall / 1e9)) GFLOP/s (\(threadCount) threads)")
        }
        let key = ConvolutionKey(
            pass: .forward, inputShape: input.shape, weightShape: weight.shape, options: options, hasBias: false)
        print("oneDNN implementation: \(try device.implementation(of: .convolution(key)))")
    }
}

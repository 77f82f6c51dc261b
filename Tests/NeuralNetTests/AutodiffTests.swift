import Testing
import TestSupport

@testable import NeuralNet
@testable import TensorCore

/// The reverse-mode machinery: finite differences through a composite graph, accumulation, no-grad mode, freezing.
@Suite struct AutodiffTests {
    /// conv(3×3, bias) → ReLU → flatten → linear → BCE-with-logits, with every leaf requiring a gradient.
    struct CompositeGraph {
        var input: Tensor
        var convWeight: Tensor
        var convBias: Tensor
        var linearWeight: Tensor
        var linearBias: Tensor
        let targets: Tensor

        init(seed: UInt64) {
            var generator = SeededGenerator(seed: seed)
            input = .randomNormal([2, 3, 6, 6], using: &generator)
            convWeight = .randomNormal([4, 3, 3, 3], standardDeviation: 0.3, using: &generator)
            convBias = .randomNormal([4], standardDeviation: 0.1, using: &generator)
            linearWeight = .randomNormal([5, 4 * 6 * 6], standardDeviation: 0.1, using: &generator)
            linearBias = .randomNormal([5], standardDeviation: 0.1, using: &generator)
            targets = Tensor(shape: [2, 5], scalars: [1, 0, 0, 1, 1, 0, 1, 0, 0, 1])
        }

        var leaves: [Tensor] {
            get { [input, convWeight, convBias, linearWeight, linearBias] }
            set {
                (input, convWeight, convBias, linearWeight, linearBias) = (
                    newValue[0], newValue[1], newValue[2], newValue[3], newValue[4]
                )
            }
        }

        /// The loss, the leaves as variables, and which conv outputs were positive (ReLU's branch).
        func run() throws -> (loss: Variable, leaves: [Variable], positive: [Bool]) {
            let variables = leaves.map { Variable($0, requiresGrad: true) }
            let convolved = try conv2d(
                variables[0], weight: variables[1], bias: variables[2], options: ConvolutionOptions(padding: 1))
            let logits = linear(try relu(convolved).flattened(), weight: variables[3], bias: variables[4])
            let loss = binaryCrossEntropyWithLogits(logits, targets: targets)
            return (loss, variables, convolved.value.scalars.map { $0 > 0 })
        }
    }

    /// Central differences (f(x + ε) − f(x − ε)) / 2ε in Float32, the precision of the kernels: the step is large
    /// (5e-3) so the loss's rounding (~6e-8) stays far below the difference. Elements whose step moves a ReLU input
    /// across 0 are skipped (the function has a kink there); the graph is otherwise smooth.
    @Test func compositeGraphMatchesFiniteDifferences() throws {
        let graph = CompositeGraph(seed: 7)
        let (loss, leaves, positive) = try graph.run()
        try loss.backward()
        let epsilon: Float = 5e-3
        let names = ["input", "conv weight", "conv bias", "linear weight", "linear bias"]
        var skipped = 0
        var total = 0
        for leafIndex in leaves.indices {
            let analytic = try #require(leaves[leafIndex].grad)
            var numerical = [Float](repeating: 0, count: analytic.count)
            var compared = [Float](repeating: 0, count: analytic.count)
            for element in 0..<analytic.count {
                total += 1
                var results: [(loss: Double, positive: [Bool])] = []
                for sign: Float in [1, -1] {
                    var perturbed = graph
                    var values = perturbed.leaves
                    values[leafIndex].withUnsafeMutableBufferPointer { $0[element] += sign * epsilon }
                    perturbed.leaves = values
                    let (value, _, branch) = try perturbed.run()
                    results.append((Double(value.value.scalars[0]), branch))
                }
                if results[0].positive != positive || results[1].positive != positive {
                    skipped += 1
                    continue
                }
                numerical[element] = Float((results[0].loss - results[1].loss) / (2 * Double(epsilon)))
                compared[element] = analytic.scalars[element]
            }
            let scale = numerical.reduce(0) { max($0, abs($1)) }
            #expect(scale > 0, "\(names[leafIndex]): no gradient to compare")
            for (a, n) in zip(compared, numerical) {
                #expect(abs(a - n) <= 1e-2 * abs(n) + 1e-2 * scale, "\(names[leafIndex]): \(a) vs \(n)")
            }
        }
        #expect(skipped * 20 < total, "\(skipped) of \(total) elements crossed a ReLU kink")
    }

    @Test func reusedValueAccumulatesBothGradients() throws {
        let x = Variable(Tensor(shape: [3], scalars: [1, -2, 3]), requiresGrad: true)
        let doubled = x + x
        let y = doubled + x
        try y.backward(seed: Tensor(shape: [3], scalars: [1, 2, 3]))
        #expect(x.grad == Tensor(shape: [3], scalars: [3, 6, 9]))
        // A second pass over a new graph adds to the gradient, as in PyTorch.
        try (x + x).backward(seed: Tensor(shape: [3], repeating: 1))
        #expect(x.grad == Tensor(shape: [3], scalars: [5, 8, 11]))
        // The first graph was released.
        #expect(y.node == nil && doubled.node == nil)
    }

    @Test func noGradientModeRecordsNothing() throws {
        let weight = Variable(Tensor(shape: [2, 3], repeating: 0.5), requiresGrad: true)
        let input = Variable(Tensor(shape: [1, 3], repeating: 1))
        let recorded = linear(input, weight: weight)
        #expect(recorded.requiresGrad && recorded.node != nil)
        let output = withoutGradients { linear(input, weight: weight) }
        #expect(!output.requiresGrad && output.node == nil)
        #expect(output.value == recorded.value)
        #expect(GradientMode.isEnabled)
    }

    @Test func frozenParametersGetNoGradient() throws {
        var generator = SeededGenerator(seed: 3)
        let layer = Conv2d(inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1, using: &generator)
        layer.weight.requiresGrad = false
        let input = Variable(.randomNormal([1, 2, 4, 4], using: &generator), requiresGrad: true)
        try layer(input).backward(seed: Tensor(shape: [1, 3, 4, 4], repeating: 1))
        #expect(layer.weight.grad == nil)
        #expect(layer.bias?.grad == Tensor(shape: [3], repeating: 16))
        #expect(input.grad != nil)
        // With nothing requiring a gradient the result is a constant.
        layer.bias?.requiresGrad = false
        #expect(!(try layer(input.detached())).requiresGrad)
    }

    @Test func dropoutScalesKeptElementsAndIsIdentityInInference() throws {
        var generator = SeededGenerator(seed: 11)
        let layer = Dropout(probability: 0.25, using: &generator)
        let input = Variable(Tensor(shape: [100, 100], repeating: 1), requiresGrad: true)
        let output = try layer(input)
        let values = output.value.scalars
        #expect(values.allSatisfy { $0 == 0 || abs($0 - 4.0 / 3.0) < 1e-6 })
        let kept = Double(values.filter { $0 != 0 }.count) / Double(values.count)
        #expect(abs(kept - 0.75) < 0.02)
        try output.backward(seed: Tensor(shape: [100, 100], repeating: 1))
        #expect(input.grad == output.value)
        layer.eval()
        #expect(try layer(input) === input)
        // The same seed gives the same masks.
        var again = SeededGenerator(seed: 11)
        #expect(try Dropout(probability: 0.25, using: &again)(input.detached()).value == output.value)
    }
}

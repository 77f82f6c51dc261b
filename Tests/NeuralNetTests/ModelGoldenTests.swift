import Foundation
import Testing
import TestSupport

@testable import NeuralNet
@testable import TensorCore

/// The reduced ResNets and the fastai classifier against PyTorch: torchvision keys load strictly; eval and train
/// outputs within rtol 1e-4; input and every parameter gradient, the running statistics after the step, and a
/// 3-step AdamW + one-cycle run within the tolerances of the fixture README.
@Suite(.enabled(if: Golden.available, "golden fixtures absent"))
struct ModelGoldenTests {
    /// The configuration recorded in a ResNet fixture's `config.model`.
    static func configuration(_ model: [String: Any], classes: Int?) throws -> ResNetConfiguration {
        let block = try #require(
            ResNetConfiguration.Block(
                rawValue: (model["block"] as? String ?? "").lowercased()
                    .replacingOccurrences(of: "block", with: "")))
        return ResNetConfiguration(
            block: block, layers: try #require(model["layers"] as? [Int]),
            widths: try #require(model["widths"] as? [Int]), classes: classes)
    }

    /// Eval output, then (from the same parameters) the train output and its backward pass, as the fixture did.
    func checkForwardBackward(
        _ model: ResNet, _ golden: Golden, prefix: String, gradientKeys: [String]? = nil
    ) throws {
        let parameters = golden.stateDict(prefix: "param.")
        let input = try golden.tensor("\(prefix)input")
        let label = "\(golden.name).\(prefix)"

        try model.load(stateDict: parameters)
        model.eval()
        let evalOutput = try withoutGradients { try model(Variable(input)) }
        expectClose(
            evalOutput.value, try golden.tensor("\(prefix)output_eval"), rtol: forwardTolerance, "\(label)output_eval")

        try model.load(stateDict: parameters)
        model.train()
        model.clearGradients()
        let inputVariable = Variable(input, requiresGrad: true)
        let output = try model(inputVariable)
        try output.backward(seed: golden.tensor("\(prefix)grad_output"))
        expectClose(output.value, try golden.tensor("\(prefix)output"), rtol: forwardTolerance, "\(label)output")
        expectClose(
            try #require(inputVariable.grad), try golden.tensor("\(prefix)grad_input"), rtol: backwardTolerance,
            "\(label)grad_input")
        for (key, parameter) in model.namedParameters() where gradientKeys?.contains(key) ?? true {
            expectClose(
                try #require(parameter.grad, "no gradient for \(key)"), try golden.tensor("\(prefix)grad.\(key)"),
                rtol: backwardTolerance, "\(label)grad.\(key)")
        }
        for (key, buffer) in model.namedBuffers() {
            let expected = try golden.tensor("\(prefix)state_after.\(key)")
            if key.hasSuffix("num_batches_tracked") {
                #expect(buffer.value == expected, "\(key)")
            } else {
                expectClose(buffer.value, expected, rtol: forwardTolerance, "\(label)state_after.\(key)")
            }
        }
    }

    @Test(arguments: ["resnet_basic", "resnet_bottleneck"]) func resNetMatchesPyTorch(_ name: String) throws {
        let golden = try Golden(name)
        let modelConfig = try #require(golden.config["model"] as? [String: Any])
        let configuration = try Self.configuration(
            modelConfig, classes: try #require(modelConfig["num_classes"] as? Int))
        var generator = SeededGenerator(seed: 1)
        let model = ResNet(configuration, using: &generator)
        // Same keys as torchvision, and the same parameter count.
        #expect(Set(model.stateDict().keys) == Set(golden.stateDict(prefix: "param.").keys))
        #expect(model.parameters.reduce(0) { $0 + $1.value.count } == golden.config["param_count"] as? Int)

        try checkForwardBackward(model, golden, prefix: "")
        if name == "resnet_basic" {
            try checkForwardBackward(model, golden, prefix: "at120.", gradientKeys: ["conv1.weight", "fc.weight"])
        }
    }

    /// Puts `model` in training mode with its dropout held in inference, as the fixture does for determinism.
    static func trainHoldingDropout(_ model: Module) {
        model.train()
        for (_, module) in model.namedModules() where module is Dropout { module.isTraining = false }
    }

    static func classifier(_ golden: Golden) throws -> FastaiClassifier {
        let body = try Self.configuration(try #require(golden.config["body"] as? [String: Any]), classes: nil)
        let head = try #require(golden.config["head"] as? [String: Any])
        var generator = SeededGenerator(seed: 2)
        return FastaiClassifier(
            body: body, hidden: try #require(head["hidden"] as? Int), classes: try #require(head["n_classes"] as? Int),
            using: &generator)
    }

    /// One test for the single step and the training run. They use identical shapes, so they share cached oneDNN
    /// plans, and a TensorCore plan run on another thread than the one that built it can crash: oneDNN's default
    /// (library) scratchpad is per thread. Within one test both share a thread, until TensorCore gives oneDNN a
    /// scratchpad of its own (`dnnl_scratchpad_mode_user`).
    @Test func fastaiClassifierMatchesPyTorch() throws {
        try checkClassifierStep()
        try checkClassifierTrainingRun()
    }

    func checkClassifierStep() throws {
        let golden = try Golden("classifier_fastai")
        let model = try Self.classifier(golden)
        let parameters = golden.stateDict(prefix: "param.")
        #expect(Set(model.stateDict().keys) == Set(parameters.keys))
        let (input, target) = (try golden.tensor("input"), try golden.tensor("target"))

        try model.load(stateDict: parameters)
        model.eval()
        let evalOutput = try withoutGradients { try model(Variable(input)) }
        expectClose(
            evalOutput.value, try golden.tensor("output_eval"), rtol: forwardTolerance, "classifier.output_eval")

        try model.load(stateDict: parameters)
        Self.trainHoldingDropout(model)
        let inputVariable = Variable(input, requiresGrad: true)
        let output = try model(inputVariable)
        let loss = binaryCrossEntropyWithLogits(output, targets: target)
        try loss.backward()
        expectClose(output.value, try golden.tensor("output"), rtol: forwardTolerance, "classifier.output")
        expectClose(loss.value, try golden.tensor("loss"), rtol: forwardTolerance, "classifier.loss")
        expectClose(
            try #require(inputVariable.grad), try golden.tensor("grad_input"), rtol: backwardTolerance,
            "classifier.grad_input")
        for (key, parameter) in model.namedParameters() {
            expectClose(
                try #require(parameter.grad, "no gradient for \(key)"), try golden.tensor("grad.\(key)"),
                rtol: backwardTolerance, "classifier.grad.\(key)")
        }
        for (key, buffer) in model.namedBuffers() where !key.hasSuffix("num_batches_tracked") {
            expectClose(
                buffer.value, try golden.tensor("state_after.\(key)"), rtol: forwardTolerance,
                "classifier.state_after.\(key)")
        }
    }

    /// Three AdamW + one-cycle steps on the same batch from `param.*` reach `train.final.*`.
    func checkClassifierTrainingRun() throws {
        let golden = try Golden("classifier_fastai")
        let model = try Self.classifier(golden)
        try model.load(stateDict: golden.stateDict(prefix: "param."))
        let (input, target) = (Variable(try golden.tensor("input")), try golden.tensor("target"))
        let run = try #require(golden.config["train_run"] as? [String: Any])
        let used = try #require(run["schedule_used"] as? [[String: Any]])

        let optimizer = AdamW(
            [ParameterGroup(model.parameters, learningRate: 0, weightDecay: 0.01)], beta1: 0.95, beta2: 0.99,
            epsilon: 1e-5)
        let schedule = OneCycleSchedule(totalSteps: 10, maxLearningRates: [3e-3])
        var losses: [Float] = []
        for step in 0..<3 {
            schedule.apply(to: optimizer, step: step)
            expectClose(optimizer.groups[0].learningRate, try #require(used[step]["lr"] as? Double), rtol: 1e-12)
            expectClose(optimizer.momentum, try #require(used[step]["beta1"] as? Double), rtol: 1e-12)
            Self.trainHoldingDropout(model)
            optimizer.clearGradients()
            let loss = binaryCrossEntropyWithLogits(try model(input), targets: target)
            try loss.backward()
            optimizer.step()
            losses.append(loss.value.scalars[0])
        }
        expectClose(
            Tensor(shape: [3], scalars: losses), try golden.tensor("train.loss"), rtol: backwardTolerance,
            "classifier.train.loss")
        let final = golden.stateDict(prefix: "train.final.")
        #expect(Set(final.keys) == Set(model.stateDict().keys))
        for (key, value) in model.stateDict() {
            let expected = try #require(final[key])
            if key.hasSuffix("num_batches_tracked") {
                #expect(value == expected, "\(key)")
            } else {
                expectClose(value, expected, rtol: backwardTolerance, "classifier.train.final.\(key)")
            }
        }
    }
}

import Foundation
import Testing
import TestSupport

@testable import NeuralNet
@testable import TensorCore

/// The optimizers, the one-cycle schedule and gradient clipping against PyTorch (`Tests/Fixtures/golden`).
@Suite(.enabled(if: Golden.available, "golden fixtures absent"))
struct OptimizerGoldenTests {
    @Test func adamWWithOneCycleMatchesPyTorch() throws {
        let golden = try Golden("optim_adamw_onecycle")
        let names = ["p0", "p1", "p2", "p3"]
        let parameters = try Dictionary(
            uniqueKeysWithValues: names.map { ($0, Variable(try golden.tensor("param.\($0)"), requiresGrad: true)) })
        let groups = [["p0"], ["p1"], ["p2", "p3"]].map { members in
            ParameterGroup(members.map { parameters[$0]! }, learningRate: 0, weightDecay: 0.01)
        }
        let optimizer = AdamW(groups, beta1: 0.95, beta2: 0.99, epsilon: 1e-8)
        let schedule = OneCycleSchedule(totalSteps: 10, maxLearningRates: [3e-4, 3e-4, 3e-3])
        let used = try #require(golden.config["schedule_used"] as? [[String: Any]])
        #expect(used.count == 10)

        var worstState: Float = 0
        for step in 1...10 {
            schedule.apply(to: optimizer, step: step - 1)
            let row = used[step - 1]
            let expectedRates = try #require(row["lr"] as? [Double])
            let expectedBeta1 = try #require((row["beta1"] as? [Double])?.first)
            for (group, expected) in zip(optimizer.groups, expectedRates) {
                expectClose(group.learningRate, expected, rtol: 1e-12)
            }
            expectClose(optimizer.momentum, expectedBeta1, rtol: 1e-12)

            for name in names { parameters[name]!.grad = try golden.tensor("step\(step).grad.\(name)") }
            optimizer.step()
            for name in names {
                let parameter = parameters[name]!
                let state = try #require(optimizer.state(of: parameter))
                #expect(state.step == step)
                worstState = max(
                    worstState,
                    expectClose(
                        parameter.value, try golden.tensor("step\(step).param.\(name)"), rtol: backwardTolerance,
                        "adamw.step\(step).param.\(name)"),
                    expectClose(
                        state.firstMoment, try golden.tensor("step\(step).exp_avg.\(name)"), rtol: backwardTolerance,
                        "adamw.step\(step).exp_avg.\(name)"),
                    expectClose(
                        state.secondMoment, try golden.tensor("step\(step).exp_avg_sq.\(name)"),
                        rtol: backwardTolerance, "adamw.step\(step).exp_avg_sq.\(name)"))
            }
        }
        #expect(worstState < 1e-5)
    }

    @Test func fastaiV1ScheduleMatchesItsTable() throws {
        let golden = try Golden("optim_adamw_onecycle")
        let comparison = try #require(golden.config["fastai_v1_schedule_for_comparison"] as? [String: Any])
        let rows = try #require(comparison["rows"] as? [[String: Any]])
        let schedule = OneCycleSchedule(totalSteps: 10, maxLearningRates: [3e-3], variant: .fastaiV1)
        #expect(rows.count == 10)
        for row in rows {
            let step = try #require(row["step"] as? Int)
            expectClose(schedule.learningRates(at: step - 1)[0], try #require(row["lr"] as? Double), rtol: 1e-12)
            expectClose(schedule.momentum(at: step - 1), try #require(row["beta1"] as? Double), rtol: 1e-12)
        }
    }

    @Test func sgdWithMomentumAndWeightDecayMatchesPyTorch() throws {
        let golden = try Golden("optim_sgd")
        let names = ["p0", "p1"]
        let parameters = try names.map { Variable(try golden.tensor("param.\($0)"), requiresGrad: true) }
        let optimizer = SGD([ParameterGroup(parameters, learningRate: 0.1, weightDecay: 0.01)], momentum: 0.9)
        for step in 1...3 {
            for (name, parameter) in zip(names, parameters) {
                parameter.grad = try golden.tensor("step\(step).grad.\(name)")
            }
            optimizer.step()
            for (name, parameter) in zip(names, parameters) {
                expectClose(
                    parameter.value, try golden.tensor("step\(step).param.\(name)"), rtol: backwardTolerance,
                    "sgd.step\(step).param.\(name)")
                expectClose(
                    try #require(optimizer.momentumBuffer(of: parameter)),
                    try golden.tensor("step\(step).momentum_buffer.\(name)"), rtol: backwardTolerance,
                    "sgd.step\(step).momentum_buffer.\(name)")
            }
        }
    }

    @Test(arguments: ["clipped", "unclipped"]) func gradientClippingMatchesPyTorch(_ name: String) throws {
        let golden = try Golden("clip_grad_norm")
        let parameters = try ["g0", "g1"].map { key in
            let gradient = try golden.tensor("\(name).grad.\(key)")
            let parameter = Variable(.zeros(gradient.shape), requiresGrad: true)
            parameter.grad = gradient
            return parameter
        }
        let norm = clipGradientNorm(parameters, maxNorm: 1)
        expectClose(
            Tensor(shape: [], scalars: [Float(norm)]), try golden.tensor("\(name).total_norm"), rtol: forwardTolerance,
            "clip.\(name).total_norm")
        for (key, parameter) in zip(["g0", "g1"], parameters) {
            expectClose(
                try #require(parameter.grad), try golden.tensor("\(name).clipped.\(key)"), rtol: backwardTolerance,
                "clip.\(name).clipped.\(key)")
        }
    }
}

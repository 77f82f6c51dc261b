import Foundation
import TensorCore

/// Adam with decoupled weight decay (Loshchilov & Hutter 2019), as PyTorch's `torch.optim.AdamW` and fastai v1's
/// `true_wd` (the paper's optimizer). At step t of a parameter, with the group's lr and wd and the current β1:
///
///     p ← p·(1 − lr·wd);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
///     p ← p − lr / (1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
///
/// ε is added after the bias correction of √v, as PyTorch does, and the bias correction uses the β1 of the current
/// step (a one-cycle schedule changes it). Scalars are formed in Double, tensors updated in Float.
public final class AdamW: Optimizer {
    /// The parameter groups with their learning rates and weight decay.
    public var groups: [ParameterGroup]
    /// β1, the decay of the first moment; a one-cycle schedule cycles it.
    public var momentum: Double
    /// β2, the decay of the second moment.
    public var beta2: Double
    /// The term that keeps the denominator away from zero.
    public var epsilon: Double
    /// Each parameter's step count and moments.
    private var states: [ObjectIdentifier: State] = [:]

    /// One parameter's optimizer state (PyTorch's `step`, `exp_avg`, `exp_avg_sq`).
    public struct State {
        /// The number of steps this parameter has taken.
        public var step: Int
        /// The first moment m, the parameter's shape.
        public var firstMoment: Tensor
        /// The second moment v, the parameter's shape.
        public var secondMoment: Tensor

        /// A state, for example one read back from a training checkpoint.
        public init(step: Int, firstMoment: Tensor, secondMoment: Tensor) {
            self.step = step
            self.firstMoment = firstMoment
            self.secondMoment = secondMoment
        }
    }

    /// An optimizer over `groups`; the defaults are PyTorch's except β2 0.99, fastai's and the paper's.
    public init(_ groups: [ParameterGroup], beta1: Double = 0.9, beta2: Double = 0.99, epsilon: Double = 1e-8) {
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam's betas lie in [0, 1).")
        precondition(epsilon > 0, "Adam's epsilon must be positive.")
        self.groups = groups
        self.momentum = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// The state of `parameter`, if it has taken a step.
    public func state(of parameter: Variable) -> State? {
        states[ObjectIdentifier(parameter)]
    }

    /// Sets the state of `parameter`, so that an interrupted training run continues exactly where it stopped.
    public func restore(_ state: State, of parameter: Variable) {
        precondition(
            state.firstMoment.shape == parameter.shape && state.secondMoment.shape == parameter.shape,
            "Optimizer moments \(state.firstMoment.shape) do not match the parameter \(parameter.shape).")
        states[ObjectIdentifier(parameter)] = state
    }

    /// Updates every parameter that requires a gradient and has one, in place.
    public func step() {
        OperationProfile.measure("AdamW step") { stepParameters() }
    }

    private func stepParameters() {
        let beta1 = momentum
        for group in groups {
            let (learningRate, weightDecay) = (group.learningRate, group.weightDecay)
            for (parameter, gradient) in trainable(group) {
                let key = ObjectIdentifier(parameter)
                var state =
                    states.removeValue(forKey: key)
                    ?? State(
                        step: 0, firstMoment: .zeros(like: parameter.value), secondMoment: .zeros(like: parameter.value)
                    )
                state.step += 1
                let t = Double(state.step)
                let decay = Float(1 - learningRate * weightDecay)
                let stepSize = Float(learningRate / (1 - pow(beta1, t)))
                let correction2Root = Float((1 - pow(beta2, t)).squareRoot())
                let (b2, eps) = (Float(beta2), Float(epsilon))
                // 1 − β in Double, as PyTorch passes these Python floats to its kernels.
                let (oneMinusB1, oneMinusB2) = (Float(1 - beta1), Float(1 - beta2))
                // Elementwise in the parameter's stored layout (a convolution weight may be blocked; padding stays 0).
                let gradient = gradient.inLayout(of: parameter.value)
                state.firstMoment = state.firstMoment.inLayout(of: parameter.value)
                state.secondMoment = state.secondMoment.inLayout(of: parameter.value)
                gradient.withUnsafeStoredScalars { g in
                    state.firstMoment.withUnsafeMutableStoredScalars { m in
                        state.secondMoment.withUnsafeMutableStoredScalars { v in
                            // In place: the storage is unique once the graph that read it is released.
                            parameter.value.withUnsafeMutableStoredScalars { p in
                                // Elementwise, so the threads' chunks are independent.
                                nonisolated(unsafe) let (g, m, v, p) = (g, m, v, p)
                                Parallel.forEachChunk(count: p.count) { range in
                                    for i in range {
                                        p[i] *= decay
                                        // PyTorch's lerp: m + (1 − β1)·(g − m).
                                        m[i] += oneMinusB1 * (g[i] - m[i])
                                        v[i] = v[i] * b2 + oneMinusB2 * g[i] * g[i]
                                        p[i] -= stepSize * (m[i] / (v[i].squareRoot() / correction2Root + eps))
                                    }
                                }
                            }
                        }
                    }
                }
                states[key] = state
            }
        }
    }
}

import TensorCore

/// Stochastic gradient descent with momentum and coupled weight decay, as PyTorch's `torch.optim.SGD` (dampening 0,
/// not Nesterov): g ← g + wd·p; b ← g on the first step, else momentum·b + g; p ← p − lr·b.
public final class SGD: Optimizer {
    /// The parameter groups with their learning rates and weight decay.
    public var groups: [ParameterGroup]
    /// The momentum coefficient (0 disables the buffer).
    public var momentum: Double
    /// The momentum buffer of each parameter that has taken a step.
    private var buffers: [ObjectIdentifier: Tensor] = [:]

    /// An optimizer over `groups` with `momentum` in [0, 1).
    public init(_ groups: [ParameterGroup], momentum: Double = 0) {
        precondition((0..<1).contains(momentum), "SGD momentum lies in [0, 1), not \(momentum).")
        self.groups = groups
        self.momentum = momentum
    }

    /// The momentum buffer of `parameter`, if it has taken a momentum step.
    public func momentumBuffer(of parameter: Variable) -> Tensor? {
        buffers[ObjectIdentifier(parameter)]
    }

    /// Updates every parameter that requires a gradient and has one, in place.
    public func step() {
        for group in groups {
            let (learningRate, weightDecay) = (Float(group.learningRate), Float(group.weightDecay))
            for (parameter, gradient) in trainable(group) {
                var direction = weightDecay != 0 ? gradient + weightDecay * parameter.value : gradient
                if momentum != 0 {
                    let key = ObjectIdentifier(parameter)
                    if let buffer = buffers[key] {
                        direction = Float(momentum) * buffer + direction
                    }
                    buffers[key] = direction
                }
                parameter.value = parameter.value - learningRate * direction
            }
        }
    }
}

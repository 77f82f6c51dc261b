import TensorCore

/// Parameters that share a learning rate and weight decay (PyTorch's `param_groups`; fastai's layer groups, which
/// get discriminative learning rates).
public struct ParameterGroup {
    /// The parameters; those with `requiresGrad` off or no gradient are skipped by a step.
    public var parameters: [Variable]
    /// The step size; a schedule overwrites it before each step.
    public var learningRate: Double
    /// The weight decay (coupled L2 for SGD, decoupled for AdamW).
    public var weightDecay: Double

    /// A group of `parameters` with its own learning rate and weight decay.
    public init(_ parameters: [Variable], learningRate: Double, weightDecay: Double = 0) {
        precondition(learningRate >= 0 && weightDecay >= 0, "Learning rate and weight decay cannot be negative.")
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }
}

/// Something that updates parameters from their gradients, one group of hyper-parameters per `ParameterGroup`.
public protocol Optimizer: AnyObject {
    /// The parameter groups and their current hyper-parameters.
    var groups: [ParameterGroup] { get set }
    /// The momentum a one-cycle schedule cycles: SGD's momentum, Adam's β1.
    var momentum: Double { get set }
    /// Updates every parameter that has a gradient, in place (PyTorch's `optimizer.step()`).
    func step()
}

extension Optimizer {
    /// Clears the gradients of every parameter in every group (PyTorch's `zero_grad(set_to_none=True)`).
    public func clearGradients() {
        for group in groups {
            for parameter in group.parameters { parameter.grad = nil }
        }
    }

    /// The parameters a step updates: those that require a gradient and have one.
    func trainable(_ group: ParameterGroup) -> [(parameter: Variable, gradient: Tensor)] {
        group.parameters.compactMap { parameter in
            guard parameter.requiresGrad, let gradient = parameter.grad else { return nil }
            precondition(
                gradient.shape == parameter.shape,
                "A gradient of shape \(gradient.shape) cannot update a parameter of shape \(parameter.shape).")
            return (parameter, gradient)
        }
    }
}

/// Scales all gradients together so that their joint L2 norm is at most `maxNorm`, and returns the norm before
/// clipping (PyTorch's `clip_grad_norm_`): every gradient is multiplied by min(1, maxNorm / (norm + 1e-6)).
@discardableResult
public func clipGradientNorm(_ parameters: [Variable], maxNorm: Double) -> Double {
    precondition(maxNorm > 0, "The largest gradient norm must be positive.")
    let withGradients = parameters.filter { $0.grad != nil }
    let squaredNorm = withGradients.reduce(0.0) { sum, parameter in
        sum + parameter.grad!.withUnsafeBufferPointer { $0.reduce(0.0) { $0 + Double($1) * Double($1) } }
    }
    let norm = squaredNorm.squareRoot()
    let factor = min(1, maxNorm / (norm + 1e-6))
    if factor < 1 {
        for parameter in withGradients { parameter.grad = parameter.grad! * Float(factor) }
    }
    return norm
}

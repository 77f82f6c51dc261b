import TensorCore

/// A tensor that takes part in reverse-mode differentiation: a value, its accumulated gradient, and the operation
/// that produced it.
///
/// The design is PyTorch's dynamic graph rather than a global tape. Every differentiable operation (`conv2d`,
/// `relu`, `+`, …) returns a new `Variable` holding a node: its input variables and a *pullback* closure that maps
/// the gradient of the output to the gradients of the inputs, capturing what the backward pass needs (the input, the
/// batch statistics, the pooling indices). The graph of one forward pass is therefore owned by its result and freed
/// with it; nothing global is recorded, so independent forward passes (or threads) never share state.
///
/// `backward(seed:)` orders the graph topologically from the result, runs each pullback once with the sum of the
/// gradients that reached its output (a value used twice, as a residual connection's input is, receives both), and
/// adds the final gradients into `grad` of the *leaves* that require them (parameters, or an input whose gradient
/// a test wants). Pullbacks are told which inputs need a gradient, so a frozen weight costs no backward-weights pass.
/// After the pass the nodes are released, as PyTorch does without `retain_graph`, so the memory of the activations
/// is freed before the next forward pass.
///
/// Inside `withoutGradients { … }` (inference) operations record no node at all. A leaf with `requiresGrad` false
/// (data, buffers, frozen parameters) never gets a gradient, and an operation none of whose inputs requires one is a
/// constant.
public final class Variable {
    /// The value (for a leaf such as a parameter, the optimizer writes it in place of the old one).
    public var value: Tensor
    /// The gradient accumulated by `backward(seed:)` since it was last cleared; leaves only, same shape as `value`.
    public var grad: Tensor?
    /// Whether gradients flow to this variable. For a leaf it is the caller's choice (freezing turns it off); for an
    /// operation's result it is true when gradients are enabled and any input requires one.
    public var requiresGrad: Bool
    /// Whether the variable was created by the user (a parameter, an input) rather than by an operation.
    public let isLeaf: Bool
    /// The operation that produced the value; nil for leaves, constants and after `backward` released it.
    var node: Node?

    /// How an operation's result connects back to its inputs.
    struct Node {
        /// The operation's inputs, in the order of the pullback's result.
        let inputs: [Variable]
        /// Maps the output gradient to one gradient per input (nil where the input needs none), given which inputs
        /// need one.
        let pullback: (_ outputGradient: Tensor, _ needed: [Bool]) throws -> [Tensor?]
    }

    /// A leaf holding `value`; `requiresGrad` makes `backward` accumulate into `grad` (a parameter, or an input).
    public init(_ value: Tensor, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.isLeaf = true
    }

    /// An operation's result: records `pullback` when gradients are enabled and any of `inputs` requires one.
    init(
        _ value: Tensor, inputs: [Variable],
        pullback: @escaping (_ outputGradient: Tensor, _ needed: [Bool]) throws -> [Tensor?]
    ) {
        self.value = value
        self.isLeaf = false
        if GradientMode.isEnabled && inputs.contains(where: \.requiresGrad) {
            self.requiresGrad = true
            self.node = Node(inputs: inputs, pullback: pullback)
        } else {
            self.requiresGrad = false
        }
    }

    /// The value's shape.
    public var shape: [Int] { value.shape }

    /// A leaf with the same value that is cut off from the graph (PyTorch's `detach`).
    public func detached() -> Variable {
        Variable(value)
    }
}

extension Variable: CustomStringConvertible {
    /// The value, and whether it requires a gradient.
    public var description: String {
        "Variable(\(value)\(requiresGrad ? ", requiresGrad" : ""))"
    }
}

/// Whether operations record the graph for `backward` (true outside `withoutGradients`).
public enum GradientMode {
    /// Task-local, so inference in one task never switches off recording in another.
    @TaskLocal static var enabled = true

    /// Whether operations on this task currently record the graph.
    public static var isEnabled: Bool { enabled }
}

/// Runs `body` with gradient recording off (PyTorch's `torch.no_grad()`): for inference and evaluation, where no
/// backward pass follows, so no activations are kept alive for one.
public func withoutGradients<Result>(_ body: () throws -> Result) rethrows -> Result {
    try GradientMode.$enabled.withValue(false) { try body() }
}

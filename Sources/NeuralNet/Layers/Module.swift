import TensorCore

/// A node of a model: its own parameters and buffers, its sub-modules, and whether it is training.
///
/// Names follow PyTorch's `state_dict`: a module's entries are its own parameters, then its own buffers, then each
/// child's entries behind `<child name>.`, so a torchvision or fastai checkpoint loads by key. Subclasses list
/// their parts by overriding `namedChildren`, `namedOwnParameters` and `namedOwnBuffers`.
open class Module {
    /// Training (batch statistics, dropout on) or inference (running statistics, dropout off); set it for a whole
    /// model with `train(_:)`. New modules start in training mode, as in PyTorch.
    public var isTraining = true

    /// Creates a module in training mode.
    public init() {}

    /// The direct sub-modules with their name segments, in `state_dict` order.
    open var namedChildren: [(name: String, module: Module)] { [] }
    /// The parameters this module owns directly (not its children's), in `state_dict` order.
    open var namedOwnParameters: [(name: String, parameter: Variable)] { [] }
    /// The buffers (state that is saved but not trained, such as `running_mean`) this module owns directly.
    open var namedOwnBuffers: [(name: String, buffer: Variable)] { [] }
}

/// A module that maps one value to one value, called as a function: `let output = try layer(input)`.
public protocol Layer: Module {
    /// The layer's output for `input`, in the mode `isTraining` selects.
    func callAsFunction(_ input: Variable) throws -> Variable
}

extension Module {
    /// This module and all its descendants, depth first, with their dotted names (this module's is "").
    public func namedModules() -> [(name: String, module: Module)] {
        var result: [(name: String, module: Module)] = [("", self)]
        for (name, child) in namedChildren {
            result += child.namedModules().map { (Self.join(name, $0.name), $0.module) }
        }
        return result
    }

    /// Every parameter with its `state_dict` key (`layer1.0.conv1.weight`), in `state_dict` order.
    public func namedParameters() -> [(name: String, parameter: Variable)] {
        namedModules().flatMap { prefix, module in
            module.namedOwnParameters.map { (Self.join(prefix, $0.name), $0.parameter) }
        }
    }

    /// Every parameter, in `state_dict` order.
    public var parameters: [Variable] { namedParameters().map(\.parameter) }

    /// Every buffer (`running_mean`, `running_var`, `num_batches_tracked`) with its `state_dict` key.
    public func namedBuffers() -> [(name: String, buffer: Variable)] {
        namedModules().flatMap { prefix, module in
            module.namedOwnBuffers.map { (Self.join(prefix, $0.name), $0.buffer) }
        }
    }

    /// Parameters and buffers by key, in PyTorch's `state_dict` order (each module's parameters, then its buffers,
    /// then its children).
    public func namedStateEntries() -> [(name: String, variable: Variable)] {
        namedModules().flatMap { prefix, module in
            (module.namedOwnParameters.map { ($0.name, $0.parameter) }
                + module.namedOwnBuffers.map { ($0.name, $0.buffer) })
                .map { (Self.join(prefix, $0.0), $0.1) }
        }
    }

    /// The values of all parameters and buffers by `state_dict` key (`num_batches_tracked` as a float scalar).
    public func stateDict() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: namedStateEntries().map { ($0.name, $0.variable.value) })
    }

    /// Replaces parameter and buffer values by `state_dict` key; nothing changes if it throws.
    ///
    /// With `strict`, a key the model has but `stateDict` lacks, or one `stateDict` has but the model lacks, is an
    /// error; without it such keys are skipped (for a partial load, such as a body without its head). A shape that
    /// differs is always an error. The error is one line naming the first offending key.
    public func load(stateDict: [String: Tensor], strict: Bool = true) throws {
        let entries = namedStateEntries()
        let known = Set(entries.map(\.name))
        if strict {
            if let missing = entries.first(where: { stateDict[$0.name] == nil }) {
                throw StateDictError(key: missing.name, problem: .missing)
            }
            if let unexpected = stateDict.keys.sorted().first(where: { !known.contains($0) }) {
                throw StateDictError(key: unexpected, problem: .unexpected)
            }
        }
        for (name, variable) in entries {
            if let value = stateDict[name], value.shape != variable.shape {
                throw StateDictError(key: name, problem: .shapeMismatch(checkpoint: value.shape, model: variable.shape))
            }
        }
        for (name, variable) in entries {
            if let value = stateDict[name] { variable.value = value }
        }
    }

    /// Sets training (`true`) or inference mode on this module and all its descendants (PyTorch's `train()`).
    public func train(_ training: Bool = true) {
        for (_, module) in namedModules() { module.isTraining = training }
    }

    /// Sets inference mode on this module and all its descendants (PyTorch's `eval()`).
    public func eval() {
        train(false)
    }

    /// Clears the gradient of every parameter (PyTorch's `zero_grad(set_to_none=True)`).
    public func clearGradients() {
        for parameter in parameters { parameter.grad = nil }
    }

    private static func join(_ prefix: String, _ name: String) -> String {
        prefix.isEmpty ? name : name.isEmpty ? prefix : "\(prefix).\(name)"
    }
}

/// A `state_dict` that does not fit a model, naming the key.
public struct StateDictError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What is wrong with a key.
    public enum Problem: Equatable, Sendable {
        /// The model has the key but the checkpoint lacks it.
        case missing
        /// The checkpoint has the key but the model lacks it.
        case unexpected
        /// Both have the key with different shapes.
        case shapeMismatch(checkpoint: [Int], model: [Int])
    }

    /// The `state_dict` key.
    public let key: String
    /// What is wrong with it.
    public let problem: Problem

    /// One line naming the key and the problem.
    public var description: String {
        switch problem {
        case .missing: "missing key \(key): the model has it but the checkpoint does not"
        case .unexpected: "unexpected key \(key): the checkpoint has it but the model does not"
        case .shapeMismatch(let checkpoint, let model):
            "shape mismatch for \(key): the checkpoint has \(checkpoint) but the model expects \(model)"
        }
    }
}

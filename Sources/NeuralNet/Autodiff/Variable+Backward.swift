import TensorCore

extension Variable {
    /// Back-propagates from this variable: adds d(seed · self)/d(leaf) into `grad` of every leaf that requires a
    /// gradient, then releases the graph.
    ///
    /// `seed` is the gradient of the final objective with respect to this value (`output.backward(grad_output)` in
    /// PyTorch); it may be omitted for a single-element value such as a loss, where it is 1. Gradients add up over
    /// calls until cleared (`grad = nil`), as in PyTorch.
    public func backward(seed: Tensor? = nil) throws {
        if seed == nil {
            precondition(
                value.count == 1, "backward() needs a seed for a value of shape \(shape); only a scalar has 1.")
        }
        let seed = seed ?? Tensor(shape: shape, repeating: 1)
        precondition(seed.shape == shape, "The seed \(seed.shape) must have the shape of the value \(shape).")
        guard requiresGrad else { return }
        if isLeaf {
            accumulate(seed)
            return
        }
        precondition(node != nil, "The graph of this value was released by an earlier backward pass.")

        // Each node's output gradient is complete once every consumer has run: process in reverse topological order.
        let order = topologicalOrder()
        var gradients: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        for variable in order.reversed() {
            guard let node = variable.node,
                let outputGradient = gradients.removeValue(forKey: ObjectIdentifier(variable))
            else { continue }
            variable.node = nil
            let needed = node.inputs.map(\.requiresGrad)
            let inputGradients = try node.pullback(outputGradient, needed)
            precondition(inputGradients.count == node.inputs.count, "A pullback returns one gradient per input.")
            for (input, gradient) in zip(node.inputs, inputGradients) where input.requiresGrad {
                guard let gradient else { continue }
                precondition(
                    gradient.shape == input.shape,
                    "A pullback gave a gradient of shape \(gradient.shape) for an input of shape \(input.shape).")
                OperationProfile.measure("gradient accumulation") {
                    if input.isLeaf {
                        input.accumulate(gradient)
                    } else {
                        let key = ObjectIdentifier(input)
                        gradients[key] = gradients[key].map { $0 + gradient } ?? gradient
                    }
                }
            }
        }
    }

    /// Adds `gradient` into `grad`.
    private func accumulate(_ gradient: Tensor) {
        if grad == nil {
            grad = gradient
        } else {
            grad! += gradient
        }
    }

    /// The non-leaf variables this one depends on (itself included), each after all of its inputs.
    private func topologicalOrder() -> [Variable] {
        var order: [Variable] = []
        var visited: Set<ObjectIdentifier> = [ObjectIdentifier(self)]
        // An explicit stack, so a deep network cannot overflow the call stack: (variable, next input to visit).
        var stack: [(variable: Variable, nextInput: Int)] = [(self, 0)]
        while let (variable, nextInput) = stack.last {
            let inputs = variable.node?.inputs ?? []
            if nextInput < inputs.count {
                stack[stack.count - 1].nextInput += 1
                let input = inputs[nextInput]
                if input.node != nil && visited.insert(ObjectIdentifier(input)).inserted {
                    stack.append((input, 0))
                }
            } else {
                stack.removeLast()
                order.append(variable)
            }
        }
        return order
    }
}

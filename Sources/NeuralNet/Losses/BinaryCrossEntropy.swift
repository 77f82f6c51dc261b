import Foundation
import TensorCore

/// The mean binary cross-entropy of `logits` against `targets` in [0, 1] (PyTorch's `BCEWithLogitsLoss`, reduction
/// mean), for multi-label classification: logits and targets `[batch, classes]` (any equal shapes), giving a scalar.
///
/// Each element contributes max(x, 0) − x·y + log(1 + e^−|x|), which never overflows, and its gradient
/// (σ(x) − y) / count uses a sigmoid that never divides infinities, so ±30 logits are exact. Sums run in Double.
public func binaryCrossEntropyWithLogits(_ logits: Variable, targets: Tensor) -> Variable {
    precondition(
        logits.shape == targets.shape, "Logits \(logits.shape) and targets \(targets.shape) must have one shape.")
    precondition(logits.value.count > 0, "The loss of an empty batch is undefined.")
    let (x, y) = (logits.value, targets)
    let count = Double(x.count)
    let total = x.withUnsafeBufferPointer { x in
        y.withUnsafeBufferPointer { y in
            zip(x, y).reduce(0.0) { sum, pair in
                let (logit, target) = (Double(pair.0), Double(pair.1))
                return sum + max(logit, 0) - logit * target + log1p(exp(-abs(logit)))
            }
        }
    }
    let loss = Tensor(shape: [], scalars: [Float(total / count)])
    return Variable(loss, inputs: [logits]) { gradient, _ in
        let scale = Double(gradient.scalars[0]) / count
        let inputGradient = Tensor.filled(x.shape) { result in
            x.withUnsafeBufferPointer { x in
                y.withUnsafeBufferPointer { y in
                    for index in result.indices {
                        result[index] = Float((logistic(Double(x[index])) - Double(y[index])) * scale)
                    }
                }
            }
        }
        return [inputGradient]
    }
}

/// 1 / (1 + e^−x), evaluated so that neither branch overflows.
func logistic(_ x: Double) -> Double {
    if x >= 0 { return 1 / (1 + exp(-x)) }
    let e = exp(x)
    return e / (1 + e)
}

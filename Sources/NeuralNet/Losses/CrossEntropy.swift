import Foundation
import TensorCore

/// The mean softmax cross-entropy of `logits` `[batch, classes, …]` (per pixel for `[batch, classes, height,
/// width]`) against class indices `targets` (`[batch, …]` in row-major order, one per pixel), giving a scalar
/// (PyTorch's `CrossEntropyLoss`, reduction mean).
///
/// Pixels whose target is `ignoreIndex` (for example 0 = no data) are left out. With `classWeights` `[classes]` the
/// mean is PyTorch's weighted one: Σ w[t]·(−log softmax(x)[t]) / Σ w[t] over the pixels kept. If every pixel is
/// ignored the loss and its gradient are 0 (PyTorch gives NaN), so a chip without labels cannot poison training.
/// The log-sum-exp subtracts the largest logit, and sums run in Double.
public func crossEntropy(
    _ logits: Variable, targets: [Int], ignoreIndex: Int? = nil, classWeights: Tensor? = nil
) -> Variable {
    let shape = logits.shape
    precondition(shape.count >= 2, "Cross-entropy logits are [batch, classes, …], not \(shape).")
    let (batch, classes) = (shape[0], shape[1])
    let pixels = shape.dropFirst(2).reduce(1, *)
    precondition(
        targets.count == batch * pixels, "\(targets.count) targets do not match logits \(shape) (one per pixel).")
    if let classWeights {
        precondition(classWeights.shape == [classes], "Class weights are [classes], not \(classWeights.shape).")
    }
    let weights = classWeights?.scalars.map(Double.init) ?? [Double](repeating: 1, count: classes)
    for target in targets where target != ignoreIndex {
        precondition((0..<classes).contains(target), "The target class \(target) is outside 0..<\(classes).")
    }

    // Per pixel: the softmax probabilities, kept for the backward pass, and the weighted negative log-likelihood.
    var probabilities = [Float](repeating: 0, count: logits.value.count)
    // Per image, summed in image order afterwards, so the result does not depend on the thread count.
    var imageLoss = [Double](repeating: 0, count: batch)
    var imageWeight = [Double](repeating: 0, count: batch)
    OperationProfile.measure("cross-entropy forward") {
        let x = logits.value
        probabilities.withUnsafeMutableBufferPointer { probabilities in
            imageLoss.withUnsafeMutableBufferPointer { imageLoss in
                imageWeight.withUnsafeMutableBufferPointer { imageWeight in
                    x.withUnsafeBufferPointer { x in
                        // Each image writes only its own elements.
                        nonisolated(unsafe) let (probabilities, imageLoss, imageWeight, x) = (
                            probabilities, imageLoss, imageWeight, x
                        )
                        Parallel.forEachIndex(count: batch) { n in
                            var row = [Double](repeating: 0, count: classes)
                            var (weightedLoss, weightTotal) = (0.0, 0.0)
                            for pixel in 0..<pixels {
                                let target = targets[n * pixels + pixel]
                                if target == ignoreIndex { continue }
                                let base = n * classes * pixels + pixel
                                for c in 0..<classes { row[c] = Double(x[base + c * pixels]) }
                                let largest = row.max()!
                                let logSumExp = largest + log(row.reduce(0) { $0 + exp($1 - largest) })
                                for c in 0..<classes {
                                    probabilities[base + c * pixels] = Float(exp(row[c] - logSumExp))
                                }
                                weightedLoss += weights[target] * (logSumExp - row[target])
                                weightTotal += weights[target]
                            }
                            (imageLoss[n], imageWeight[n]) = (weightedLoss, weightTotal)
                        }
                    }
                }
            }
        }
    }
    let weightedLoss = imageLoss.reduce(0, +)
    let weightTotal = imageWeight.reduce(0, +)
    let loss = Tensor(shape: [], scalars: [weightTotal > 0 ? Float(weightedLoss / weightTotal) : 0])
    return Variable(loss, inputs: [logits]) { gradient, _ in
        guard weightTotal > 0 else { return [Tensor.zeros(shape)] }
        let scale = Double(gradient.scalars[0]) / weightTotal
        let inputGradient = OperationProfile.measure("cross-entropy backward") {
            Tensor.filled(shape) { result in
                nonisolated(unsafe) let result = result
                probabilities.withUnsafeBufferPointer { probabilities in
                    nonisolated(unsafe) let probabilities = probabilities
                    Parallel.forEachIndex(count: batch) { n in
                        for pixel in 0..<pixels {
                            let target = targets[n * pixels + pixel]
                            if target == ignoreIndex { continue }
                            let base = n * classes * pixels + pixel
                            let coefficient = weights[target] * scale
                            for c in 0..<classes {
                                let index = base + c * pixels
                                let indicator = c == target ? 1.0 : 0.0
                                result[index] = Float(coefficient * (Double(probabilities[index]) - indicator))
                            }
                        }
                    }
                }
            }
        }
        return [inputGradient]
    }
}

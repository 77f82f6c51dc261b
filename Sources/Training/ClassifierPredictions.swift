import Foundation
import LandCoverData
import Metrics
import NeuralNet
import TensorCore

/// A classifier's outputs on a list of images: probabilities, the true label sets and each image's loss.
public struct ClassifierPredictions: Sendable {
    /// The source indices of the images, in order.
    public var indices: [Int]
    /// Sigmoid probabilities `[image][class]`.
    public var probabilities: [[Float]]
    /// True labels `[image][class]`.
    public var truth: [[Bool]]
    /// Each image's binary cross-entropy, averaged over classes (the loss training minimises).
    public var losses: [Double]

    /// The mean loss over all images.
    public var meanLoss: Double { losses.isEmpty ? 0 : losses.reduce(0, +) / Double(losses.count) }

    /// The number of classes.
    public var classCount: Int { probabilities.first?.count ?? 0 }

    /// 0.5 for every class.
    public var defaultThresholds: [Float] { [Float](repeating: 0.5, count: classCount) }

    /// The multi-label scores when class `c` is predicted where its probability exceeds `thresholds[c]`.
    public func evaluation(thresholds: [Float]) -> MultiLabelEvaluation {
        MultiLabelEvaluation(
            truth: truth, predicted: MultiLabelEvaluation.decide(probabilities, thresholds: thresholds))
    }

    /// Runs `model` in inference mode over `indices` of `batches.source`, in batches of `batchSize`; `progress`
    /// gets (batches done, batches, mean loss so far). The model's training mode is restored afterwards.
    public static func predict(
        model: any Layer, batches: ImageBatches, indices: [Int], batchSize: Int,
        progress: ((Int, Int, Double) -> Void)? = nil
    ) throws -> ClassifierPredictions {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var result = ClassifierPredictions(indices: indices, probabilities: [], truth: [], losses: [])
        let parts = ImageBatches.partition(indices, batchSize: batchSize, dropLast: false)
        for (number, part) in parts.enumerated() {
            let (input, targets) = try batches.batch(part)
            let logits = try withoutGradients { try model(Variable(input)) }.value
            let classes = logits.shape[1]
            let x = logits.scalars
            let y = targets.scalars
            for image in 0..<part.count {
                var probabilities = [Float](repeating: 0, count: classes)
                var truth = [Bool](repeating: false, count: classes)
                var loss = 0.0
                for c in 0..<classes {
                    let logit = Double(x[image * classes + c])
                    let target = Double(y[image * classes + c])
                    probabilities[c] = Float(1 / (1 + exp(-logit)))
                    truth[c] = target > 0.5
                    // Stable BCE with logits: max(x, 0) − x·y + log(1 + e^−|x|).
                    loss += max(logit, 0) - logit * target + log1p(exp(-abs(logit)))
                }
                result.probabilities.append(probabilities)
                result.truth.append(truth)
                result.losses.append(loss / Double(classes))
            }
            progress?(number + 1, parts.count, result.meanLoss)
        }
        return result
    }
}

extension LineChart {
    /// Training and validation loss and the validation scores per epoch: F1 (micro, macro) for a classifier, pixel
    /// accuracy and mean IoU for a segmenter.
    public static func trainingCurves(_ epochs: [EpochRecord]) -> LineChart {
        func series(_ name: String, _ color: String, _ value: (EpochRecord) -> Double?) -> Series {
            Series(name: name, points: epochs.map { (Double($0.epoch), value($0) ?? .nan) }, color: color)
        }
        let segmenter = epochs.contains { $0.pixelAccuracy != nil }
        let scores =
            segmenter
            ? [series("pixel accuracy", "#2ca02c") { $0.pixelAccuracy }, series("mean IoU", "#d62728") { $0.meanIoU }]
            : [series("F1 micro", "#2ca02c") { $0.f1Micro }, series("F1 macro", "#d62728") { $0.f1Macro }]
        return LineChart(
            title: "Training curves", xLabel: "epoch", yLabel: segmenter ? "loss / accuracy / IoU" : "loss / F1",
            series: [
                series("train loss", "#1f77b4") { $0.trainLoss },
                series("validation loss", "#ff7f0e") { $0.validationLoss },
            ] + scores)
    }
}

/// Scores of one class in a multi-label evaluation.
public struct ClassScores: Sendable, Equatable, Codable {
    /// Images that truly carry the class.
    public var support: Int
    /// Images predicted to carry the class.
    public var predicted: Int
    /// True positives (images).
    public var truePositives: Int
    /// TP / (TP + FP); 0 when nothing was predicted.
    public var precision: Double
    /// TP / (TP + FN); 0 when the class never occurs.
    public var recall: Double
    /// Harmonic mean of precision and recall; 0 when both are 0.
    public var f1: Double
}

/// Multi-label classification metrics of Ulmas & Liiv 2020 §III.C (Table 3, Tables 4–6), computed from
/// indicator matrices `[images][classes]`.
///
/// Conventions for edge cases (stated because libraries differ): a class with no true and no predicted image has
/// precision, recall and F1 0 and is left out of `f1MacroPresent` but counted in `f1Macro` (as scikit-learn's
/// `average='macro'` with `zero_division=0`); an image with no true and no predicted label is an exact match
/// with per-image F1 1.
public struct MultiLabelEvaluation: Sendable, Equatable, Codable {
    /// Number of images.
    public var imageCount: Int
    /// Share of images whose predicted label set equals the true one (paper eq. 3).
    public var exactMatchRatio: Double
    /// Share of images that are not exact but share at least one label with the truth.
    public var partialRatio: Double
    /// Share of images with no correctly predicted label.
    public var incorrectRatio: Double
    /// Precision over all (image, class) cells.
    public var precisionMicro: Double
    /// Recall over all cells.
    public var recallMicro: Double
    /// F1 from global TP, FP, FN (scikit-learn `average='micro'`).
    public var f1Micro: Double
    /// Mean of per-class F1 over all classes.
    public var f1Macro: Double
    /// Mean of per-class F1 over classes that occur in the truth or the predictions.
    public var f1MacroPresent: Double
    /// Mean over images of the per-image F1 (scikit-learn `average='samples'`; fastai v1's `fbeta` with β = 1).
    public var f1Samples: Double
    /// Per-class scores, in class order.
    public var classes: [ClassScores]

    /// Evaluates `predicted` against `truth`, both `[images][classes]`.
    public init(truth: [[Bool]], predicted: [[Bool]]) {
        precondition(truth.count == predicted.count, "Truth has \(truth.count) images, predictions \(predicted.count).")
        let classCount = truth.first?.count ?? 0
        var tp = [Int](repeating: 0, count: classCount)
        var support = [Int](repeating: 0, count: classCount)
        var predictedCount = [Int](repeating: 0, count: classCount)
        var exact = 0
        var partial = 0
        var incorrect = 0
        var sampleF1 = 0.0
        for (trueRow, predictedRow) in zip(truth, predicted) {
            precondition(
                trueRow.count == classCount && predictedRow.count == classCount,
                "Every image needs \(classCount) class indicators.")
            var hits = 0
            var trueCount = 0
            var predictedTotal = 0
            for c in 0..<classCount {
                if trueRow[c] {
                    support[c] += 1
                    trueCount += 1
                }
                if predictedRow[c] {
                    predictedCount[c] += 1
                    predictedTotal += 1
                }
                if trueRow[c] && predictedRow[c] {
                    tp[c] += 1
                    hits += 1
                }
            }
            if trueRow == predictedRow {
                exact += 1
            } else if hits > 0 {
                partial += 1
            } else {
                incorrect += 1
            }
            sampleF1 += trueCount + predictedTotal == 0 ? 1 : 2 * Double(hits) / Double(trueCount + predictedTotal)
        }
        let n = Double(max(truth.count, 1))
        imageCount = truth.count
        exactMatchRatio = Double(exact) / n
        partialRatio = Double(partial) / n
        incorrectRatio = Double(incorrect) / n
        f1Samples = truth.isEmpty ? 0 : sampleF1 / n
        classes = (0..<classCount).map { c in
            let precision = Self.ratio(tp[c], predictedCount[c])
            let recall = Self.ratio(tp[c], support[c])
            return ClassScores(
                support: support[c], predicted: predictedCount[c], truePositives: tp[c], precision: precision,
                recall: recall, f1: Self.harmonicMean(precision, recall))
        }
        let totalTP = tp.reduce(0, +)
        precisionMicro = Self.ratio(totalTP, predictedCount.reduce(0, +))
        recallMicro = Self.ratio(totalTP, support.reduce(0, +))
        f1Micro = Self.harmonicMean(precisionMicro, recallMicro)
        f1Macro = classes.isEmpty ? 0 : classes.map(\.f1).reduce(0, +) / Double(classes.count)
        let present = classes.filter { $0.support > 0 || $0.predicted > 0 }
        f1MacroPresent = present.isEmpty ? 0 : present.map(\.f1).reduce(0, +) / Double(present.count)
    }

    static func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator == 0 ? 0 : Double(numerator) / Double(denominator)
    }

    static func harmonicMean(_ a: Double, _ b: Double) -> Double { a + b == 0 ? 0 : 2 * a * b / (a + b) }

    /// Indicator matrix from probabilities `[images][classes]` and one threshold per class (`p > threshold`).
    public static func decide(_ probabilities: [[Float]], thresholds: [Float]) -> [[Bool]] {
        probabilities.map { row in
            precondition(row.count == thresholds.count, "One threshold per class is needed.")
            return zip(row, thresholds).map { $0 > $1 }
        }
    }

    /// Per-class thresholds maximising each class's F1 on (validation) data; classes absent from `truth` keep
    /// `fallback`. Candidates are the midpoints of consecutive distinct probabilities, so the result is exact.
    public static func tunedThresholds(probabilities: [[Float]], truth: [[Bool]], fallback: Float = 0.5) -> [Float] {
        let classCount = truth.first?.count ?? 0
        return (0..<classCount).map { c in
            let pairs = zip(probabilities, truth).map { ($0[c], $1[c]) }.sorted { $0.0 > $1.0 }
            let positives = pairs.filter(\.1).count
            guard positives > 0 else { return fallback }
            // Walk down the sorted probabilities: predicting the top k positive.
            var best = (f1: 0.0, threshold: fallback)
            var truePositives = 0
            for k in 0..<pairs.count {
                if pairs[k].1 { truePositives += 1 }
                let isBoundary = k + 1 == pairs.count || pairs[k + 1].0 < pairs[k].0
                guard isBoundary else { continue }
                let f1 = 2 * Double(truePositives) / Double(k + 1 + positives)
                if f1 > best.f1 {
                    let next = k + 1 < pairs.count ? pairs[k + 1].0 : min(pairs[k].0 - 1e-6, 0)
                    best = (f1, (pairs[k].0 + next) / 2)
                }
            }
            return best.threshold
        }
    }
}

/// Pearson correlation of two equally long series; nil when either has no variance or fewer than 2 points.
/// The paper reports it between class size and F1 (0.59) and IoU (0.66).
public func pearsonCorrelation(_ x: [Double], _ y: [Double]) -> Double? {
    precondition(x.count == y.count, "Series lengths differ: \(x.count) and \(y.count).")
    guard x.count >= 2 else { return nil }
    let n = Double(x.count)
    let meanX = x.reduce(0, +) / n
    let meanY = y.reduce(0, +) / n
    var covariance = 0.0
    var varianceX = 0.0
    var varianceY = 0.0
    for (a, b) in zip(x, y) {
        covariance += (a - meanX) * (b - meanY)
        varianceX += (a - meanX) * (a - meanX)
        varianceY += (b - meanY) * (b - meanY)
    }
    guard varianceX > 0, varianceY > 0 else { return nil }
    return covariance / (varianceX * varianceY).squareRoot()
}

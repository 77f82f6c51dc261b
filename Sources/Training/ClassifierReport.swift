import Foundation
import LandCoverData
import Metrics

/// A classifier's evaluation on one split, with the paper's tables: Table 2 (cardinality, density of the evaluated
/// images), Table 3 (exact match, partial, incorrect, F1), Tables 4–6 (per-class precision, recall, F1 and image
/// counts) and the correlation of class size with F1.
public struct ClassifierReport: Codable, Sendable {
    /// One row of Tables 4–6.
    public struct ClassRow: Codable, Sendable, Equatable {
        /// Class index (1-based), CLC code and name.
        public var index: Int
        public var code: Int
        public var name: String
        /// Images of the class in the training split ("class size") and in the evaluated split.
        public var trainImages: Int
        public var support: Int
        /// Images predicted to carry the class.
        public var predicted: Int
        public var precision: Double
        public var recall: Double
        public var f1: Double
        /// The decision threshold used for the class.
        public var threshold: Float
    }

    /// The checkpoint evaluated.
    public var model: String
    /// Nomenclature id.
    public var nomenclature: String
    /// The split evaluated (`validation`, `test`, `all`).
    public var split: String
    /// Table 2 of the evaluated images' true labels.
    public var labelStatistics: LabelStatistics
    /// How thresholds were chosen: `0.5`, a fixed value, or `tuned per class on validation`.
    public var thresholdRule: String
    /// Table 3 and the averages.
    public var overall: MultiLabelEvaluation
    /// Mean binary cross-entropy over the evaluated images.
    public var meanLoss: Double
    /// Tables 4–6.
    public var classes: [ClassRow]
    /// Pearson correlation of class size (training images) with F1 over classes present in training; the paper
    /// reports 0.59.
    public var sizeF1Correlation: Double?
    /// Which F1 the paper's numbers correspond to.
    public var note: String

    /// The paper's classification numbers were produced with fastai v1, whose multi-label F-score is averaged per
    /// image; this project's `f1Samples` is that average, `f1Micro` pools every (image, class) decision.
    public static let paperNote =
        "The paper (fastai v1) reports an F1 averaged per image: compare its 0.920 / 0.823 / 0.749 (levels 1/2/3) "
        + "with F1 (samples). F1 (micro) pools all image–class decisions; F1 (macro) averages classes equally."

    /// Builds the report from predictions on the evaluated images, the thresholds used, and the training label
    /// counts per class (index 0 unused).
    public init(
        model: String, nomenclature: Nomenclature, split: String, predictions: ClassifierPredictions,
        thresholds: [Float], thresholdRule: String, trainImagesPerClass: [Int]
    ) {
        self.model = model
        self.nomenclature = nomenclature.id
        self.split = split
        self.thresholdRule = thresholdRule
        labelStatistics = LabelStatistics(
            nomenclature: nomenclature.id, classCount: nomenclature.count,
            labelSets: predictions.truth.map { row in row.indices.filter { row[$0] }.map { $0 + 1 } })
        overall = predictions.evaluation(thresholds: thresholds)
        meanLoss = predictions.meanLoss
        classes = overall.classes.enumerated().map { offset, scores in
            ClassRow(
                index: offset + 1, code: nomenclature.codes[offset], name: nomenclature.names[offset],
                trainImages: trainImagesPerClass[offset + 1], support: scores.support, predicted: scores.predicted,
                precision: scores.precision, recall: scores.recall, f1: scores.f1, threshold: thresholds[offset])
        }
        let present = classes.filter { $0.trainImages > 0 && $0.support > 0 }
        sizeF1Correlation = pearsonCorrelation(present.map { Double($0.trainImages) }, present.map(\.f1))
        note = Self.paperNote
    }

    /// The report as Markdown.
    public var markdown: String {
        var lines = [
            "# Classifier evaluation", "",
            "Model `\(model)`, nomenclature \(nomenclature), split \(split), \(overall.imageCount) images, "
                + "thresholds: \(thresholdRule).", "",
            "## Table 2 — cardinality and density", "",
            "| Images | Cardinality | Density | Labels present |", "|---|---|---|---|",
            String(
                format: "| %d | %.2f | %.3f | %d |", labelStatistics.imageCount, labelStatistics.cardinality,
                labelStatistics.density, labelStatistics.labelsPresent),
            "", "## Table 3 — overall", "",
            "| Exact match | Partial | Incorrect | F1 (samples) | F1 (micro) | F1 (macro) | F1 (macro, present) | Loss |",
            "|---|---|---|---|---|---|---|---|",
            String(
                format: "| %.1f %% | %.1f %% | %.1f %% | %.3f | %.3f | %.3f | %.3f | %.4f |",
                overall.exactMatchRatio * 100, overall.partialRatio * 100, overall.incorrectRatio * 100,
                overall.f1Samples, overall.f1Micro, overall.f1Macro, overall.f1MacroPresent, meanLoss),
            "", "> \(note)", "", "## Tables 4–6 — per class", "",
            "| Code | Class | Train images | Images | Predicted | Precision | Recall | F1 | Threshold |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in classes {
            lines.append(
                String(
                    format: "| %d | %@ | %d | %d | %d | %.3f | %.3f | %.3f | %.2f |", row.code, row.name,
                    row.trainImages, row.support, row.predicted, row.precision, row.recall, row.f1, row.threshold))
        }
        lines.append("")
        if let correlation = sizeF1Correlation {
            lines.append(
                String(
                    format: "Correlation of class size (training images) with F1: %.2f (the paper: 0.59).", correlation)
            )
        } else {
            lines.append("Correlation of class size with F1: undefined (fewer than two classes present, or no spread).")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The images an evaluation covers.
public enum EvaluationSplit: String, CaseIterable, Sendable, Codable {
    case train, validation, test, all

    /// The source's images in this split (`test`: BigEarthNet's official test patches).
    public func indices(of source: any MultiLabelSource) -> [Int] {
        switch self {
        case .train: return TrainingData(source: source).train
        case .validation: return TrainingData(source: source).validation
        case .all: return Array(0..<source.count)
        case .test:
            return (0..<source.count).filter {
                ((source as? BigEarthNetV1Source)?.patchSplit(at: $0)
                    ?? (source as? BigEarthNetV2Source)?
                    .patchSplit(at: $0)) == .test
            }
        }
    }
}

extension ClassifierReport {
    /// Evaluates `classifier` on `split` of `source` at `threshold`, or with per-class thresholds tuned on the
    /// validation split; `progress` gets (batches done, batches).
    public static func evaluate(
        _ classifier: TrainedClassifier, source: any MultiLabelSource, split: EvaluationSplit, threshold: Float = 0.5,
        tuneThresholds: Bool = false, batchSize: Int = 64, progress: ((Int, Int) -> Void)? = nil
    ) throws -> ClassifierReport {
        let indices = split.indices(of: source)
        guard !indices.isEmpty else { throw TrainingError("the \(split.rawValue) split of the data is empty") }
        let predictions = try classifier.predict(source, indices: indices, batchSize: batchSize) { done, total, _ in
            progress?(done, total)
        }
        var thresholds = [Float](repeating: threshold, count: classifier.nomenclature.count)
        var rule = threshold == 0.5 ? "0.5" : "\(threshold)"
        if tuneThresholds {
            let validation =
                split == .validation
                ? predictions
                : try classifier.predict(
                    source, indices: EvaluationSplit.validation.indices(of: source), batchSize: batchSize)
            thresholds = MultiLabelEvaluation.tunedThresholds(
                probabilities: validation.probabilities, truth: validation.truth, fallback: threshold)
            rule = "tuned per class on validation"
        }
        var trainCounts = [Int](repeating: 0, count: classifier.nomenclature.count + 1)
        for index in EvaluationSplit.train.indices(of: source) {
            for label in source.labels(at: index) { trainCounts[label] += 1 }
        }
        return ClassifierReport(
            model: classifier.url.path, nomenclature: classifier.nomenclature, split: split.rawValue,
            predictions: predictions, thresholds: thresholds, thresholdRule: rule, trainImagesPerClass: trainCounts)
    }
}

import Foundation
import LandCoverData
import Metrics
import NeuralNet
import TensorCore

/// A segmenter checkpoint ready to predict.
public struct TrainedSegmenter {
    public let url: URL
    public let model: any Layer
    public let metadata: CheckpointMetadata
    public let nomenclature: Nomenclature
    public let bands: [SpectralBand]
    public let normalization: ChannelStatistics

    /// Loads a segmenter checkpoint; anything else is refused with a message naming the file.
    public init(contentsOf url: URL) throws {
        let (model, metadata) = try Checkpoint.loadModel(from: url)
        func fail(_ problem: String) -> TrainingError { TrainingError("\(url.path): \(problem)") }
        guard metadata.task == .segmentation else { throw fail("not a segmenter checkpoint") }
        self.url = url
        self.model = model
        self.metadata = metadata
        (nomenclature, bands, normalization) = try TrainedClassifier.inputs(of: metadata, path: url.path)
    }

    /// The nomenclatures this model can be evaluated at: its own, and the coarser CORINE levels its classes nest
    /// in (a level-3 model also gives levels 2 and 1 by summing its classes' probabilities).
    public var levels: [Nomenclature] {
        switch nomenclature.id {
        case Nomenclature.corineLevel3.id: return [.corineLevel3, .corineLevel2, .corineLevel1]
        case Nomenclature.corineLevel2.id: return [.corineLevel2, .corineLevel1]
        default: return [nomenclature]
        }
    }

    /// For each class of the model, its index − 1 in `target` (whose classes contain the model's).
    func parentMap(to target: Nomenclature) -> [Int] {
        (1...nomenclature.count).map { index in
            let gridCode = nomenclature.level3LookupTable.firstIndex(of: UInt8(index)) ?? 0
            return Int(target.level3LookupTable[gridCode]) - 1
        }
    }
}

/// Pixel results of one level.
public struct SegmentationLevelResult: Codable, Sendable {
    /// One class row of the IoU table.
    public struct ClassRow: Codable, Sendable, Equatable {
        public var index: Int
        public var code: Int
        public var name: String
        /// True pixels and predicted pixels of the class.
        public var pixels: Int
        public var predictedPixels: Int
        /// Intersection over union; nil when the class is absent from truth and prediction.
        public var iou: Double?
    }

    /// Nomenclature id.
    public var nomenclature: String
    /// How the level's map was made: `model output`, or `sum of the level-3 (or 2) probabilities`.
    public var derivation: String
    /// Overall pixel accuracy (paper eq. 7) and mean IoU over present classes.
    public var pixelAccuracy: Double
    public var meanIoU: Double
    /// Per-class IoU with pixel counts.
    public var classes: [ClassRow]
    /// The classes present in truth or prediction (indices), and the row-normalised confusion among them.
    public var presentClasses: [Int]
    public var rowNormalized: [[Double]]
    /// Pearson correlation of class pixel count with IoU (the paper: 0.66).
    public var sizeIoUCorrelation: Double?

    init(nomenclature: Nomenclature, derivation: String, confusion: ConfusionMatrix) {
        self.nomenclature = nomenclature.id
        self.derivation = derivation
        pixelAccuracy = confusion.accuracy
        meanIoU = confusion.meanIntersectionOverUnion
        let iou = confusion.intersectionOverUnion
        let support = confusion.support
        let predicted = (0..<confusion.classCount).map { c in
            (0..<confusion.classCount).reduce(0) { $0 + confusion[$1, c] }
        }
        classes = (0..<confusion.classCount).map { c in
            ClassRow(
                index: c + 1, code: nomenclature.codes[c], name: nomenclature.names[c], pixels: support[c],
                predictedPixels: predicted[c], iou: iou[c])
        }
        let present = classes.filter { $0.pixels > 0 || $0.predictedPixels > 0 }.map(\.index)
        let full = confusion.rowNormalized
        presentClasses = present
        rowNormalized = present.map { row in present.map { full[row - 1][$0 - 1] } }
        let scored = classes.filter { $0.pixels > 0 && $0.iou != nil }
        sizeIoUCorrelation = pearsonCorrelation(scored.map { Double($0.pixels) }, scored.map { $0.iou! })
    }

    /// The row-normalised confusion among present classes as an SVG heatmap labelled by class code.
    public var heatmap: Heatmap {
        let codes = presentClasses.map { "\(classes[$0 - 1].code)" }
        return Heatmap(
            title: "Confusion, \(nomenclature) (rows: truth, % of row)", labels: codes, values: rowNormalized)
    }
}

/// How a segmenter's maps agree with a classifier's label sets on the same chips.
public struct ClassifierAgreement: Codable, Sendable {
    /// The classifier checkpoint.
    public var classifier: String
    /// Chips compared, and those whose segmenter label set (classes present in the predicted map) equals the
    /// classifier's predicted set.
    public var chips: Int
    public var agreeing: Int
    /// Mean Jaccard index of the two label sets.
    public var meanJaccard: Double
    /// The chips that disagree most (lowest Jaccard), with both sets.
    public var disagreements: [Disagreement]

    public struct Disagreement: Codable, Sendable {
        public var identifier: String
        public var jaccard: Double
        public var segmenter: [String]
        public var classifier: [String]
    }
}

/// A segmenter's evaluation: per level pixel accuracy, IoU, confusion (the paper's Tables 7–9), and optionally the
/// agreement with a classifier.
public struct SegmentationReport: Codable, Sendable {
    public var model: String
    public var split: String
    public var images: Int
    public var meanLoss: Double
    public var levels: [SegmentationLevelResult]
    /// Models trained at one level each (the paper's way), evaluated beside this model's derived levels.
    public var separateModels: [SegmentationLevelResult] = []
    public var agreement: ClassifierAgreement?

    /// Evaluates `segmenter` on images `indices` of `source` at every level it supports.
    public static func evaluate(
        _ segmenter: TrainedSegmenter, source: any SegmentationSource, indices: [Int], split: String,
        batchSize: Int = 16, progress: ((Int, Int) -> Void)? = nil
    ) throws -> (report: SegmentationReport, predictedSets: [[Int]]) {
        guard source.bands == segmenter.bands else {
            throw TrainingError(
                "the model takes bands \(segmenter.bands.map(\.name).joined(separator: ",")), the data has "
                    + source.bands.map(\.name).joined(separator: ","))
        }
        let levels = segmenter.levels
        let maps = levels.map { segmenter.parentMap(to: $0) }
        var matrices = levels.map { ConfusionMatrix(classCount: $0.count) }
        let images = ImageBatches(source: source, normalization: segmenter.normalization)
        let classes = segmenter.nomenclature.count
        var predictedSets: [[Int]] = []
        var lossTotal = 0.0
        let parts = ImageBatches.partition(indices, batchSize: batchSize, dropLast: false)
        let wasTraining = segmenter.model.isTraining
        segmenter.model.eval()
        defer { segmenter.model.train(wasTraining) }
        for (number, part) in parts.enumerated() {
            let (input, _) = try images.batch(part)
            let logits = try withoutGradients { try segmenter.model(Variable(input)) }
            let truthMaps = try part.map { try source.level3Map(at: $0) }
            let modelTargets = truthMaps.flatMap { map in
                map.map { Int(segmenter.nomenclature.level3LookupTable[Int($0)]) - 1 }
            }
            lossTotal += Double(crossEntropy(logits, targets: modelTargets, ignoreIndex: -1).value.scalars[0])
            let pixels = logits.shape[2] * logits.shape[3]
            logits.value.withUnsafeBufferPointer { x in
                var probabilities = [Double](repeating: 0, count: classes)
                for image in 0..<part.count {
                    var present = Set<Int>()
                    var truth = levels.map { _ in [Int](repeating: -1, count: pixels) }
                    var predicted = levels.map { _ in [Int](repeating: 0, count: pixels) }
                    for p in 0..<pixels {
                        // Softmax in Double, then each level's class probabilities as sums of the model's.
                        var largest = -Double.infinity
                        for c in 0..<classes { largest = max(largest, Double(x[(image * classes + c) * pixels + p])) }
                        var total = 0.0
                        for c in 0..<classes {
                            probabilities[c] = exp(Double(x[(image * classes + c) * pixels + p]) - largest)
                            total += probabilities[c]
                        }
                        let gridCode = Int(truthMaps[image][p])
                        for (level, nomenclature) in levels.enumerated() {
                            var sums = [Double](repeating: 0, count: nomenclature.count)
                            for c in 0..<classes where maps[level][c] >= 0 {
                                sums[maps[level][c]] += probabilities[c] / total
                            }
                            predicted[level][p] = sums.indices.max { sums[$0] < sums[$1] } ?? 0
                            truth[level][p] = Int(nomenclature.level3LookupTable[gridCode]) - 1
                        }
                        present.insert(predicted[0][p] + 1)
                    }
                    for level in levels.indices {
                        matrices[level].add(truth: truth[level], predicted: predicted[level], ignoring: -1)
                    }
                    predictedSets.append(present.sorted())
                }
            }
            progress?(number + 1, parts.count)
        }
        let results = zip(levels, matrices).enumerated().map { position, pair in
            SegmentationLevelResult(
                nomenclature: pair.0,
                derivation: position == 0 ? "model output" : "sum of the \(segmenter.nomenclature.id) probabilities",
                confusion: pair.1)
        }
        let report = SegmentationReport(
            model: segmenter.url.path, split: split, images: indices.count,
            meanLoss: parts.isEmpty ? 0 : lossTotal / Double(parts.count), levels: results)
        return (report, predictedSets)
    }

    /// Compares the segmenter's per-chip label sets with a classifier's predictions (same nomenclature).
    public mutating func compare(
        predictedSets: [[Int]], with classifier: TrainedClassifier, predictions: ClassifierPredictions,
        source: any MultiLabelSource, top: Int = 10
    ) {
        let names = classifier.nomenclature.names
        var agreeing = 0
        var jaccardTotal = 0.0
        var disagreements: [ClassifierAgreement.Disagreement] = []
        for (position, segmenterSet) in predictedSets.enumerated() {
            let classifierSet = Set(
                predictions.probabilities[position].indices.filter { predictions.probabilities[position][$0] > 0.5 }
                    .map { $0 + 1 })
            let a = Set(segmenterSet)
            let union = a.union(classifierSet).count
            let jaccard = union == 0 ? 1 : Double(a.intersection(classifierSet).count) / Double(union)
            jaccardTotal += jaccard
            if a == classifierSet {
                agreeing += 1
            } else {
                disagreements.append(
                    .init(
                        identifier: source.identifier(at: predictions.indices[position]), jaccard: jaccard,
                        segmenter: a.sorted().map { names[$0 - 1] },
                        classifier: classifierSet.sorted().map { names[$0 - 1] }))
            }
        }
        disagreements.sort { ($0.jaccard, $0.identifier) < ($1.jaccard, $1.identifier) }
        agreement = ClassifierAgreement(
            classifier: classifier.url.path, chips: predictedSets.count, agreeing: agreeing,
            meanJaccard: predictedSets.isEmpty ? 0 : jaccardTotal / Double(predictedSets.count),
            disagreements: Array(disagreements.prefix(top)))
    }

    /// The report as Markdown; heatmaps are referenced as `confusion-<nomenclature>.svg`.
    public var markdown: String {
        var lines = [
            "# Segmenter evaluation", "",
            "Model `\(model)`, split \(split), \(images) images, mean pixel loss \(String(format: "%.4f", meanLoss)).",
            "", "| Level | Derived by | Pixel accuracy | Mean IoU | Size–IoU correlation |", "|---|---|---|---|---|",
        ]
        for level in levels {
            lines.append(
                String(
                    format: "| %@ | %@ | %.1f %% | %.3f | %@ |", level.nomenclature, level.derivation,
                    level.pixelAccuracy * 100, level.meanIoU,
                    level.sizeIoUCorrelation.map { String(format: "%.2f", $0) } ?? "–"))
        }
        if !separateModels.isEmpty {
            lines += [
                "", "### One model for all levels vs one model per level", "",
                "| Level | This model: accuracy | mean IoU | Separate model: accuracy | mean IoU |",
                "|---|---|---|---|---|",
            ]
            for separate in separateModels {
                let derived = levels.first { $0.nomenclature == separate.nomenclature }
                lines.append(
                    "| \(separate.nomenclature) | "
                        + (derived.map { String(format: "%.1f %% | %.3f", $0.pixelAccuracy * 100, $0.meanIoU) }
                            ?? "– | –")
                        + String(format: " | %.1f %% | %.3f |", separate.pixelAccuracy * 100, separate.meanIoU))
            }
        }
        for level in levels {
            lines += [
                "", "## \(level.nomenclature)", "", "| Code | Class | Pixels | Predicted pixels | IoU |",
                "|---|---|---|---|---|",
            ]
            for row in level.classes where row.pixels > 0 || row.predictedPixels > 0 {
                lines.append(
                    "| \(row.code) | \(row.name) | \(row.pixels) | \(row.predictedPixels) | "
                        + (row.iou.map { String(format: "%.3f", $0) } ?? "–") + " |")
            }
            lines += ["", "![confusion \(level.nomenclature)](confusion-\(level.nomenclature).svg)"]
        }
        if let agreement {
            lines += [
                "", "## Segmenter vs classifier", "",
                String(
                    format: "%d of %d chips have the same label set (%.1f %%); mean Jaccard %.3f.", agreement.agreeing,
                    agreement.chips, Double(agreement.agreeing) / Double(max(agreement.chips, 1)) * 100,
                    agreement.meanJaccard),
                "", "| Chip | Jaccard | Segmenter | Classifier |", "|---|---|---|---|",
            ]
            for chip in agreement.disagreements {
                lines.append(
                    "| \(chip.identifier) | \(String(format: "%.2f", chip.jaccard)) | "
                        + "\(chip.segmenter.joined(separator: ", ")) | \(chip.classifier.joined(separator: ", ")) |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

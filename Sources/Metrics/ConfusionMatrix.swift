/// A pixel confusion matrix over classes `0..<classCount` (rows: truth, columns: prediction), with the
/// segmentation metrics of Ulmas & Liiv 2020 (eq. 7–8, Tables 7–9).
public struct ConfusionMatrix: Sendable, Equatable, Codable {
    /// Number of classes.
    public let classCount: Int
    /// Counts, row-major `[truth * classCount + prediction]`.
    public private(set) var counts: [Int]

    /// An empty matrix.
    public init(classCount: Int) {
        precondition(classCount > 0, "A confusion matrix needs at least one class.")
        self.classCount = classCount
        counts = [Int](repeating: 0, count: classCount * classCount)
    }

    /// Adds pixels; truth values equal to `ignoring` (e.g. no data) are skipped.
    public mutating func add(truth: [Int], predicted: [Int], ignoring: Int? = nil) {
        precondition(truth.count == predicted.count, "Truth and prediction differ in size.")
        for (t, p) in zip(truth, predicted) where t != ignoring {
            precondition(t >= 0 && t < classCount && p >= 0 && p < classCount, "Class \(t) or \(p) is out of range.")
            counts[t * classCount + p] += 1
        }
    }

    /// Adds another matrix of the same size.
    public mutating func merge(_ other: ConfusionMatrix) {
        precondition(other.classCount == classCount, "Matrices differ in class count.")
        for i in counts.indices { counts[i] += other.counts[i] }
    }

    /// Count of pixels of true class `truth` predicted as `predicted`.
    public subscript(truth: Int, predicted: Int) -> Int { counts[truth * classCount + predicted] }

    /// Pixels counted.
    public var total: Int { counts.reduce(0, +) }

    /// True pixels per class (row sums).
    public var support: [Int] { (0..<classCount).map { r in (0..<classCount).reduce(0) { $0 + self[r, $1] } } }

    /// Correct pixels over all pixels (paper eq. 7); 0 for an empty matrix.
    public var accuracy: Double {
        let correct = (0..<classCount).reduce(0) { $0 + self[$1, $1] }
        return total == 0 ? 0 : Double(correct) / Double(total)
    }

    /// Per-class IoU, TP / (TP + FN + FP) (paper eq. 8); nil for a class absent from truth and prediction.
    public var intersectionOverUnion: [Double?] {
        (0..<classCount).map { c in
            let tp = self[c, c]
            let row = (0..<classCount).reduce(0) { $0 + self[c, $1] }
            let column = (0..<classCount).reduce(0) { $0 + self[$1, c] }
            let union = row + column - tp
            return union == 0 ? nil : Double(tp) / Double(union)
        }
    }

    /// Mean IoU over classes present in truth or prediction.
    public var meanIntersectionOverUnion: Double {
        let present = intersectionOverUnion.compactMap { $0 }
        return present.isEmpty ? 0 : present.reduce(0, +) / Double(present.count)
    }

    /// Rows divided by their sums (the paper's Tables 7–9); rows of absent classes are all 0.
    public var rowNormalized: [[Double]] {
        (0..<classCount).map { r in
            let sum = (0..<classCount).reduce(0) { $0 + self[r, $1] }
            return (0..<classCount).map { sum == 0 ? 0 : Double(self[r, $0]) / Double(sum) }
        }
    }
}

import Foundation

/// Multi-label dataset statistics at one nomenclature level: the paper's Table 2 (cardinality, density) and
/// Table 1's image counts per class.
public struct LabelStatistics: Sendable, Equatable, Codable {
    /// Nomenclature id.
    public var nomenclature: String
    /// Number of images.
    public var imageCount: Int
    /// Mean number of labels per image (paper eq. 1).
    public var cardinality: Double
    /// Mean share of the dataset's label set per image, |L| = labels present in the dataset (paper eq. 2).
    public var density: Double
    /// Number of distinct labels present, |L|.
    public var labelsPresent: Int
    /// Images per class index (index 0 unused), length `count + 1`.
    public var imagesPerClass: [Int]

    /// Computes the statistics of `labelSets` (class indices 1…`classCount` per image).
    public init(nomenclature: String, classCount: Int, labelSets: [[Int]]) {
        self.nomenclature = nomenclature
        imageCount = labelSets.count
        var perClass = [Int](repeating: 0, count: classCount + 1)
        for set in labelSets { for label in Set(set) { perClass[label] += 1 } }
        imagesPerClass = perClass
        labelsPresent = perClass.dropFirst().filter { $0 > 0 }.count
        let total = labelSets.reduce(0) { $0 + Set($1).count }
        cardinality = imageCount > 0 ? Double(total) / Double(imageCount) : 0
        density = labelsPresent > 0 ? cardinality / Double(labelsPresent) : 0
    }
}

extension ChipStore {
    /// Label statistics at a CORINE level; a chip carries a class when it covers more than `minimumShare` of
    /// its labelled pixels (0 = any pixel).
    public func labelStatistics(level: CorineLevel, minimumShare: Double = 0, split: ChipSplit? = nil)
        -> LabelStatistics
    {
        let nomenclature = Nomenclature.corine(level)
        let table = nomenclature.level3LookupTable
        let sets = records.filter { split == nil || $0.split == split }.map { record in
            // Pixel counts are summed at this level first, so a parent is present when its children together
            // pass the share.
            var counts = [Int](repeating: 0, count: nomenclature.count + 1)
            for (key, pixels) in record.classes { counts[Int(table[Int(key) ?? 0])] += pixels }
            let labelled = counts.dropFirst().reduce(0, +)
            return (1..<counts.count).filter {
                counts[$0] > 0 && Double(counts[$0]) / Double(max(labelled, 1)) > minimumShare
            }
        }
        return LabelStatistics(nomenclature: nomenclature.id, classCount: nomenclature.count, labelSets: sets)
    }
}

extension LabelStatistics {
    /// Markdown: the paper's Table 2 for `statistics` (levels 1, 2, 3 in order) and images per class per level.
    public static func markdown(_ statistics: [LabelStatistics], chipCount: Int) -> String {
        var lines = [
            "Table 2 — cardinality and density (\(chipCount) chips)", "",
            "| Classification level | Cardinality | Density | Labels present |", "|---|---|---|---|",
        ]
        for (level, stats) in zip(CorineLevel.allCases, statistics) {
            lines.append(
                String(
                    format: "| Level %d | %.2f | %.3f | %d |", level.rawValue, stats.cardinality, stats.density,
                    stats.labelsPresent))
        }
        for (level, stats) in zip(CorineLevel.allCases, statistics) {
            let nomenclature = Nomenclature.corine(level)
            lines += [
                "", "Images per class — level \(level.rawValue)", "", "| Code | Class | Images |", "|---|---|---|",
            ]
            for index in 1...nomenclature.count where stats.imagesPerClass[index] > 0 {
                lines.append(
                    "| \(nomenclature.codes[index - 1]) | \(nomenclature.names[index - 1]) | \(stats.imagesPerClass[index]) |"
                )
            }
        }
        return lines.joined(separator: "\n")
    }
}

import ArgumentParser
import Foundation
import LandCoverData

/// `landcover stats`: the paper's Table 2 and per-class image counts of a chip store.
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print cardinality and density per CORINE level (the paper's Table 2) and images per class.")

    @Argument(help: "Chip store directory.")
    var store: String

    @Option(help: "A chip carries a class when the class covers more than this share of its labelled pixels.")
    var minShare: Double = 0

    @Option(help: "Only chips of this split (train or validation).")
    var split: String?

    @Flag(help: "Print JSON instead of Markdown.")
    var json = false

    func validate() throws {
        if let split, ChipSplit(rawValue: split) == nil {
            throw ValidationError("--split must be train or validation.")
        }
    }

    func run() throws {
        let chips = try ChipStore(URL(fileURLWithPath: store))
        let statistics = CorineLevel.allCases.map {
            chips.labelStatistics(level: $0, minimumShare: minShare, split: split.flatMap(ChipSplit.init))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(statistics), as: UTF8.self))
        } else {
            print(StatisticsReport.markdown(statistics, chipCount: chips.count))
        }
    }
}

/// Markdown tables of label statistics.
enum StatisticsReport {
    static func markdown(_ statistics: [LabelStatistics], chipCount: Int) -> String {
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

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
            print(LabelStatistics.markdown(statistics, chipCount: statistics[0].imageCount))
        }
    }
}

import ArgumentParser
import Foundation
import LandCoverData

/// `landcover sample-data`: generate the synthetic sample input set.
struct SampleDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample-data",
        abstract: "Generate a small synthetic Sentinel-2 L1C SAFE product and a CORINE raster covering it.")

    @Option(help: "Output directory.")
    var out: String = "SampleData"

    @Option(help: "Side of the scene in 10 m pixels (a multiple of 120).")
    var size: Int = 1200

    @Option(help: "Random seed; the same seed gives identical files.")
    var seed: UInt64 = 2018

    @Flag(help: "Replace existing sample files.")
    var overwrite = false

    func validate() throws {
        guard size >= 120, size % 120 == 0 else { throw ValidationError("--size must be a positive multiple of 120.") }
    }

    func run() throws {
        let set = try SampleDataGenerator.generate(
            into: URL(fileURLWithPath: out), size: size, seed: seed, overwrite: overwrite)
        print("wrote \(set.product.path) and \(set.corine.path)")
    }
}

import ArgumentParser
import Foundation
import LandCoverData

/// `landcover chip`: cut aligned image/label chip pairs from a granule and CORINE into a chip store.
struct ChipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chip",
        abstract: "Cut aligned 120×120 image/label chip pairs from a Sentinel-2 granule and CORINE into a chip store.")

    @Option(help: "Sentinel-2 product: .SAFE directory, its MTD_MSI*.xml, or the .zip.")
    var safe: String

    @Option(help: "CORINE Land Cover raster (grid or CLC codes, any CRS) or vector GeoPackage (Code_18).")
    var corine: String

    @Option(help: "Output chip store directory.")
    var out: String

    @Option(help: "Bands in storage order, comma-separated (10, 20 or 60 m bands; coarser ones resampled to 10 m).")
    var bands: String = "B04,B03,B02"

    @Option(help: "Chip side in pixels.")
    var chipSize: Int = 120

    @Option(help: "Step between chips in pixels (default: the chip size).")
    var stride: Int?

    @Option(help: "Train/validation split: blocked (spatial blocks of chips) or random (the paper's 80/20).")
    var split: SplitKind = .blocked

    @Option(help: "Side of a validation block, in chips (blocked split).")
    var blockSize: Int = 5

    @Option(help: "Share of chips (or blocks) for validation.")
    var validationFraction: Double = 0.2

    @Option(help: "Seed of the split.")
    var seed: UInt64 = 0

    @Option(help: "Reject chips with a larger share of invalid pixels (no data, no label, cloud).")
    var maxInvalid: Double = 0.2

    @Option(help: "Reject chips with a larger share of cloud, shadow or snow (L2A SCL).")
    var maxCloud: Double = 0.1

    @Option(help: "UTM zone of a multi-zone product, as an EPSG code (default: the first).")
    var epsg: Int?

    @Flag(help: "Replace an output directory holding a different run.")
    var overwrite = false

    @Flag(help: "Report progress as JSON events even on a terminal.")
    var jsonProgress = false

    enum SplitKind: String, ExpressibleByArgument, CaseIterable { case blocked, random }

    func validate() throws {
        guard chipSize >= 8 else { throw ValidationError("--chip-size must be at least 8 pixels.") }
        guard (stride ?? chipSize) > 0 else { throw ValidationError("--stride must be positive.") }
        guard (0...1).contains(validationFraction) else {
            throw ValidationError("--validation-fraction must be in 0…1.")
        }
        guard blockSize > 0 else { throw ValidationError("--block-size must be positive.") }
        _ = try parsedBands()
    }

    func parsedBands() throws -> [SpectralBand] {
        try bands.split(separator: ",").map {
            guard let band = SpectralBand(String($0)) else {
                throw ValidationError("unknown band \($0) in --bands (expected names like B04, B8A).")
            }
            return band
        }
    }

    func run() throws {
        let splitRule: SplitRule =
            split == .blocked
            ? .blocked(blockSize: blockSize, validationFraction: validationFraction, seed: seed)
            : .random(validationFraction: validationFraction, seed: seed)
        let configuration = ChipperConfiguration(
            chipSize: chipSize, stride: stride, maxInvalidFraction: maxInvalid, maxCloudFraction: maxCloud,
            split: splitRule)
        // Absolute paths keep the run key the same however the user spelled them.
        let product = try Sentinel2Product.open(absolutePath(safe), epsg: epsg)
        let corineSource = try CorineSource.open(absolutePath(corine))
        let source = try Sentinel2ChipSource(product: product, bands: parsedBands())
        let chipper = Chipper(image: source, labels: corineSource, configuration: configuration)
        let reporter = ProgressReporter(task: "chip", unit: "rows", forceJSON: jsonProgress)
        let store = try chipper.run(into: URL(fileURLWithPath: out), overwrite: overwrite, version: LandCover.version) {
            reporter.update(done: $0.rowsDone, total: $0.rowsTotal, note: "\($0.chipsStored) chips")
        }
        let manifest = store.manifest
        if manifest.validationCount == 0 && validationFraction > 0 {
            FileHandle.standardError.write(
                Data(
                    "warning: no chip fell into the validation split; use a smaller --block-size or --split random\n"
                        .utf8))
        }
        print(
            "\(store.url.path): \(manifest.chipCount) chips (\(manifest.trainCount) train, \(manifest.validationCount) validation, \(manifest.rejectedCount) rejected), bands \(manifest.bands.joined(separator: ","))"
        )
    }
}

/// `path` made absolute and standardised (`./a/../b` → `/cwd/b`).
func absolutePath(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.path
}

import ArgumentParser
import Foundation
import LandCoverData
import Mapping

/// `landcover change`: a map against CORINE, or two maps of different dates.
struct ChangeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "change",
        abstract: "Compare a land-cover map with CORINE, or with a map of another date.",
        discussion: """
            Writes <out> (a COG: 1 = agreement / no change, 2 = disagreement / change, 0 = no data or below the \
            confidence threshold), <out without .tif>.json (transition matrix in hectares, per-class areas, \
            largest transitions, hotspots) and .md. Rows of the matrix are CORINE (or the earlier map), columns the \
            map (or the later map). CORINE is warped or rasterised onto the map's grid and aggregated to its level.
            """)

    @Option(help: "The land-cover map (.tif written by landcover map); the later map with --earlier.")
    var map: String

    @Option(help: "CORINE Land Cover raster or GeoPackage to compare with.")
    var corine: String?

    @Option(help: "A map of an earlier date on the same grid to compare with.")
    var earlier: String?

    @Option(help: "Output COG (.tif); the .json and .md go beside it.")
    var out: String

    @Option(help: "Leave out pixels whose confidence (percent) is below this; needs <map>.confidence.tif.")
    var confidenceThreshold: UInt8?

    @Option(help: "Side of the hotspot cells in metres.")
    var hotspotCell: Double = 1000

    @Flag(help: "Replace existing outputs.")
    var overwrite = false

    func validate() throws {
        guard (corine == nil) != (earlier == nil) else {
            throw ValidationError("give exactly one of --corine and --earlier.")
        }
        if let confidenceThreshold, confidenceThreshold > 100 {
            throw ValidationError("--confidence-threshold is a percentage (0…100).")
        }
        guard hotspotCell > 0 else { throw ValidationError("--hotspot-cell must be positive.") }
    }

    func run() throws {
        let analysis: ChangeAnalysis
        var provenance = ["MAP": URL(fileURLWithPath: map).lastPathComponent, "LANDCOVER_VERSION": LandCover.version]
        if let corine {
            analysis = try ChangeAnalysis.compare(
                mapPath: map, corinePath: corine, confidenceThreshold: confidenceThreshold,
                hotspotCellSize: hotspotCell)
            provenance["REFERENCE"] = URL(fileURLWithPath: corine).lastPathComponent
        } else {
            analysis = try ChangeAnalysis.compare(
                earlierPath: earlier!, laterPath: map, confidenceThreshold: confidenceThreshold,
                hotspotCellSize: hotspotCell)
            provenance["EARLIER"] = URL(fileURLWithPath: earlier!).lastPathComponent
        }
        let files = try analysis.writeProducts(
            to: out, provenance: provenance, options: LandCoverMapWriter.Options(overwrite: overwrite))
        let summary = analysis.summary
        let share = String(format: "%.1f", summary.agreementShare * 100)
        print(
            "\(out): \(summary.kind == .agreement ? "agreement" : "no change") \(share) % of "
                + "\(String(format: "%.1f", summary.comparedHectares)) ha compared; \(files.count) files")
    }
}

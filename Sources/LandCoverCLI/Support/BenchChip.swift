import Foundation
import GeoRaster
import LandCoverData

/// The inputs make_synthetic_tile.py writes: the loose JP2 10 m bands of one tile and a CORINE raster.
struct BenchTile {
    /// The four 10 m bands of the benchmark, in storage order.
    static let bands: [SpectralBand] = [.b02, .b03, .b04, .b08]

    /// The MGRS tile without the leading "T", e.g. "35VMF".
    var tileID: String
    /// The JP2 file of each band.
    var images: [SpectralBand: URL]
    /// `corine_3035.tif`.
    var corine: URL
    /// The bands' 10 m grid.
    var grid: RasterGrid
    /// EPSG code of the bands' CRS.
    var epsg: Int

    /// Finds `T<tile>_<band>.jp2` for every band and `corine_3035.tif` in `directory`.
    static func locate(in directory: URL) throws -> BenchTile {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var images: [SpectralBand: URL] = [:]
        var tiles: Set<String> = []
        for band in bands {
            let suffix = "_\(band.name).jp2"
            guard let name = entries.filter({ $0.hasPrefix("T") && $0.hasSuffix(suffix) }).sorted().first else {
                throw BenchInputError("\(directory.path) has no T<tile>\(suffix)")
            }
            images[band] = directory.appendingPathComponent(name)
            tiles.insert(String(name.dropFirst().dropLast(suffix.count)))
        }
        guard tiles.count == 1, let tileID = tiles.first else {
            throw BenchInputError("\(directory.path) holds bands of several tiles: \(tiles.sorted())")
        }
        let corine = directory.appendingPathComponent("corine_3035.tif")
        guard FileManager.default.fileExists(atPath: corine.path) else {
            throw BenchInputError("\(directory.path) has no corine_3035.tif")
        }
        let first = try Dataset.open(images[bands[0]]!.path)
        guard let grid = first.grid, let epsg = first.crs?.epsg else {
            throw BenchInputError("\(first.path) is not georeferenced in an EPSG coordinate system")
        }
        return BenchTile(tileID: tileID, images: images, corine: corine, grid: grid, epsg: epsg)
    }

    /// Wraps the bands into a SAFE product in `work`, linking the JP2 files; returns the `.SAFE` folder.
    func writeProduct(into work: URL) throws -> URL {
        var writer = Sentinel2ProductWriter()
        writer.tile = tileID
        writer.epsg = epsg
        writer.tileOrigin = (grid.geoTransform.originX, grid.geoTransform.originY)
        writer.windowOffset = (0, 0)
        return try writer.write(linking: images, size: grid.width, into: work, overwrite: true)
    }

    /// Reads every input file once, so that no measured step pays for reading it from disk.
    func warmPageCache() {
        for url in Array(images.values) + [corine] {
            guard let handle = try? FileHandle(forReadingFrom: url) else { continue }
            while let chunk = try? handle.read(upToCount: 1 << 24), !chunk.isEmpty {}
            try? handle.close()
        }
    }
}

/// A benchmark input that is missing or not what the benchmark expects.
struct BenchInputError: Error, CustomStringConvertible {
    /// What is wrong.
    var description: String

    init(_ description: String) { self.description = description }
}

/// The peer `chipper.py` with its label: CORINE warped (nearest) to the tile grid as a GeoTIFF, made once.
struct PeerChipper {
    /// Why the peer cannot run here.
    struct Unavailable: Error {
        /// One line for the report.
        var reason: String
    }

    /// The command line.
    let command: [String]
    /// Standard error of the runs.
    let log: URL
    /// Standard output of the last run (the stage timings as JSON).
    let output: URL
    /// Output directory, emptied before each run.
    let chips: URL
    /// Seconds taken to warp CORINE to the tile grid (done once here, not part of the peer's runs).
    let labelWarpSeconds: Double

    /// Warps the label and builds the command line; throws `Unavailable` when `python` lacks GDAL's bindings.
    init(script: String, python: String, tile: BenchTile, work: URL) throws {
        log = work.appendingPathComponent("peer.log")
        output = work.appendingPathComponent("peer.stdout")
        chips = work.appendingPathComponent("peer")
        do {
            _ = try MeasuredProcess.run([python, "-c", "from osgeo import gdal"], log: log)
        } catch {
            throw Unavailable(reason: "\(python) cannot import osgeo.gdal (apt-get install python3-gdal)")
        }
        let start = ContinuousClock.now
        let label = work.appendingPathComponent("corine_10m.tif")
        // gdalwarp's defaults, as a Python user would warp (the approximate transformer).
        let warped = try Dataset.open(tile.corine.path).warp(
            onto: tile.grid, options: WarpOptions(exactTransformer: false))
        try warped.translate(to: label.path, arguments: ["-of", "GTiff"]).close()
        labelWarpSeconds = (ContinuousClock.now - start).seconds
        command =
            [python, script, "--bands"] + BenchTile.bands.map { tile.images[$0]!.path }
            + ["--label", label.path, "--style", "npy", "--out", chips.path]
    }

    /// Runs the peer once; returns its measurement and the stage timings it prints as JSON.
    func run() throws -> (ProcessMeasurement, [String: Double]) {
        try? FileManager.default.removeItem(at: chips)
        let measurement = try MeasuredProcess.run(command, log: log, output: output)
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").last.map { Data($0.utf8) } ?? Data()
        let stages = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] ?? [:]
        return (measurement, stages.compactMapValues { ($0 as? NSNumber)?.doubleValue })
    }
}

/// The figures of `bench chip`: every run of every step, medians, ratios and the issue's targets.
struct BenchChipReport: Encodable {
    /// Target: chipping takes at most this many times the decode alone.
    static let maxChipOverDecode = 1.15
    /// Target: peak RSS of chipping, 1 GB.
    static let maxChipPeakRSSBytes = 1_000_000_000

    /// The machine the figures come from.
    struct Machine: Encodable {
        var cpus = ProcessInfo.processInfo.activeProcessorCount
        var cpuModel = Machine.cpuModel
        var memoryBytes = Int(ProcessInfo.processInfo.physicalMemory)
        var gdal = GDAL.version

        /// "model name" of /proc/cpuinfo.
        static var cpuModel: String {
            let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix("model name") }
            return line?.split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown"
        }
    }

    var date = ISO8601DateFormatter().string(from: Date())
    var machine = Machine()
    var tile: String
    var size: Int
    var bands = BenchTile.bands.map(\.name)
    /// The runs of each step, in order.
    var decode: [ProcessMeasurement] = []
    var chip: [ProcessMeasurement] = []
    var peer: [ProcessMeasurement] = []
    /// The stage timings chipper.py printed, per run.
    var peerStages: [[String: Double]] = []
    var peerLabelWarpSeconds: Double?
    var peerSkipped: String?

    init(tile: BenchTile, peerLabelWarpSeconds: Double?) {
        self.tile = "T" + tile.tileID
        size = tile.grid.width
        self.peerLabelWarpSeconds = peerLabelWarpSeconds
    }

    /// Median over runs of chip / decode of the same run.
    var chipOverDecode: Double { median(zip(chip, decode).map { $0.wallSeconds / $1.wallSeconds }) ?? .nan }
    /// Median over runs of chip / peer of the same run; nil without the peer.
    var chipOverPeer: Double? {
        median(zip(chip, peer).map { $0.wallSeconds / $1.wallSeconds })
    }
    /// The largest peak RSS of chipping over the runs.
    var chipPeakRSSBytes: Int { chip.map(\.peakRSSBytes).max() ?? 0 }

    /// Each target and whether it is met.
    var targetsMet: [String: Bool] {
        var met = [
            "chipOverDecode": chipOverDecode <= Self.maxChipOverDecode,
            "chipPeakRSS": chipPeakRSSBytes <= Self.maxChipPeakRSSBytes,
        ]
        if let chipOverPeer { met["chipBeatsPeer"] = chipOverPeer < 1 }
        return met
    }

    private enum CodingKeys: String, CodingKey {
        case date, machine, tile, size, bands, decode, chip, peer, peerStages, peerLabelWarpSeconds, peerSkipped
        case chipOverDecode, chipOverPeer, chipPeakRSSBytes, targetsMet
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(date, forKey: .date)
        try container.encode(machine, forKey: .machine)
        try container.encode(tile, forKey: .tile)
        try container.encode(size, forKey: .size)
        try container.encode(bands, forKey: .bands)
        try container.encode(decode, forKey: .decode)
        try container.encode(chip, forKey: .chip)
        try container.encode(peer, forKey: .peer)
        try container.encode(peerStages, forKey: .peerStages)
        try container.encodeIfPresent(peerLabelWarpSeconds, forKey: .peerLabelWarpSeconds)
        try container.encodeIfPresent(peerSkipped, forKey: .peerSkipped)
        try container.encode(chipOverDecode, forKey: .chipOverDecode)
        try container.encodeIfPresent(chipOverPeer, forKey: .chipOverPeer)
        try container.encode(chipPeakRSSBytes, forKey: .chipPeakRSSBytes)
        try container.encode(targetsMet, forKey: .targetsMet)
    }

    /// The table and the verdicts, in Markdown.
    var markdown: String {
        let runs = decode.count
        var lines = [
            "Chipping \(tile) (\(size)², bands \(bands.joined(separator: " ")), chips of 120²) on \(machine.cpus) × "
                + "\(machine.cpuModel), GDAL \(machine.gdal)" + (runs > 1 ? "; medians of \(runs) runs" : ""),
            "",
            "| step | wall s | CPU s | peak RSS | × decode alone |",
            "|---|---|---|---|---|",
            row("decode alone (the chipper's strip reads)", decode, ratio: 1),
            row("landcover chip", chip, ratio: chipOverDecode),
        ]
        if !peer.isEmpty {
            var name = "chipper.py (npy shard)"
            if let read = median(peerStages.compactMap { $0["read_bands_s"] }) {
                name += String(format: "; its own decode %.1f s", read)
            }
            lines.append(row(name, peer, ratio: median(zip(peer, decode).map { $0.wallSeconds / $1.wallSeconds })))
        }
        lines.append("")
        if runs > 1 {
            let walls = { (steps: [ProcessMeasurement]) in
                steps.map { String(format: "%.1f", $0.wallSeconds) }.joined(separator: ", ")
            }
            lines.append(
                "Wall s per run: decode \(walls(decode)); chip \(walls(chip))"
                    + (peer.isEmpty ? "" : "; chipper.py \(walls(peer))"))
        }
        if let peerLabelWarpSeconds {
            lines.append(
                String(
                    format: "chipper.py's label (CORINE warped to the tile grid) took %.1f s more, not counted.",
                    peerLabelWarpSeconds))
        }
        if let peerSkipped { lines.append("chipper.py not run: \(peerSkipped).") }
        let met = targetsMet
        func verdict(_ key: String) -> String { met[key]! ? "met" : "NOT met" }
        lines.append(
            String(
                format: "- landcover chip / decode alone: %.3f (target ≤ %.2f): ", chipOverDecode,
                Self.maxChipOverDecode) + verdict("chipOverDecode"))
        if let chipOverPeer {
            lines.append(
                String(format: "- landcover chip / chipper.py: %.3f (target < 1): ", chipOverPeer)
                    + verdict("chipBeatsPeer"))
        }
        lines.append(
            "- landcover chip peak RSS: \(gigabytes(chipPeakRSSBytes)) (target ≤ 1 GB): " + verdict("chipPeakRSS"))
        return lines.joined(separator: "\n")
    }

    private func row(_ name: String, _ runs: [ProcessMeasurement], ratio: Double?) -> String {
        let wall = median(runs.map(\.wallSeconds)) ?? 0
        let cpu = median(runs.map { $0.userSeconds + $0.systemSeconds }) ?? 0
        let rss = runs.map(\.peakRSSBytes).max() ?? 0
        return String(format: "| %@ | %.1f | %.1f | %@ | %.2f |", name, wall, cpu, gigabytes(rss), ratio ?? .nan)
    }

    private func gigabytes(_ bytes: Int) -> String { String(format: "%.2f GB", Double(bytes) / 1e9) }
}

/// The median, nil for no values.
func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

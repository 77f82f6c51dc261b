import Cluster
import Foundation
import GeoRaster

/// `landcover map --out-dir`: a list of granules shared out among the ranks of a job (or mapped in turn by one
/// process), each through the single-granule `GranuleMapping`, then one VRT mosaic per CRS and level, one STAC
/// collection and a summary written by rank 0.
///
/// **Distribution.** Rank 0 decides which granules are still to do (a granule whose every output file exists is
/// finished and skipped, unless `overwrite`) and broadcasts that list; pending granule `i` goes to rank
/// `i % size` (static round-robin: granules of one product type cost about the same, and no rank has to wait for
/// a dispatcher). A granule that fails is reported through `failure` and tried again after the rank's other
/// granules, up to `retries` more times, replacing what its failed attempt left. An interrupted granule resumes
/// from its `<map>.partial` work directory on the next run, as a single `landcover map` does.
public struct GranuleBatch {
    /// The segmenter checkpoint and every option of a single-granule run; its `product` and `output` are set per
    /// granule, its `polygons` is ignored.
    public var mapping: GranuleMapping
    /// The Sentinel-2 products (`.SAFE`, its XML or `.zip`), in the order given.
    public var products: [String]
    /// The folder that receives every granule's maps, the mosaics, `collection.json` and `summary.json`.
    public var outputDirectory: URL
    /// Further attempts for a failed granule.
    public var retries = 1
    /// Renders an error as the one line reported and recorded in the summary.
    public var describe: @Sendable (Error) -> String = { String(describing: $0) }

    /// A batch over `products` with the options of `mapping`.
    public init(mapping: GranuleMapping, products: [String], outputDirectory: URL) {
        self.mapping = mapping
        self.products = products
        self.outputDirectory = outputDirectory
    }

    /// What became of one granule.
    public struct GranuleResult: Codable, Sendable {
        /// How a granule ended.
        public enum Status: String, Codable, Sendable {
            /// Mapped by this run.
            case mapped
            /// Finished by an earlier run; left as it was.
            case skipped
            /// Still failing after every attempt.
            case failed
        }
        /// The granule's output name, `T<tile>_<yyyymmdd>`.
        public var granule: String
        /// The product as listed.
        public var product: String
        /// The rank that mapped it (nil when skipped).
        public var rank: Int?
        /// Wall-clock seconds of all its attempts.
        public var seconds: Double
        /// How it ended.
        public var status: Status
        /// Attempts made by this run.
        public var attempts: Int
        /// The last attempt's error, when failed.
        public var error: String?
    }

    /// The outcome of the whole batch, as written to `summary.json`.
    public struct Summary: Codable, Sendable {
        /// Processes of the job.
        public var ranks: Int
        /// Wall-clock seconds from the start to the summary.
        public var seconds: Double
        /// Every granule in list order.
        public var granules: [GranuleResult]
        /// The mosaics written, file names in the output folder.
        public var mosaics: [String]
        /// The STAC collection, a file name in the output folder.
        public var collection: String
        /// How many granules failed.
        public var failed: Int { granules.filter { $0.status == .failed }.count }
    }

    /// The name of each product's outputs: `T<tile>_<yyyymmdd>` from the product name (its tile and sensing date),
    /// with the sensing time added (`…T094029`) where two products share tile and date; the file name without
    /// extension for a name of another form. Two products with one name are an error.
    public static func granuleNames(_ products: [String]) throws -> [String] {
        let parsed = products.map(parseProductName)
        let short = parsed.map { $0.map { "T\($0.tile)_\($0.time.prefix(8))" } }
        let names = products.indices.map { index in
            guard let tile = parsed[index], let name = short[index] else { return productStem(products[index]) }
            return short.filter { $0 == name }.count > 1 ? "T\(tile.tile)_\(tile.time)" : name
        }
        var seen: [String: String] = [:]
        for (name, product) in zip(names, products) {
            if let other = seen[name] {
                throw MappingError(path: product, problem: "maps to the same name \(name) as \(other)")
            }
            seen[name] = product
        }
        return names
    }

    /// The product folder or archive name without extension: `…/X.SAFE/MTD_MSIL1C.xml` → `X`.
    static func productStem(_ product: String) -> String {
        var url = URL(fileURLWithPath: product).standardizedFileURL
        if url.pathExtension.lowercased() == "xml" { url = url.deletingLastPathComponent() }
        return url.deletingPathExtension().lastPathComponent
    }

    /// Tile (`35VMF`) and sensing time (`20180510T094029`) from a product name
    /// `S2B_MSIL1C_20180510T094029_N0500_R036_T35VMF_20230104T000000`.
    static func parseProductName(_ product: String) -> (tile: String, time: String)? {
        let parts = productStem(product).split(separator: "_").map(String.init)
        guard parts.count >= 6, parts[0].hasPrefix("S2"), parts[1].hasPrefix("MSIL"),
            let tile = parts.first(where: {
                $0.count == 6 && $0.hasPrefix("T") && $0.dropFirst().prefix(2).allSatisfy(\.isNumber)
            }),
            parts[2].count == 15
        else { return nil }
        return (String(tile.dropFirst()), parts[2])
    }

    /// The single-granule job of product `index`.
    public func job(_ index: Int, name: String) -> GranuleMapping {
        var job = mapping
        job.product = products[index]
        job.output = outputDirectory.appendingPathComponent(name + ".tif").path
        job.polygons = nil
        return job
    }

    /// Maps the granules this rank is given; on rank 0 also writes the mosaics, collection and summary and returns
    /// the summary (nil on the other ranks). Every rank of `group` must call it. `progress` reports a granule's
    /// bands, `report` one line per finished granule, `failure` one line per failed attempt. Throws only for what
    /// stops the whole batch (an unreadable model, an output folder that cannot be written); failed granules are
    /// in the summary, and `failedCount` on every rank.
    public func run(
        group: any ProcessGroup, codeVersion: String,
        progress: @escaping (_ granule: String, _ done: Int, _ total: Int) -> Void = { _, _, _ in },
        report: (String) -> Void = { _ in }, failure: (String) -> Void = { _ in }
    ) throws -> (summary: Summary?, failedCount: Int) {
        let started = ContinuousClock.now
        let names = try Self.granuleNames(products)
        let levels = try mapping.mappedLevels(MapModel(url: mapping.model).hierarchy())

        // Rank 0 alone looks at the folder, so that every rank works from the same list even when a fast rank
        // finishes a granule before a slow one has started.
        var plan: [Int] = []
        var skipped: [GranuleResult] = []
        if group.isRoot {
            try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
            for index in products.indices {
                let files = job(index, name: names[index]).outputFiles(levels: levels)
                if !mapping.writer.overwrite && files.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) {
                    skipped.append(
                        GranuleResult(
                            granule: names[index], product: products[index], rank: nil, seconds: 0, status: .skipped,
                            attempts: 0))
                } else {
                    plan.append(index)
                }
            }
        }
        plan = try JSONDecoder().decode(
            [Int].self, from: Data(group.broadcast(Array(try JSONEncoder().encode(plan)), from: 0)))

        var results: [GranuleResult] = []
        var queue = plan.enumerated().filter { $0.offset % group.size == group.rank }.map {
            GranuleResult(
                granule: names[$0.element], product: products[$0.element], rank: group.rank, seconds: 0,
                status: .failed, attempts: 0)
        }
        while !queue.isEmpty {
            var result = queue.removeFirst()
            let index = products.firstIndex(of: result.product)!
            var attempt = job(index, name: result.granule)
            // A granule some of whose files exist was interrupted between two renames (or failed part-way): its
            // files are this batch's own, so it is redone in full.
            attempt.writer.overwrite = true
            result.attempts += 1
            let attemptStart = ContinuousClock.now
            do {
                let outputs = try attempt.run(codeVersion: codeVersion) { progress(result.granule, $0, $1) }
                result.seconds += (ContinuousClock.now - attemptStart).seconds
                result.status = .mapped
                result.error = nil
                let resumed =
                    outputs.prediction.resumedBands > 0
                    ? ", resumed after \(outputs.prediction.resumedBands) bands" : ""
                report(
                    String(
                        format: "%@: mapped by rank %d in %.1f s (%d×%d%@)", result.granule, group.rank, result.seconds,
                        outputs.grid.width, outputs.grid.height, resumed))
                results.append(result)
            } catch {
                result.seconds += (ContinuousClock.now - attemptStart).seconds
                let reason = describe(error)
                result.error = reason
                let again = result.attempts <= retries
                failure(
                    "\(result.granule) (\(result.product)): attempt \(result.attempts) of \(retries + 1) on rank "
                        + "\(group.rank) failed\(again ? ", will retry" : ""): \(reason)")
                if again { queue.append(result) } else { results.append(result) }
            }
        }

        let gathered = try group.gather(Array(try JSONEncoder().encode(results)), to: 0)
        var failedCount = [Double(results.filter { $0.status == .failed }.count)]
        try group.allReduce(&failedCount, .sum)
        guard group.isRoot else { return (nil, Int(failedCount[0])) }
        var all = skipped
        for payload in gathered { all += try JSONDecoder().decode([GranuleResult].self, from: Data(payload)) }
        let order = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) })
        all.sort { order[$0.granule]! < order[$1.granule]! }

        let finished = all.filter { $0.status != .failed }.map { job(order[$0.granule]!, name: $0.granule) }
        let mosaics = try writeMosaics(finished, levels: levels)
        try writeCollection(finished, levels: levels, mosaics: mosaics)
        let summary = Summary(
            ranks: group.size, seconds: (ContinuousClock.now - started).seconds, granules: all,
            mosaics: mosaics.map(\.name), collection: Self.collectionName)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(summary).write(
            to: outputDirectory.appendingPathComponent(Self.summaryName), options: .atomic)
        return (summary, Int(failedCount[0]))
    }

    /// The STAC collection's file name in the output folder.
    public static let collectionName = "collection.json"
    /// The summary's file name in the output folder.
    public static let summaryName = "summary.json"
}

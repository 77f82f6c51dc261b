import Foundation
import GeoRaster
import LandCoverData
import TensorCore

#if canImport(Glibc)
    import Glibc
#endif

/// Settings of a whole-granule prediction.
public struct PredictionOptions: Sendable, Equatable, Codable {
    /// Window side in pixels (a multiple of 32 avoids the U-Net's internal resizes).
    public var window: Int
    /// Pixels shared by neighbouring windows, blended with `WindowLayout.ramp`.
    public var overlap: Int
    /// Windows per forward pass.
    public var batchSize: Int
    /// The CORINE levels to map, each at most the model's level.
    public var levels: [CorineLevel]
    /// Whether confidence (top-1 probability) and margin (top-1 − top-2) are kept.
    public var confidence: Bool

    /// The default overlap: 32 px, the encoder's output stride. A ResNet encoder's deepest features see each
    /// window edge through zero padding one deepest cell (32 px) deep and the decoder spreads that back to full
    /// resolution, so predictions within ~32 px of a window edge are the least reliable: blending over that band
    /// hands them to the neighbour whose interior it is.
    public static let defaultOverlap = 32

    /// Options; the defaults give 256-px windows (a multiple of 32, ~1.3× the pixels of the granule in total).
    public init(
        window: Int = 256, overlap: Int = PredictionOptions.defaultOverlap, batchSize: Int = 4,
        levels: [CorineLevel], confidence: Bool = false
    ) {
        self.window = window
        self.overlap = overlap
        self.batchSize = batchSize
        self.levels = levels
        self.confidence = confidence
    }
}

/// Streaming windowed prediction of a whole grid, resumable, with memory bounded by one row of windows.
///
/// The grid is covered by windows (`WindowLayout.starts`). Windows are processed one *band* (a row of windows) at a
/// time: each window's softmax probabilities are multiplied by its blend weights and added into an accumulator
/// `[classes, window, grid width]` with the weight sum beside it. Once a band is done, the rows above the next
/// band's first row are final: they are normalised, summed up the CORINE hierarchy for every requested level,
/// arg-maxed (plus confidence and margin), and written to `band-<n>.u8` in the work directory, followed by
/// `progress.json`. A rerun with the same run key starts after the last finished band, recomputing only the band
/// before it to restore the accumulator's overlap (its rows are not written again). Windows without a valid pixel
/// are skipped.
///
/// Memory: the accumulator (4 · (classes + 1) · window · width bytes; 25 classes, 256-px windows and 10 980 px:
/// 0.3 GB), one input strip (4 · bands · window · width), one batch and the network's activations; independent of
/// the number of rows.
public final class GranulePredictor {
    /// The network.
    public let model: any SegmentationModel
    /// The input.
    public let source: any PredictionSource
    /// How outputs map onto levels.
    public let hierarchy: ClassHierarchy
    /// The options.
    public let options: PredictionOptions

    /// One finished band of rows and its file.
    public struct Band: Sendable {
        /// The grid rows.
        public var rows: Range<Int>
        /// Its file in the work directory.
        public var url: URL
    }

    /// What a run did.
    public struct Result: Sendable {
        /// The bands, top to bottom.
        public var bands: [Band]
        /// Windows of the layout.
        public var windows: Int
        /// Windows run through the network in this run.
        public var computedWindows: Int
        /// Bands found finished from an earlier run.
        public var resumedBands: Int
        /// Seconds reading and preparing input.
        public var readSeconds: Double = 0
        /// Seconds in the network.
        public var modelSeconds: Double = 0
        /// Seconds in softmax, blending, levels and band files.
        public var blendSeconds: Double = 0
    }

    /// A predictor of `model` on `source`; the model's bands and classes must match the source and hierarchy.
    public init(
        model: any SegmentationModel, source: any PredictionSource, hierarchy: ClassHierarchy,
        options: PredictionOptions
    ) {
        precondition(model.inputBands == source.bandCount, "The model takes \(model.inputBands) bands.")
        precondition(model.classCount == hierarchy.outputCodes.count, "The hierarchy does not match the model.")
        precondition(options.window >= 1 && options.overlap >= 0 && options.batchSize >= 1, "Invalid options.")
        precondition(
            !options.levels.isEmpty && options.levels.allSatisfy { $0.rawValue <= hierarchy.modelLevel.rawValue },
            "Levels \(options.levels) exceed the model's \(hierarchy.modelLevel).")
        self.model = model
        self.source = source
        self.hierarchy = hierarchy
        self.options = options
    }

    /// Window origins down the grid.
    public var rowStarts: [Int] {
        WindowLayout.starts(extent: source.grid.height, window: options.window, overlap: options.overlap)
    }

    /// Window origins across the grid.
    public var columnStarts: [Int] {
        WindowLayout.starts(extent: source.grid.width, window: options.window, overlap: options.overlap)
    }

    /// The band files' bytes per row: classes for each level, then confidence and margin for each level.
    var planesPerBand: Int { options.levels.count * (options.confidence ? 3 : 1) }

    struct Progress: Codable {
        var format = "landcover-map-progress"
        var version = 1
        var runKey: String
        var bandCount: Int
        var bandsDone: Int
    }

    /// Predicts every band not yet finished in `work` (created if needed; a record of another `runKey` is
    /// discarded), reporting finished bands to `progress`.
    public func run(work: URL, runKey: String, progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws
        -> Result
    {
        let grid = source.grid
        let rowStarts = rowStarts
        let columnStarts = columnStarts
        let key =
            runKey + "|window \(options.window) overlap \(options.overlap) levels "
            + options.levels.map { String($0.rawValue) }.joined(separator: ",") + " confidence \(options.confidence)"
        let bands = rowStarts.indices.map { index in
            Band(
                rows: rowStarts[index]..<(index + 1 < rowStarts.count ? rowStarts[index + 1] : grid.height),
                url: work.appendingPathComponent(String(format: "band-%05d.u8", index)))
        }
        let done = try resumePoint(work: work, key: key, bands: bands)
        var result = Result(
            bands: bands, windows: rowStarts.count * columnStarts.count, computedWindows: 0, resumedBands: done)
        progress(done, bands.count)
        guard done < bands.count else { return result }

        let width = grid.width
        let windowHeight = min(options.window, grid.height)
        let windowWidth = min(options.window, width)
        let classes = model.classCount
        let bandCount = source.bandCount
        let rampY = WindowLayout.ramp(length: windowHeight, overlap: min(options.overlap, windowHeight - 1))
        let rampX = WindowLayout.ramp(length: windowWidth, overlap: min(options.overlap, windowWidth - 1))
        let plane = windowHeight * width
        var accumulator = [Float](repeating: 0, count: classes * plane)
        var weights = [Float](repeating: 0, count: plane)
        var strip = [Float](repeating: 0, count: bandCount * plane)
        var valid = [Bool](repeating: false, count: plane)
        var base: Int?
        let blender = WindowBlender(classes: classes, width: windowWidth)
        let finaliser = LevelFinaliser(hierarchy: hierarchy, levels: options.levels, confidence: options.confidence)
        let clock = ContinuousClock()

        for index in max(0, done - 1)..<bands.count {
            let top = rowStarts[index]
            // Keep the rows this band shares with the previous one, clear the rest.
            let carried = base.map { max(0, $0 + windowHeight - top) } ?? 0
            let shift = (top - (base ?? top)) * width
            accumulator.withUnsafeMutableBufferPointer { values in
                for c in 0..<classes {
                    let start = values.baseAddress! + c * plane
                    if carried > 0 && shift > 0 { memmove(start, start + shift, carried * width * 4) }
                    (start + carried * width).update(repeating: 0, count: plane - carried * width)
                }
            }
            weights.withUnsafeMutableBufferPointer { values in
                let start = values.baseAddress!
                if carried > 0 && shift > 0 { memmove(start, start + shift, carried * width * 4) }
                (start + carried * width).update(repeating: 0, count: plane - carried * width)
            }
            base = top

            var started = clock.now
            try strip.withUnsafeMutableBufferPointer { input in
                try valid.withUnsafeMutableBufferPointer { valid in
                    try source.read(rows: top..<(top + windowHeight), input: input, valid: valid)
                }
            }
            result.readSeconds += (clock.now - started).seconds

            // Windows with at least one valid pixel, in batches.
            let columns = columnStarts.filter { column in
                (0..<windowHeight).contains { row in
                    valid[(row * width + column)..<(row * width + column + windowWidth)].contains(true)
                }
            }
            for batchStart in stride(from: 0, to: columns.count, by: options.batchSize) {
                let batch = Array(columns[batchStart..<min(columns.count, batchStart + options.batchSize)])
                started = clock.now
                var input = [Float](repeating: 0, count: batch.count * bandCount * windowHeight * windowWidth)
                input.withUnsafeMutableBufferPointer { input in
                    strip.withUnsafeBufferPointer { strip in
                        var target = 0
                        for column in batch {
                            for band in 0..<bandCount {
                                for row in 0..<windowHeight {
                                    let from = band * plane + row * width + column
                                    (input.baseAddress! + target).update(
                                        from: strip.baseAddress! + from, count: windowWidth)
                                    target += windowWidth
                                }
                            }
                        }
                    }
                }
                result.readSeconds += (clock.now - started).seconds
                started = clock.now
                let logits = try model.logits(
                    Tensor(shape: [batch.count, bandCount, windowHeight, windowWidth], scalars: input))
                result.modelSeconds += (clock.now - started).seconds
                precondition(
                    logits.shape == [batch.count, classes, windowHeight, windowWidth],
                    "The model gave \(logits.shape) for \(batch.count) windows of \(windowHeight)×\(windowWidth).")
                started = clock.now
                logits.withUnsafeBufferPointer { logits in
                    accumulator.withUnsafeMutableBufferPointer { accumulator in
                        weights.withUnsafeMutableBufferPointer { weights in
                            for (k, column) in batch.enumerated() {
                                blender.add(
                                    logits: logits.baseAddress! + k * classes * windowHeight * windowWidth,
                                    height: windowHeight, rampY: rampY, rampX: rampX,
                                    into: accumulator.baseAddress! + column, weights: weights.baseAddress! + column,
                                    planeStride: plane, rowStride: width)
                            }
                        }
                    }
                }
                result.blendSeconds += (clock.now - started).seconds
                result.computedWindows += batch.count
            }
            // The band before the resume point only restores the overlap.
            guard index >= done else { continue }

            started = clock.now
            let rows = bands[index].rows.count
            var bytes = [UInt8](repeating: 0, count: planesPerBand * rows * width)
            accumulator.withUnsafeBufferPointer { accumulator in
                weights.withUnsafeBufferPointer { weights in
                    valid.withUnsafeBufferPointer { valid in
                        bytes.withUnsafeMutableBufferPointer { bytes in
                            finaliser.finalise(
                                rows: rows, width: width, accumulator: accumulator.baseAddress!, planeStride: plane,
                                weights: weights.baseAddress!, valid: valid.baseAddress!, into: bytes.baseAddress!)
                        }
                    }
                }
            }
            try write(Data(bytes), to: bands[index].url)
            try writeProgress(Progress(runKey: key, bandCount: bands.count, bandsDone: index + 1), work: work)
            result.blendSeconds += (clock.now - started).seconds
            progress(index + 1, bands.count)
        }
        return result
    }

    /// Reads the rows of `band` for `level` (classes) and, when kept, its confidence and margin.
    public func read(_ band: Band, level: CorineLevel, width: Int) throws -> (
        classes: [UInt8], confidence: [UInt8]?, margin: [UInt8]?
    ) {
        guard let position = options.levels.firstIndex(of: level) else {
            preconditionFailure("\(level) was not predicted.")
        }
        let data = try Data(contentsOf: band.url)
        let planeBytes = band.rows.count * width
        guard data.count == planesPerBand * planeBytes else {
            throw MappingError(
                path: band.url.path, problem: "has \(data.count) bytes, expected \(planesPerBand * planeBytes)")
        }
        func plane(_ index: Int) -> [UInt8] { [UInt8](data[(index * planeBytes)..<((index + 1) * planeBytes)]) }
        let levels = options.levels.count
        guard options.confidence else { return (plane(position), nil, nil) }
        return (plane(position), plane(levels + 2 * position), plane(levels + 2 * position + 1))
    }

    /// The number of bands already finished in `work` under `key`, after checking their files; 0 after clearing
    /// `work` when it holds another run or nothing usable.
    private func resumePoint(work: URL, key: String, bands: [Band]) throws -> Int {
        let fileManager = FileManager.default
        let record = work.appendingPathComponent("progress.json")
        if let data = try? Data(contentsOf: record),
            let progress = try? JSONDecoder().decode(Progress.self, from: data),
            progress.format == "landcover-map-progress", progress.runKey == key, progress.bandCount == bands.count,
            progress.bandsDone <= bands.count
        {
            let width = source.grid.width
            let intact = bands.prefix(progress.bandsDone).allSatisfy { band in
                let size = (try? fileManager.attributesOfItem(atPath: band.url.path)[.size] as? Int) ?? nil
                return size == planesPerBand * band.rows.count * width
            }
            if intact { return progress.bandsDone }
        }
        if fileManager.fileExists(atPath: work.path) { try fileManager.removeItem(at: work) }
        do {
            try fileManager.createDirectory(at: work, withIntermediateDirectories: true)
        } catch {
            throw MappingError(
                path: work.path, problem: "cannot create the work directory: \(error.localizedDescription)")
        }
        return 0
    }

    private func writeProgress(_ progress: Progress, work: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try write(try encoder.encode(progress), to: work.appendingPathComponent("progress.json"))
    }

    /// Writes `data` durably: a temporary file, fsync, rename (so a crash leaves the old file or the new one).
    private func write(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw Self.systemError(url) }
        var failure: MappingError?
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = Self.systemError(url)
                    return
                }
                offset += written
            }
        }
        if failure == nil && fsync(descriptor) != 0 { failure = Self.systemError(url) }
        close(descriptor)
        if let failure {
            unlink(temporary.path)
            throw failure
        }
        guard rename(temporary.path, url.path) == 0 else { throw Self.systemError(url) }
    }

    private static func systemError(_ url: URL) -> MappingError {
        MappingError(path: url.path, problem: String(cString: strerror(errno)))
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}

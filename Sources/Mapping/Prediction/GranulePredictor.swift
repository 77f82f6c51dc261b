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
/// Reading, the network and blending overlap: the next two bands' strips are read on their own thread while the
/// current band's windows run through the network, and each batch is blended on another thread while the next ones
/// run.
///
/// Memory: the accumulator (4 · (classes + 1) · window · width bytes; 25 classes, 256-px windows and 10 980 px:
/// 0.3 GB), three input strips (4 · bands · window · width each), up to five batches of logits (four waiting to be
/// blended) and the network's activations; independent of the number of rows.
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
        /// Seconds reading and preparing input (the reading overlaps the network).
        public var readSeconds: Double = 0
        /// Seconds in the network.
        public var modelSeconds: Double = 0
        /// Seconds in softmax, blending, levels and band files (the blending overlaps the network).
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
        let sums = BlendBuffers(classes: classes, plane: plane)
        let blender = WindowBlender(classes: classes, width: windowWidth)
        let finaliser = LevelFinaliser(hierarchy: hierarchy, levels: options.levels, confidence: options.confidence)
        let planesPerBand = planesPerBand
        let clock = ContinuousClock()
        let first = max(0, done - 1)
        // Three threads of work overlap. This one prepares windows and runs the network; the reader reads up to
        // two bands ahead; the blending thread owns the accumulator: it blends each batch, shifts it between
        // bands and writes each finished band, in order, while the network runs on.
        let reader = StripReader(source: source, bandCount: bandCount, plane: plane)
        let blending = DispatchQueue(label: "landcover.map.blend")
        let inFlight = DispatchSemaphore(value: 4)  // batches of logits waiting to be blended
        // However the run ends, nothing is still writing bands or reading the source when it returns or throws.
        defer {
            blending.sync {}
            reader.drain()
        }
        func rows(of band: Int) -> Range<Int> { rowStarts[band]..<(rowStarts[band] + windowHeight) }
        for band in first..<min(first + StripReader.ahead, bands.count) {
            reader.start(rows: rows(of: band), band: band)
        }
        var base: Int?
        var reported = done

        for index in first..<bands.count {
            let top = rowStarts[index]
            let strip = try reader.wait(band: index)
            if index + StripReader.ahead < bands.count {
                reader.start(rows: rows(of: index + StripReader.ahead), band: index + StripReader.ahead)
            }
            try sums.check()
            // Keep the rows this band shares with the previous one, clear the rest.
            let carried = base.map { max(0, $0 + windowHeight - top) } ?? 0
            let shift = (top - (base ?? top)) * width
            blending.async { sums.shift(by: shift, keeping: carried * width) }
            base = top

            // Windows with at least one valid pixel, in batches.
            let columns = columnStarts.filter { column in
                (0..<windowHeight).contains { row in
                    strip.valid[(row * width + column)..<(row * width + column + windowWidth)].contains(true)
                }
            }
            for batchStart in stride(from: 0, to: columns.count, by: options.batchSize) {
                let batch = Array(columns[batchStart..<min(columns.count, batchStart + options.batchSize)])
                var started = clock.now
                var input = [Float](repeating: 0, count: batch.count * bandCount * windowHeight * windowWidth)
                input.withUnsafeMutableBufferPointer { input in
                    strip.input.withUnsafeBufferPointer { strip in
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
                    Tensor(shape: [batch.count, bandCount, windowHeight, windowWidth], scalars: input)
                ).rowMajor
                result.modelSeconds += (clock.now - started).seconds
                precondition(
                    logits.shape == [batch.count, classes, windowHeight, windowWidth],
                    "The model gave \(logits.shape) for \(batch.count) windows of \(windowHeight)×\(windowWidth).")
                inFlight.wait()
                blending.async {
                    defer { inFlight.signal() }
                    yieldToTheNetwork()
                    let started = clock.now
                    sums.withBuffers { accumulator, weights in
                        logits.withUnsafeBufferPointer { logits in
                            for (k, column) in batch.enumerated() {
                                blender.add(
                                    logits: logits.baseAddress! + k * classes * windowHeight * windowWidth,
                                    height: windowHeight, rampY: rampY, rampX: rampX,
                                    into: accumulator + column, weights: weights + column,
                                    planeStride: plane, rowStride: width)
                            }
                        }
                    }
                    sums.busySeconds += (clock.now - started).seconds
                }
                result.computedWindows += batch.count
            }
            // The band before the resume point only restores the overlap.
            if index >= done {
                let (band, valid, progressRecord) = (
                    bands[index], strip.valid,
                    Progress(runKey: key, bandCount: bands.count, bandsDone: index + 1)
                )
                blending.async {
                    let started = clock.now
                    var bytes = [UInt8](repeating: 0, count: planesPerBand * band.rows.count * width)
                    sums.withBuffers { accumulator, weights in
                        valid.withUnsafeBufferPointer { valid in
                            bytes.withUnsafeMutableBufferPointer { bytes in
                                finaliser.finalise(
                                    rows: band.rows.count, width: width, accumulator: accumulator,
                                    planeStride: plane, weights: weights, valid: valid.baseAddress!,
                                    into: bytes.baseAddress!)
                            }
                        }
                    }
                    sums.record {
                        try Self.write(Data(bytes), to: band.url)
                        try Self.writeProgress(progressRecord, work: work)
                    }
                    sums.busySeconds += (clock.now - started).seconds
                }
            }
            for finished in reported..<sums.bandsWritten(after: done) {
                progress(finished + 1, bands.count)
                reported = finished + 1
            }
        }
        blending.sync {}
        try sums.check()
        for finished in reported..<sums.bandsWritten(after: done) { progress(finished + 1, bands.count) }
        result.blendSeconds += sums.busySeconds
        result.readSeconds += reader.busySeconds
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

    private static func writeProgress(_ progress: Progress, work: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try Self.write(try encoder.encode(progress), to: work.appendingPathComponent("progress.json"))
    }

    /// Writes `data` durably: a temporary file, fsync, rename (so a crash leaves the old file or the new one).
    private static func write(_ data: Data, to url: URL) throws {
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

/// Lowers the calling thread's priority (only its own) to the least, nice 19, so that the reading and blending
/// threads mostly run while the network's threads leave a core idle. oneDNN's OpenMP threads busy-wait at their
/// barriers: a thread of equal priority that takes a core from one of them stalls the whole convolution. The
/// thread id comes from /proc/thread-self (Glibc's module exports neither `gettid` nor `syscall`).
private func yieldToTheNetwork() {
    guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"),
        let thread = link.split(separator: "/").last.flatMap({ id_t($0) })
    else { return }
    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), thread, 19)
}

/// The strip accumulator `[classes, window, width]` and weight sums of `GranulePredictor`, written by the blending
/// thread and, between bands, by the caller once the blending queue is drained.
private final class BlendBuffers: @unchecked Sendable {
    private var accumulator: [Float]
    private var weights: [Float]
    private let classes: Int
    private let plane: Int
    /// Seconds the blending thread worked.
    var busySeconds: Double = 0
    private let lock = NSLock()
    /// Guarded by `lock`: bands written by the blending thread, and its first error (it writes nothing after).
    private var written = 0
    private var failure: (any Error)?

    init(classes: Int, plane: Int) {
        self.classes = classes
        self.plane = plane
        accumulator = [Float](repeating: 0, count: classes * plane)
        weights = [Float](repeating: 0, count: plane)
    }

    /// Moves every plane's values `offset` scalars up, keeping the first `kept` after the move, and zeroes the rest.
    func shift(by offset: Int, keeping kept: Int) {
        withBuffers { accumulator, weights in
            for start in (0..<classes).map({ accumulator + $0 * plane }) + [weights] {
                if kept > 0 && offset > 0 { memmove(start, start + offset, kept * 4) }
                (start + kept).update(repeating: 0, count: plane - kept)
            }
        }
    }

    /// Runs `write` (a band's files) unless an earlier one failed, counting the bands written and keeping the error.
    func record(_ write: () throws -> Void) {
        guard lock.withLock({ failure == nil }) else { return }
        do {
            try write()
            lock.withLock { written += 1 }
        } catch {
            lock.withLock { failure = error }
        }
    }

    /// The index after the last band written so far, when the run started at band `first`.
    func bandsWritten(after first: Int) -> Int { lock.withLock { first + written } }

    /// Throws the blending thread's first error, if any.
    func check() throws {
        if let failure = lock.withLock({ failure }) { throw failure }
    }

    /// Calls `body` with the accumulator and the weights.
    func withBuffers<Result>(_ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) throws -> Result)
        rethrows
        -> Result
    {
        try accumulator.withUnsafeMutableBufferPointer { accumulator in
            try weights.withUnsafeMutableBufferPointer { weights in
                try body(accumulator.baseAddress!, weights.baseAddress!)
            }
        }
    }
}

/// Reads bands' strips on its own thread, up to `ahead` bands before the caller, each into its own buffer.
private final class StripReader: @unchecked Sendable {
    /// One band's input `[bands, window, width]` and validity `[window, width]`.
    struct Strip {
        var input: [Float]
        var valid: [Bool]
    }

    /// A buffer and the state of the read into it; the reading thread and the caller hand it over with `done`.
    private final class Slot: @unchecked Sendable {
        var input: [Float]
        var valid: [Bool]
        var error: (any Error)?
        let done = DispatchSemaphore(value: 0)

        init(input: [Float], valid: [Bool]) {
            self.input = input
            self.valid = valid
        }
    }

    /// Bands read ahead of the one in use.
    static let ahead = 2
    private let source: any PredictionSource
    private let queue = DispatchQueue(label: "landcover.map.read")
    private let slots: [Slot]
    /// Written on the reading thread only.
    private var readSeconds: Double = 0

    init(source: any PredictionSource, bandCount: Int, plane: Int) {
        self.source = source
        slots = (0...Self.ahead).map { _ in
            Slot(input: [Float](repeating: 0, count: bandCount * plane), valid: [Bool](repeating: false, count: plane))
        }
    }

    /// Seconds the reading thread worked, once the reads started so far are done.
    var busySeconds: Double { queue.sync { readSeconds } }

    /// Returns once the reads started so far are done.
    func drain() { queue.sync {} }

    /// Starts reading `rows` for `band` into its buffer (band modulo the buffer count).
    func start(rows: Range<Int>, band: Int) {
        let slot = slots[band % slots.count]
        queue.async { [self] in
            yieldToTheNetwork()
            let started = ContinuousClock.now
            do {
                try slot.input.withUnsafeMutableBufferPointer { input in
                    try slot.valid.withUnsafeMutableBufferPointer { valid in
                        try source.read(rows: rows, input: input, valid: valid)
                    }
                }
                slot.error = nil
            } catch {
                slot.error = error
            }
            readSeconds += (ContinuousClock.now - started).seconds
            slot.done.signal()
        }
    }

    /// The strip of `band` once its read is done; a failed read throws its error.
    func wait(band: Int) throws -> Strip {
        let slot = slots[band % slots.count]
        slot.done.wait()
        if let error = slot.error { throw error }
        return Strip(input: slot.input, valid: slot.valid)
    }
}

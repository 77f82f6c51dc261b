import Foundation
import GeoRaster

/// The inputs of one chip row: image DNs `[bands, height, width]`, labels `[height, width]` and, for L2A, the
/// cloud mask `[height, width]`.
struct ChipStrip {
    /// The chip row.
    var row: Int
    /// Raw DNs, band-sequential.
    var image: [UInt16]
    /// Level-3 class indices; empty when the reader reads no labels.
    var labels: [UInt8]
    /// True where cloud, shadow, snow or defective; nil without a cloud mask.
    var invalid: [Bool]?
}

/// Reads the strips of consecutive chip rows on a background thread, one strip ahead of the caller, so that
/// decoding the next strip overlaps the caller's work on the current one.
///
/// The image and label sources are used by the background thread only, from `init` until the last strip is read
/// or `cancel()` returns: call `cancel()` when stopping early. Decoding is GDAL's: JP2OpenJPEG decodes the tiles a
/// read needs on all cores, in bursts at each new row of tiles; the caller's work fills the gaps between them.
final class StripReader: @unchecked Sendable {
    private let image: ChipImageSource
    private let labels: ChipLabelSource?
    private let rows: Range<Int>
    private let window: @Sendable (Int) -> PixelWindow
    private let condition = NSCondition()
    /// Strips read and not yet taken (at most one), or the failure that stopped reading.
    private var ready: [Result<ChipStrip, Error>] = []
    /// Image buffers handed back for reuse.
    private var spare: [[UInt16]] = []
    private var cancelled = false
    private var finished = false

    /// Starts reading the strips of `rows`; `window` gives a row's pixel window. Without `labels`, strips carry no
    /// labels (decoding alone).
    init(
        image: ChipImageSource, labels: ChipLabelSource?, rows: Range<Int>,
        window: @escaping @Sendable (Int) -> PixelWindow
    ) {
        self.image = image
        self.labels = labels
        self.rows = rows
        self.window = window
        let thread = Thread { [self] in readAll() }
        thread.name = "landcover.strip-reader"
        thread.start()
    }

    /// The next strip in row order; blocks until it is read. Rethrows the read's failure.
    func next() throws -> ChipStrip {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty {
            precondition(!finished, "StripReader.next() called after the last strip.")
            condition.wait()
        }
        let result = ready.removeFirst()
        condition.broadcast()
        return try result.get()
    }

    /// Hands a strip's image buffer back for the next read.
    func recycle(_ strip: ChipStrip) {
        condition.lock()
        spare.append(strip.image)
        condition.unlock()
    }

    /// Stops reading and waits until the background thread no longer uses the sources.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func readAll() {
        let count = image.bandNames.count * (window(rows.lowerBound).pixelCount)
        for row in rows {
            condition.lock()
            while !ready.isEmpty && !cancelled { condition.wait() }
            let stop = cancelled
            var buffer = spare.popLast() ?? []
            condition.unlock()
            if stop { break }
            if buffer.count != count { buffer = [UInt16](repeating: 0, count: count) }
            let result = Result { try read(row: row, into: buffer) }
            condition.lock()
            ready.append(result)
            condition.broadcast()
            let failed = (try? result.get()) == nil
            condition.unlock()
            if failed { break }
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    private func read(row: Int, into buffer: [UInt16]) throws -> ChipStrip {
        var buffer = buffer
        let stripWindow = window(row)
        try buffer.withUnsafeMutableBufferPointer { try image.read(stripWindow, into: $0) }
        let stripLabels = try labels?.labels(on: image.grid.subgrid(stripWindow)) ?? []
        let invalid = labels != nil && image.hasCloudMask ? try image.readInvalidMask(stripWindow) : nil
        return ChipStrip(row: row, image: buffer, labels: stripLabels, invalid: invalid)
    }
}

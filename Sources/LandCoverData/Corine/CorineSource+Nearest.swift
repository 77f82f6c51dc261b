import GeoRaster

/// `gdalwarp -r near -et 0` of a class raster without transforming every pixel.
///
/// The exact transformer (PROJ for every target pixel) costs ~0.5 µs a pixel, ~60 s for a 10 980² tile; nearest
/// neighbour only needs the source pixel each target pixel falls in. Source coordinates are transformed exactly at
/// sample pixels `segment` apart along rows and columns, and interpolated linearly in between once the sample at
/// each segment's midpoint confirms the interpolation to within `linearityTolerance`; a pixel whose interpolated
/// coordinates come closer than `boundaryMargin` (100 × the tolerance) to a source pixel edge is transformed
/// exactly, so every pixel falls in the source pixel GDAL's warper picks. GDAL's rules are applied as in
/// `GWKNearest` and `GWKCheckAndComputeSrcOffsets`: outside when `x < 0` or `x + 1e-10 > width`, else pixel
/// `Int(x + 1e-10)`.
extension CorineSource {
    /// Target pixels between exactly transformed samples, along rows and columns. UTM 35N to LAEA Europe at 27° E
    /// bends by up to ~3e-6 source pixels (100 m) over 32 target pixels of 10 m, ~1e-5 over 64 and ~1e-4 over 256.
    static let segment = 32
    /// Largest accepted deviation (source pixels) of the linear interpolation at a segment's midpoint.
    static let linearityTolerance = 1e-5
    /// Interpolated coordinates closer than this (source pixels) to a pixel edge are transformed exactly: 100 × the
    /// tolerance, as the midpoint deviation of a smooth map is its largest; ~0.4 % of the pixels.
    static let boundaryMargin = 1e-3

    /// The raster on `grid` as `warpedValues` returns it (UInt16, 65535 where no source pixel or no data), or nil
    /// when the raster has what this path does not reproduce (a mask or alpha band, a pixel type other than Byte,
    /// UInt16 or Int16, a fractional no-data value) and GDAL must warp.
    func nearestValues(on grid: RasterGrid) throws -> [UInt16]? {
        let band = dataset.band(1)
        guard band.isMaskedByNoDataAlone, let type = band.pixelType, [.byte, .uint16, .int16].contains(type),
            dataset.geoTransform?.isNorthUp == true
        else { return nil }
        var noData: Int32?
        if let value = band.noDataValue {
            guard value == value.rounded(), abs(value) < 1e9 else { return nil }
            noData = Int32(value)
        }
        let transformer = try PixelTransformer(source: dataset, target: grid)
        let pixels = SourcePixels(
            grid: grid, transformer: transformer, sourceWidth: dataset.width, sourceHeight: dataset.height)
        guard let window = pixels.boundingWindow else {
            return [UInt16](repeating: UInt16.max, count: grid.width * grid.height)
        }
        let source: [Int32] = try band.read(window)
        return [UInt16](unsafeUninitializedCapacity: pixels.indices.count) { values, initialised in
            source.withUnsafeBufferPointer { source in
                pixels.indices.withUnsafeBufferPointer { indices in
                    // Int32 values never equal Int64.min: no no-data value, no match.
                    let noDataValue = noData.map(Int64.init) ?? Int64.min
                    for (i, index) in indices.enumerated() {
                        guard index >= 0 else {
                            values[i] = UInt16.max
                            continue
                        }
                        let value = source[Int(index)]
                        values[i] = Int64(value) == noDataValue ? UInt16.max : UInt16(clamping: value)
                    }
                }
            }
            initialised = pixels.indices.count
        }
    }
}

/// The source pixel of every target pixel of a grid: its index in `boundingWindow` (row-major), or −1 outside.
private struct SourcePixels {
    /// One entry per target pixel, row-major.
    let indices: [Int32]
    /// The smallest window of the source holding every pixel used; nil when none is.
    let boundingWindow: PixelWindow?

    init(grid: RasterGrid, transformer: PixelTransformer, sourceWidth: Int, sourceHeight: Int) {
        let width = grid.width
        let count = width * grid.height
        var columns = [Int32](repeating: -1, count: count)
        var rows = [Int32](repeating: -1, count: count)
        var resolver = RowResolver(
            width: width, transformer: transformer, sourceWidth: sourceWidth, sourceHeight: sourceHeight)
        columns.withUnsafeMutableBufferPointer { columns in
            rows.withUnsafeMutableBufferPointer { rows in
                func resolve(_ row: Int, _ samples: Samples) {
                    resolver.resolve(
                        row: row, samples: samples, columns: columns.baseAddress! + row * width,
                        rows: rows.baseAddress! + row * width)
                }
                // Rows between two key rows take their samples interpolated when the middle row agrees.
                let keyRows = segmentEnds(grid.height)
                var upper = resolver.samples(row: keyRows[0])
                resolve(keyRows[0], upper)
                for (first, last) in zip(keyRows, keyRows.dropFirst()) {
                    let lower = resolver.samples(row: last)
                    let middleRow = (first + last) / 2
                    let middle = resolver.samples(row: middleRow)
                    let span = Double(last - first)
                    let linear = upper.interpolates(
                        to: lower, middle: middle, fraction: Double(middleRow - first) / span)
                    for row in (first + 1)..<last {
                        if row == middleRow {
                            resolve(row, middle)
                        } else if linear {
                            resolve(row, upper.interpolated(to: lower, fraction: Double(row - first) / span))
                        } else {
                            resolve(row, resolver.samples(row: row))
                        }
                    }
                    resolve(last, lower)
                    upper = lower
                }
            }
        }
        var window: PixelWindow?
        columns.withUnsafeMutableBufferPointer { columns in
            rows.withUnsafeBufferPointer { rows in
                var minColumn = Int32.max
                var maxColumn = Int32.min
                var minRow = Int32.max
                var maxRow = Int32.min
                for i in 0..<count where columns[i] >= 0 {
                    minColumn = min(minColumn, columns[i])
                    maxColumn = max(maxColumn, columns[i])
                    minRow = min(minRow, rows[i])
                    maxRow = max(maxRow, rows[i])
                }
                guard minColumn <= maxColumn else { return }
                let stride = maxColumn - minColumn + 1
                for i in 0..<count where columns[i] >= 0 {
                    columns[i] = (rows[i] - minRow) * stride + columns[i] - minColumn
                }
                window = PixelWindow(
                    column: Int(minColumn), row: Int(minRow), width: Int(stride), height: Int(maxRow - minRow) + 1)
            }
        }
        indices = columns
        boundingWindow = window
    }
}

/// 0, `segment`, 2 × `segment` … and `count - 1`: the ends of the segments of `count` pixels.
private func segmentEnds(_ count: Int) -> [Int] {
    var ends = Array(stride(from: 0, to: count, by: CorineSource.segment))
    if ends.last != count - 1 { ends.append(count - 1) }
    return ends
}

/// Source coordinates of one target row's sample pixels (segment ends, then segment midpoints).
private struct Samples {
    var x: [Double]
    var y: [Double]
    var success: [Bool]

    /// Whether linear interpolation from `self` to `other` meets `middle` (at `fraction` of the way) within the
    /// tolerance, at every sample.
    func interpolates(to other: Samples, middle: Samples, fraction: Double) -> Bool {
        for i in x.indices {
            guard success[i], other.success[i], middle.success[i],
                abs(x[i] + (other.x[i] - x[i]) * fraction - middle.x[i]) <= CorineSource.linearityTolerance,
                abs(y[i] + (other.y[i] - y[i]) * fraction - middle.y[i]) <= CorineSource.linearityTolerance
            else { return false }
        }
        return true
    }

    /// The samples `fraction` of the way from `self` to `other`.
    func interpolated(to other: Samples, fraction: Double) -> Samples {
        Samples(
            x: x.indices.map { x[$0] + (other.x[$0] - x[$0]) * fraction },
            y: y.indices.map { y[$0] + (other.y[$0] - y[$0]) * fraction },
            success: success)
    }
}

/// Transforms the samples of rows and resolves rows pixel by pixel, reusing its buffers.
private struct RowResolver {
    let transformer: PixelTransformer
    let sourceWidth: Int
    let sourceHeight: Int
    /// Segment ends, then segment midpoints, in target columns.
    private let sampleColumns: [Int]
    private let segmentCount: Int
    private var x: [Double]
    private var y: [Double]
    private var success: [Int32]
    private var exactColumns: [Int] = []

    /// GDAL's slack when truncating source coordinates to pixels.
    private static let slack = 1e-10

    init(width: Int, transformer: PixelTransformer, sourceWidth: Int, sourceHeight: Int) {
        self.transformer = transformer
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        let ends = segmentEnds(width)
        segmentCount = ends.count - 1
        sampleColumns = ends + (0..<segmentCount).map { (ends[$0] + ends[$0 + 1]) / 2 }
        x = [Double](repeating: 0, count: max(sampleColumns.count, width))
        y = x
        success = [Int32](repeating: 0, count: x.count)
    }

    /// The exact source coordinates of `row`'s samples.
    mutating func samples(row: Int) -> Samples {
        for (i, column) in sampleColumns.enumerated() {
            x[i] = Double(column) + 0.5
            y[i] = Double(row) + 0.5
        }
        transform(count: sampleColumns.count)
        return Samples(
            x: Array(x[0..<sampleColumns.count]), y: Array(y[0..<sampleColumns.count]),
            success: success[0..<sampleColumns.count].map { $0 != 0 })
    }

    /// Writes source pixel columns and rows of target row `row`, whose samples are `samples`, to `columns` and
    /// `rows` (left at −1 outside).
    mutating func resolve(
        row: Int, samples: Samples, columns: UnsafeMutablePointer<Int32>, rows: UnsafeMutablePointer<Int32>
    ) {
        exactColumns.removeAll(keepingCapacity: true)
        if segmentCount == 0 { exactColumns.append(0) }
        let margin = CorineSource.boundaryMargin
        let width = Double(sourceWidth)
        let height = Double(sourceHeight)
        for segment in 0..<segmentCount {
            let first = sampleColumns[segment]
            let last = sampleColumns[segment + 1]
            let end = segment == segmentCount - 1 ? last : last - 1
            let middle = segmentCount + 1 + segment
            let x0 = samples.x[segment]
            let y0 = samples.y[segment]
            let dx = (samples.x[segment + 1] - x0) / Double(last - first)
            let dy = (samples.y[segment + 1] - y0) / Double(last - first)
            let offset = Double(sampleColumns[middle] - first)
            let linear =
                samples.success[segment] && samples.success[segment + 1] && samples.success[middle]
                && abs(x0 + dx * offset - samples.x[middle]) <= CorineSource.linearityTolerance
                && abs(y0 + dy * offset - samples.y[middle]) <= CorineSource.linearityTolerance
            guard linear else {
                exactColumns.append(contentsOf: first...end)
                continue
            }
            for column in first...end {
                let step = Double(column - first)
                let sourceX = x0 + dx * step + Self.slack
                let sourceY = y0 + dy * step + Self.slack
                // Clear of the source: no value. Near its left or top edge: decided exactly below.
                if sourceX <= -margin || sourceY <= -margin || sourceX >= width + margin || sourceY >= height + margin {
                    continue
                }
                if sourceX < margin || sourceY < margin {
                    exactColumns.append(column)
                    continue
                }
                let pixelX = Int(sourceX)
                let pixelY = Int(sourceY)
                // Within `margin` of a pixel edge when the fraction is within `margin` of 0 or 1.
                let fromCentreX = abs(sourceX - Double(pixelX) - 0.5)
                let fromCentreY = abs(sourceY - Double(pixelY) - 0.5)
                if fromCentreX > 0.5 - margin || fromCentreY > 0.5 - margin {
                    exactColumns.append(column)
                } else if pixelX < sourceWidth, pixelY < sourceHeight {
                    columns[column] = Int32(pixelX)
                    rows[column] = Int32(pixelY)
                }
            }
        }
        guard !exactColumns.isEmpty else { return }
        for (i, column) in exactColumns.enumerated() {
            x[i] = Double(column) + 0.5
            y[i] = Double(row) + 0.5
        }
        transform(count: exactColumns.count)
        for (i, column) in exactColumns.enumerated() {
            guard
                let pixel = Self.gdalPixel(
                    x: x[i], y: y[i], success: success[i], sourceWidth: sourceWidth, sourceHeight: sourceHeight)
            else { continue }
            columns[column] = pixel.column
            rows[column] = pixel.row
        }
    }

    /// The source pixel GDAL's nearest-neighbour kernel takes for exact source coordinates, nil outside.
    static func gdalPixel(x: Double, y: Double, success: Int32, sourceWidth: Int, sourceHeight: Int)
        -> (column: Int32, row: Int32)?
    {
        guard success != 0, x >= 0, y >= 0, x + slack <= Double(sourceWidth), y + slack <= Double(sourceHeight)
        else { return nil }
        let column = min(Int(x + slack), sourceWidth - 1)
        let row = min(Int(y + slack), sourceHeight - 1)
        return (Int32(column), Int32(row))
    }

    private mutating func transform(count: Int) {
        x.withUnsafeMutableBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                success.withUnsafeMutableBufferPointer { flags in
                    transformer.transformToSource(
                        columns: UnsafeMutableBufferPointer(rebasing: xs[0..<count]),
                        rows: UnsafeMutableBufferPointer(rebasing: ys[0..<count]),
                        success: UnsafeMutableBufferPointer(rebasing: flags[0..<count]))
                }
            }
        }
    }
}

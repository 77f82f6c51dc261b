/// An affine map from pixel (column, row) to map (x, y) coordinates, in GDAL's six-coefficient order.
///
/// `x = originX + column * pixelWidth + row * rowRotation`,
/// `y = originY + column * columnRotation + row * pixelHeight` (pixelHeight is negative for north-up rasters).
public struct GeoTransform: Sendable, Hashable, Codable {
    /// Map x of the top-left corner of the top-left pixel.
    public var originX: Double
    /// Map units per pixel along a row.
    public var pixelWidth: Double
    /// Rotation term (0 for north-up rasters).
    public var rowRotation: Double
    /// Map y of the top-left corner of the top-left pixel.
    public var originY: Double
    /// Rotation term (0 for north-up rasters).
    public var columnRotation: Double
    /// Map units per pixel down a column (negative for north-up rasters).
    public var pixelHeight: Double

    /// Creates a north-up transform.
    public init(originX: Double, originY: Double, pixelWidth: Double, pixelHeight: Double) {
        self.init(coefficients: [originX, pixelWidth, 0, originY, 0, pixelHeight])
    }

    /// Creates a transform from GDAL's array `[originX, pixelWidth, rowRotation, originY, columnRotation, pixelHeight]`.
    public init(coefficients c: [Double]) {
        precondition(c.count == 6, "A geotransform has six coefficients, got \(c.count).")
        originX = c[0]
        pixelWidth = c[1]
        rowRotation = c[2]
        originY = c[3]
        columnRotation = c[4]
        pixelHeight = c[5]
    }

    /// GDAL's six coefficients.
    public var coefficients: [Double] { [originX, pixelWidth, rowRotation, originY, columnRotation, pixelHeight] }

    /// Whether the transform has no rotation terms.
    public var isNorthUp: Bool { rowRotation == 0 && columnRotation == 0 }

    /// The map coordinate of a (fractional) pixel position; (0, 0) is the top-left corner of the raster.
    public func map(column: Double, row: Double) -> (x: Double, y: Double) {
        (originX + column * pixelWidth + row * rowRotation, originY + column * columnRotation + row * pixelHeight)
    }

    /// The fractional pixel position of a map coordinate (north-up transforms only).
    public func pixel(x: Double, y: Double) -> (column: Double, row: Double) {
        precondition(isNorthUp, "Inverse of a rotated geotransform is not supported.")
        return ((x - originX) / pixelWidth, (y - originY) / pixelHeight)
    }

    /// The transform of a sub-window starting at `window`'s top-left pixel.
    public func shifted(to window: PixelWindow) -> GeoTransform {
        var result = self
        let origin = map(column: Double(window.column), row: Double(window.row))
        result.originX = origin.x
        result.originY = origin.y
        return result
    }
}

/// A rectangle of pixels: top-left column and row plus width and height.
public struct PixelWindow: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Left column (0-based).
    public var column: Int
    /// Top row (0-based).
    public var row: Int
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int

    /// Creates a window.
    public init(column: Int, row: Int, width: Int, height: Int) {
        self.column = column
        self.row = row
        self.width = width
        self.height = height
    }

    /// Number of pixels.
    public var pixelCount: Int { width * height }
    /// One past the right column.
    public var endColumn: Int { column + width }
    /// One past the bottom row.
    public var endRow: Int { row + height }
    /// Whether the window holds no pixel.
    public var isEmpty: Bool { width <= 0 || height <= 0 }

    /// The overlap of two windows (empty when they do not overlap).
    public func intersection(_ other: PixelWindow) -> PixelWindow {
        let left = max(column, other.column)
        let top = max(row, other.row)
        let right = min(endColumn, other.endColumn)
        let bottom = min(endRow, other.endRow)
        return PixelWindow(column: left, row: top, width: max(0, right - left), height: max(0, bottom - top))
    }

    /// Whether `other` lies entirely inside this window.
    public func contains(_ other: PixelWindow) -> Bool { intersection(other) == other }

    public var description: String { "\(width)×\(height)+\(column)+\(row)" }
}

/// A georeferenced pixel grid: CRS, geotransform and size. Two rasters on the same grid align pixel for pixel.
public struct RasterGrid: Sendable, Hashable {
    /// Coordinate reference system as WKT.
    public var crsWKT: String
    /// Pixel to map transform.
    public var geoTransform: GeoTransform
    /// Columns.
    public var width: Int
    /// Rows.
    public var height: Int

    /// Creates a grid.
    public init(crsWKT: String, geoTransform: GeoTransform, width: Int, height: Int) {
        self.crsWKT = crsWKT
        self.geoTransform = geoTransform
        self.width = width
        self.height = height
    }

    /// The window covering the whole grid.
    public var fullWindow: PixelWindow { PixelWindow(column: 0, row: 0, width: width, height: height) }

    /// The grid of a sub-window (same CRS and resolution).
    public func subgrid(_ window: PixelWindow) -> RasterGrid {
        RasterGrid(
            crsWKT: crsWKT, geoTransform: geoTransform.shifted(to: window), width: window.width, height: window.height)
    }

    /// The map extent as (minX, minY, maxX, maxY), north-up grids.
    public var extent: (minX: Double, minY: Double, maxX: Double, maxY: Double) {
        let a = geoTransform.map(column: 0, row: 0)
        let b = geoTransform.map(column: Double(width), row: Double(height))
        return (min(a.x, b.x), min(a.y, b.y), max(a.x, b.x), max(a.y, b.y))
    }
}

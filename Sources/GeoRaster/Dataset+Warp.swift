import CGDAL

/// How to bring a raster onto another grid.
public struct WarpOptions: Sendable {
    /// Resampling: nearest for same or finer resolution, mode for downsampling class rasters.
    public var resampling: Resampling = .nearest
    /// Use the exact transformer (`-et 0`) instead of GDAL's default approximation (`-et 0.125`),
    /// which differs on ~0.7 % of border pixels.
    public var exactTransformer: Bool = true
    /// Output pixel type (defaults to the source's).
    public var outputType: PixelType?
    /// Source no-data values; nil uses the band's declared no-data.
    public var sourceNoData: [Double]?
    /// No-data value written where the source has none or no data.
    public var destinationNoData: Double?
    /// Warp worker threads (`-wo NUM_THREADS`).
    public var threads: Int = 1
    /// Warp memory limit in MB (`-wm`).
    public var memoryMB: Int = 256

    /// Creates options.
    public init(
        resampling: Resampling = .nearest, exactTransformer: Bool = true, outputType: PixelType? = nil,
        sourceNoData: [Double]? = nil, destinationNoData: Double? = nil, threads: Int = 1
    ) {
        self.resampling = resampling
        self.exactTransformer = exactTransformer
        self.outputType = outputType
        self.sourceNoData = sourceNoData
        self.destinationNoData = destinationNoData
        self.threads = threads
    }

    var arguments: [String] {
        var args = ["-r", resampling.rawValue, "-wm", String(memoryMB), "-wo", "NUM_THREADS=\(threads)"]
        if exactTransformer { args += ["-et", "0"] }
        if let outputType { args += ["-ot", outputType.rawValue] }
        if let sourceNoData { args += ["-srcnodata", sourceNoData.map { formatNumber($0) }.joined(separator: " ")] }
        if let destinationNoData { args += ["-dstnodata", formatNumber(destinationNoData)] }
        return args
    }
}

func formatNumber(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
}

extension Dataset {
    /// Reprojects and resamples this raster onto `grid`, returning an in-memory dataset of exactly that grid.
    ///
    /// The corresponding C function is `GDALWarp` (as `gdalwarp -of MEM -t_srs … -te … -ts …`).
    public func warp(onto grid: RasterGrid, options: WarpOptions = WarpOptions()) throws -> Dataset {
        precondition(grid.geoTransform.isNorthUp, "Warping onto a rotated grid is not supported.")
        guard crs != nil else {
            throw GDALError(code: 0, message: "\(path) has no coordinate reference system", call: "GDALWarp")
        }
        let extent = grid.extent
        let arguments =
            [
                "-of", "MEM", "-t_srs", grid.crsWKT,
                "-te", formatNumber(extent.minX), formatNumber(extent.minY), formatNumber(extent.maxX),
                formatNumber(extent.maxY),
                "-ts", String(grid.width), String(grid.height),
            ] + options.arguments
        let argv = StringList(arguments)
        guard let warpOptions = GDALWarpAppOptionsNew(argv.pointer, nil) else {
            throw GDALError(code: 0, message: "invalid warp options \(arguments)", call: "GDALWarpAppOptionsNew")
        }
        defer { GDALWarpAppOptionsFree(warpOptions) }
        var sources: [GDALDatasetH?] = [liveHandle]
        var usageError: Int32 = 0
        let handle = try withGDALErrors("GDALWarp(\(path))") {
            GDALWarp("", nil, 1, &sources, warpOptions, &usageError)
        }
        return Dataset(handle: handle, path: "MEM:warp(\(path))")
    }

    /// Copies this dataset to a file with `gdal_translate` semantics (`GDALTranslate`), for example a COG:
    /// `translate(to: "map.tif", arguments: ["-of", "COG", "-co", "COMPRESS=DEFLATE"])`.
    @discardableResult
    public func translate(to destination: String, arguments: [String]) throws -> Dataset {
        let argv = StringList(arguments)
        guard let translateOptions = GDALTranslateOptionsNew(argv.pointer, nil) else {
            throw GDALError(code: 0, message: "invalid translate options \(arguments)", call: "GDALTranslateOptionsNew")
        }
        defer { GDALTranslateOptionsFree(translateOptions) }
        var usageError: Int32 = 0
        let handle = try withGDALErrors("GDALTranslate(\(destination))") {
            GDALTranslate(destination, liveHandle, translateOptions, &usageError)
        }
        return Dataset(handle: handle, path: destination)
    }

    /// Writes a VRT mosaic of the raster files `sources` to `destination` with `gdalbuildvrt` semantics and returns
    /// it, for example `buildVRT(to: "mosaic.vrt", sources: ["a.tif", "b.tif"], arguments: ["-srcnodata", "0"])`.
    /// The sources must share a CRS (GDAL refuses others with a warning and leaves them out: this throws instead).
    ///
    /// The corresponding C function is `GDALBuildVRT`.
    @discardableResult
    public static func buildVRT(to destination: String, sources: [String], arguments: [String] = []) throws
        -> Dataset
    {
        precondition(!sources.isEmpty, "A VRT mosaic needs at least one source.")
        let argv = StringList(arguments)
        guard let vrtOptions = GDALBuildVRTOptionsNew(argv.pointer, nil) else {
            throw GDALError(code: 0, message: "invalid buildvrt options \(arguments)", call: "GDALBuildVRTOptionsNew")
        }
        defer { GDALBuildVRTOptionsFree(vrtOptions) }
        let names = StringList(sources)
        var usageError: Int32 = 0
        let handle = try withGDALErrors("GDALBuildVRT(\(destination))") {
            GDALBuildVRT(destination, Int32(sources.count), nil, names.constPointer, vrtOptions, &usageError)
        }
        let dataset = Dataset(handle: handle, path: destination)
        let listed = dataset.fileList.filter { $0 != destination }.count
        guard listed >= sources.count else {
            throw GDALError(
                code: 0,
                message: "\(sources.count - listed) of \(sources.count) sources left out (another CRS or band layout?)",
                call: "GDALBuildVRT(\(destination))")
        }
        return dataset
    }

    /// Copies vector layers with `ogr2ogr` semantics (`GDALVectorTranslate`), for example an in-memory subset:
    /// `vectorTranslate(to: "", arguments: ["-f", "Memory", "-spat", …])`.
    public func vectorTranslate(to destination: String, arguments: [String]) throws -> Dataset {
        let argv = StringList(arguments)
        guard let translateOptions = GDALVectorTranslateOptionsNew(argv.pointer, nil) else {
            throw GDALError(
                code: 0, message: "invalid vector translate options \(arguments)", call: "GDALVectorTranslateOptionsNew"
            )
        }
        defer { GDALVectorTranslateOptionsFree(translateOptions) }
        var usageError: Int32 = 0
        var sources: [GDALDatasetH?] = [liveHandle]
        let handle = try withGDALErrors("GDALVectorTranslate(\(path))") {
            GDALVectorTranslate(destination, nil, 1, &sources, translateOptions, &usageError)
        }
        return Dataset(handle: handle, path: destination.isEmpty ? "Memory:\(path)" : destination)
    }

    /// Burns the features of `vector` into this raster (`GDALRasterize`), for example
    /// `["-a", "Code_18", "-l", "layer"]`; the layers are reprojected to this raster's CRS on the fly.
    public func rasterize(from vector: Dataset, arguments: [String]) throws {
        let argv = StringList(arguments)
        guard let rasterizeOptions = GDALRasterizeOptionsNew(argv.pointer, nil) else {
            throw GDALError(code: 0, message: "invalid rasterize options \(arguments)", call: "GDALRasterizeOptionsNew")
        }
        defer { GDALRasterizeOptionsFree(rasterizeOptions) }
        var usageError: Int32 = 0
        _ = try withGDALErrors("GDALRasterize(\(vector.path))") {
            GDALRasterize(nil, liveHandle, vector.liveHandle, rasterizeOptions, &usageError)
        }
    }
}

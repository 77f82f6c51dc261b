import CGDAL

/// Maps pixel coordinates of a target grid to pixel coordinates of a source raster in another CRS with the exact
/// transformer `gdalwarp -et 0` uses: target pixel → target CRS → source CRS → source pixel.
///
/// Built as `GDALWarp` builds it, from the source dataset and a target dataset on the grid with `DST_SRS`, so the
/// coordinates are bit for bit the ones the warper sees. The corresponding C functions are
/// `GDALCreateGenImgProjTransformer2` and `GDALGenImgProjTransform`. Not for concurrent use.
public final class PixelTransformer {
    private let handle: UnsafeMutableRawPointer
    /// The source, kept open while the transformer refers to it.
    private let source: Dataset

    /// Creates the transformer from `target`'s pixels to `source`'s pixels.
    public init(source: Dataset, target: RasterGrid) throws {
        let targetDataset = try Dataset.createInMemory(grid: target, bands: 0, type: .byte)
        let options = StringList(["DST_SRS=\(target.crsWKT)"])
        handle = try withGDALErrors("GDALCreateGenImgProjTransformer2(\(source.path))") {
            GDALCreateGenImgProjTransformer2(source.liveHandle, targetDataset.liveHandle, options.pointer)
        }
        self.source = source
    }

    deinit { GDALDestroyGenImgProjTransformer(handle) }

    /// Transforms target pixel coordinates (column, row; a pixel's centre is at +0.5) to source pixel coordinates in
    /// place; `success[i]` is false where the transformation failed (`GDALGenImgProjTransform`, target to source).
    public func transformToSource(
        columns: UnsafeMutableBufferPointer<Double>, rows: UnsafeMutableBufferPointer<Double>,
        success: UnsafeMutableBufferPointer<Int32>
    ) {
        precondition(
            columns.count == rows.count && success.count >= columns.count,
            "Columns, rows and success flags must have the same length.")
        guard !columns.isEmpty else { return }
        var heights = [Double](repeating: 0, count: columns.count)
        _ = GDALGenImgProjTransform(
            handle, 1, Int32(columns.count), columns.baseAddress, rows.baseAddress, &heights, success.baseAddress)
    }
}

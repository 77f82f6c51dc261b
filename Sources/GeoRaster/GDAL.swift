import CGDAL

/// Process-wide GDAL set-up: driver registration, configuration options and the block cache.
public enum GDAL {
    private static let registered: Bool = {
        GDALAllRegister()
        // Quiet the default stderr handler: every call site installs a scoped handler and throws.
        CPLSetErrorHandler(CPLQuietErrorHandler)
        return true
    }()

    /// Registers all drivers once; called implicitly by every entry point.
    public static func initialize() { _ = registered }

    /// The GDAL release, for example "3.6.2".
    public static var version: String {
        initialize()
        return String(cString: GDALVersionInfo("RELEASE_NAME"))
    }

    /// Sets a process-wide configuration option (the corresponding C function is `CPLSetConfigOption`).
    public static func setConfigOption(_ key: String, _ value: String?) {
        initialize()
        CPLSetConfigOption(key, value)
    }

    /// Sets a configuration option for the calling thread only (`CPLSetThreadLocalConfigOption`).
    public static func setThreadLocalConfigOption(_ key: String, _ value: String?) {
        initialize()
        CPLSetThreadLocalConfigOption(key, value)
    }

    /// Reads a configuration option (`CPLGetConfigOption`).
    public static func configOption(_ key: String) -> String? {
        initialize()
        return CPLGetConfigOption(key, nil).map { String(cString: $0) }
    }

    /// The size of GDAL's raster block cache in bytes (`GDALGetCacheMax64` / `GDALSetCacheMax64`).
    public static var cacheMax: Int {
        get {
            initialize()
            return Int(GDALGetCacheMax64())
        }
        set {
            initialize()
            GDALSetCacheMax64(GIntBig(newValue))
        }
    }

    /// Whether a driver of this short name is available (for example "JP2OpenJPEG", "COG").
    public static func hasDriver(_ name: String) -> Bool {
        initialize()
        return GDALGetDriverByName(name) != nil
    }

    /// Whether a path exists, including GDAL virtual paths such as `/vsizip/…` (`VSIStatL`).
    public static func pathExists(_ path: String) -> Bool {
        initialize()
        return landcover_path_exists(path) != 0
    }

    /// Lists a directory, including GDAL virtual directories (`VSIReadDir`).
    public static func listDirectory(_ path: String) -> [String] {
        initialize()
        guard let list = VSIReadDir(path) else { return [] }
        defer { CSLDestroy(list) }
        return StringList.strings(from: list)
    }
}

/// A problem with a Sentinel-2 product: a one-line message naming the file and what is wrong.
public struct Sentinel2Error: Error, CustomStringConvertible, Sendable, Equatable {
    /// The message, for example "S2B_MSIL2A_….SAFE has no band B05".
    public let message: String

    /// Creates an error with a one-line message.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}

extension Sentinel2Error {
    static func missing(_ path: String) -> Sentinel2Error {
        Sentinel2Error("\(path): no such file or directory")
    }

    static func noMetadata(in directory: String) -> Sentinel2Error {
        Sentinel2Error("no Sentinel-2 product metadata (MTD_MSIL1C.xml / MTD_MSIL2A.xml) in \(directory)")
    }

    static func unsupportedLevel(_ file: String, level: String) -> Sentinel2Error {
        Sentinel2Error("\(file): not a Sentinel-2 L1C/L2A product (\(level))")
    }

    static func notSentinel2(_ file: String, reason: String) -> Sentinel2Error {
        Sentinel2Error("\(file): not a Sentinel-2 L1C/L2A product (\(reason))")
    }
}

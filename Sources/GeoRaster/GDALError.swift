import CGDAL

/// A failure reported by GDAL, carrying GDAL's own message and the call that failed.
public struct GDALError: Error, CustomStringConvertible, Sendable, Equatable {
    /// GDAL's `CPLErrorNum` (for example 4 = `CPLE_OpenFailed`), or 0 when GDAL set none.
    public let code: Int32
    /// GDAL's message, verbatim.
    public let message: String
    /// The GDAL C function, or the operation, that failed (for example `GDALOpenEx`).
    public let call: String

    /// Creates an error from its parts.
    public init(code: Int32, message: String, call: String) {
        self.code = code
        self.message = message
        self.call = call
    }

    public var description: String { message.isEmpty ? "\(call) failed" : message }
}

/// Collects the messages GDAL emits on this thread while a scoped handler is installed.
final class GDALErrorSink {
    var failures: [(code: Int32, message: String)] = []
    var warnings: [String] = []
}

private func collectGDALError(_ level: CPLErr, _ code: CPLErrorNum, _ message: UnsafePointer<CChar>?) {
    guard let context = CPLGetErrorHandlerUserData() else { return }
    let sink = Unmanaged<GDALErrorSink>.fromOpaque(context).takeUnretainedValue()
    let text = message.map { String(cString: $0) } ?? ""
    if level.rawValue >= CE_Failure.rawValue {
        sink.failures.append((code: code, message: text))
    } else if level == CE_Warning {
        sink.warnings.append(text)
    }
}

/// Runs `body` with a per-thread GDAL error handler installed and turns a reported failure into a `GDALError`.
///
/// `body` returns nil (or throws) to signal failure; GDAL's last failure message is then thrown.
/// The corresponding C functions are `CPLPushErrorHandlerEx` and `CPLPopErrorHandler`.
func withGDALErrors<T>(_ call: String, _ body: () throws -> T?) throws -> T {
    GDAL.initialize()
    let sink = GDALErrorSink()
    CPLPushErrorHandlerEx(collectGDALError, Unmanaged.passUnretained(sink).toOpaque())
    CPLErrorReset()
    let result: T?
    do {
        result = try withExtendedLifetime(sink) { try body() }
    } catch {
        CPLPopErrorHandler()
        throw error
    }
    CPLPopErrorHandler()
    if let result, sink.failures.isEmpty { return result }
    if let last = sink.failures.last {
        throw GDALError(code: last.code, message: last.message, call: call)
    }
    throw GDALError(code: 0, message: "", call: call)
}

/// Runs a GDAL call returning `CPLErr` and throws GDAL's message when it is not `CE_None`.
func checkCPLErr(_ call: String, _ body: () -> CPLErr) throws {
    try withGDALErrors(call) { body() == CE_None ? () : nil }
}

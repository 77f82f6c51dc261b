import CDNNL

/// A failure reported by oneDNN: its status and the C function that returned it.
public struct DNNLError: Error, CustomStringConvertible, Sendable, Equatable {
    /// oneDNN's `dnnl_status_t` value (for example 2 = `dnnl_invalid_arguments`, 3 = `dnnl_unimplemented`).
    public let code: Int32
    /// The oneDNN C function that failed (for example `dnnl_primitive_desc_create`).
    public let call: String

    /// Creates an error from a `dnnl_status_t` and the failing call.
    init(status: dnnl_status_t, call: String) {
        self.code = Int32(bitPattern: status.rawValue)
        self.call = call
    }

    /// The status as oneDNN's C type.
    var status: dnnl_status_t { dnnl_status_t(rawValue: UInt32(bitPattern: code)) }

    /// oneDNN's name for the status (for example `invalid_arguments`).
    public var statusName: String {
        String(cString: dnnl_status2str(status))
    }

    public var description: String { "\(call) failed: \(statusName)" }
}

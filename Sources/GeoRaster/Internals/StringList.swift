import CGDAL

/// Owns a GDAL string list (`char **`, `CSLConstList`) built from Swift strings.
final class StringList {
    private(set) var pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?

    /// The list as `CSLConstList` (`const char *const *`).
    var constPointer: UnsafePointer<UnsafePointer<CChar>?>? {
        pointer.map { UnsafeRawPointer($0).assumingMemoryBound(to: UnsafePointer<CChar>?.self) }
    }

    init(_ strings: [String]) {
        for string in strings { pointer = CSLAddString(pointer, string) }
    }

    /// Builds `KEY=VALUE` items.
    convenience init(_ pairs: [(String, String)]) {
        self.init(pairs.map { "\($0.0)=\($0.1)" })
    }

    deinit { CSLDestroy(pointer) }

    /// Copies a NULL-terminated C string list into Swift strings.
    static func strings(from list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
        guard let list else { return [] }
        var result: [String] = []
        var index = 0
        while let item = list[index] {
            result.append(String(cString: item))
            index += 1
        }
        return result
    }

    /// Splits `KEY=VALUE` items into a dictionary (later keys win).
    static func dictionary(from list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String: String] {
        var result: [String: String] = [:]
        for item in strings(from: list) {
            if let equals = item.firstIndex(of: "=") {
                result[String(item[..<equals])] = String(item[item.index(after: equals)...])
            } else {
                result[item] = ""
            }
        }
        return result
    }
}

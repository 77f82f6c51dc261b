import Foundation

/// A patch's role in BigEarthNet's official split (train / validation / test).
public enum PatchSplit: String, Sendable, Codable, CaseIterable {
    case train, validation, test

    /// Parses "train", "val", "validation" and "test" (case-insensitive); nil for anything else.
    public init?(parsing text: some StringProtocol) {
        switch text.lowercased() {
        case "train", "training": self = .train
        case "val", "validation": self = .validation
        case "test", "testing": self = .test
        default: return nil
        }
    }

    /// The training role: train and validation as they are; test is held out, so nil (neither train nor validation).
    public var chipSplit: ChipSplit? {
        switch self {
        case .train: .train
        case .validation: .validation
        case .test: nil
        }
    }
}

extension BigEarthNet {
    /// Patch names from a list file: one name per line, or CSV whose first column is the name.
    ///
    /// Reads the published cloud/shadow and seasonal-snow lists (`patches_with_cloud_and_shadow.csv`,
    /// `patches_with_seasonal_snow.csv`) and the official split files alike. Blank lines are skipped and quotes
    /// around a name removed; a header line just adds a name that matches no patch. Union several lists with
    /// `formUnion`.
    public static func readPatchList(_ url: URL) throws -> Set<String> {
        var names = Set<String>()
        for line in try lines(of: url) {
            guard let name = fields(of: line).first, !name.isEmpty else { continue }
            names.insert(name)
        }
        return names
    }

    /// The official split by patch name, from a `patch,split` CSV or from a directory of the official split files.
    ///
    /// - A file: rows `patch_name,split` with split "train", "val"/"validation" or "test"; a first row whose
    ///   split is none of these (a header such as `patch_id,split`) is skipped. BigEarthNet v2's split ships in
    ///   `metadata.parquet`, which this reads once converted with one line of Python (pandas + pyarrow):
    ///   `import pandas; pandas.read_parquet("metadata.parquet")[["patch_id", "split"]].to_csv("split.csv", index=False)`
    /// - A directory: `train.csv`, `val.csv` (or `validation.csv`) and `test.csv`, one patch per line or CSV whose
    ///   first column is the patch (the BigEarthNet v1 files `s2_name,s1_name`); at least one must exist.
    ///
    /// A patch listed twice with different splits is an error.
    public static func readSplits(_ url: URL) throws -> [String: PatchSplit] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw MultiLabelSourceError("\(url.path): no such split file or directory")
        }
        var splits: [String: PatchSplit] = [:]
        func assign(_ name: String, _ split: PatchSplit, at location: String) throws {
            if let previous = splits.updateValue(split, forKey: name), previous != split {
                throw MultiLabelSourceError(
                    "\(location): patch \(name) is listed as \(previous.rawValue) and as \(split.rawValue)")
            }
        }
        if isDirectory.boolValue {
            let files: [(name: String, split: PatchSplit)] = [
                ("train.csv", .train), ("val.csv", .validation), ("validation.csv", .validation), ("test.csv", .test),
            ]
            var found = false
            for file in files {
                let fileURL = url.appendingPathComponent(file.name)
                guard FileManager.default.fileExists(atPath: fileURL.path) else { continue }
                found = true
                for name in try readPatchList(fileURL) { try assign(name, file.split, at: fileURL.path) }
            }
            guard found else {
                throw MultiLabelSourceError(
                    "\(url.path): no train.csv, val.csv or test.csv split file in the directory")
            }
            return splits
        }
        for (offset, line) in try lines(of: url).enumerated() {
            let row = fields(of: line)
            guard let name = row.first, !name.isEmpty else { continue }
            guard row.count >= 2, let split = PatchSplit(parsing: row[1]) else {
                if offset == 0 { continue }  // header
                throw MultiLabelSourceError(
                    "\(url.path):\(offset + 1): expected `patch,split` with split train, val, validation or test, "
                        + "got \"\(line)\"")
            }
            try assign(name, split, at: "\(url.path):\(offset + 1)")
        }
        return splits
    }

    /// The lines of a text file, without line terminators (LF or CRLF).
    private static func lines(of url: URL) throws -> [Substring] {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw MultiLabelSourceError("\(url.path): cannot read the list (\(error.localizedDescription))")
        }
        return text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
    }

    /// The comma-separated fields of a CSV line, trimmed, with surrounding double quotes removed.
    private static func fields(of line: Substring) -> [String] {
        line.split(separator: ",", omittingEmptySubsequences: false).map { field in
            var value = field.trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            return value
        }
    }
}

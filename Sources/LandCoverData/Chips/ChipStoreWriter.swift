import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Renames `source` over `target` atomically (POSIX `rename`), replacing any existing file.
func renameReplacing(_ source: URL, _ target: URL) throws {
    guard rename(source.path, target.path) == 0 else {
        let reason = String(cString: strerror(errno))
        throw ChipStoreError(
            path: target.path, problem: "cannot rename \(source.lastPathComponent) into place: \(reason)")
    }
}

/// Writes a chip store streaming, atomically and resumably.
///
/// Chips are appended to `<name>.partial/`; `checkpoint()` flushes the arrays and records how many chips are
/// durable in `state.json`. `finish()` writes the final manifest and renames the directory to `<name>`. A writer
/// opened on an existing `.partial` directory with the same run key truncates to its last checkpoint and
/// continues from there.
public final class ChipStoreWriter {
    /// What a checkpoint records; `accumulators` is opaque state of the caller (statistics so far).
    struct State: Codable {
        var runKey: String
        var chipCount: Int
        var resumePosition: Int
        var accumulators: Data
    }

    /// The final directory.
    public let url: URL
    /// The directory being written.
    public let partialURL: URL
    /// Manifest header (counts and statistics are filled by `finish`).
    public private(set) var manifest: ChipStoreManifest
    /// Chips written so far (durable or not).
    public private(set) var chipCount: Int
    /// The caller's position (e.g. next chip row) at the last checkpoint, for resuming.
    public let resumePosition: Int
    /// The caller's accumulator state at the last checkpoint, for resuming.
    public let resumedAccumulators: Data?

    private let images: FileHandle
    private let labels: FileHandle
    private let index: FileHandle
    private let encoder: JSONEncoder
    /// Runs checkpoints in the background, in order.
    private let durability = DispatchQueue(label: "landcover.chip-store.checkpoint")
    private let durabilityFailure = FailureRecord()

    /// Outcome of preparing an output directory.
    public enum Preparation {
        /// The store already exists with the same run key: nothing to do.
        case alreadyComplete(ChipStore)
        /// Ready to write (fresh or resumed).
        case writer(ChipStoreWriter)
    }

    /// Prepares `url` for a run: refuses a directory holding a different run unless `overwrite`, resumes a
    /// matching `.partial`, and reports an identical finished store as complete.
    public static func prepare(_ url: URL, manifest: ChipStoreManifest, overwrite: Bool) throws -> Preparation {
        let fileManager = FileManager.default
        let partial = url.deletingLastPathComponent().appendingPathComponent(url.lastPathComponent + ".partial")
        let contents = (try? fileManager.contentsOfDirectory(atPath: url.path)) ?? []
        if fileManager.fileExists(atPath: url.path), contents.isEmpty {
            // An empty directory (e.g. made by the user beforehand) holds nothing to protect.
            try fileManager.removeItem(at: url)
        }
        if fileManager.fileExists(atPath: url.path) {
            let existing = try? ChipStore(url)
            if let existing, existing.manifest.runKey == manifest.runKey, !overwrite {
                return .alreadyComplete(existing)
            }
            if !overwrite {
                let what = existing == nil ? "is not empty and not a chip store" : "holds a different run"
                throw ChipStoreError(
                    path: url.path, problem: "output directory \(what); pass --overwrite to replace it")
            }
        }
        var state: State?
        if fileManager.fileExists(atPath: partial.path) {
            let stateURL = partial.appendingPathComponent(ChipStore.FileName.state)
            state = (try? Data(contentsOf: stateURL)).flatMap { try? JSONDecoder().decode(State.self, from: $0) }
            // A matching partial run is always resumed; another run's scratch directory is ours to discard.
            if state?.runKey != manifest.runKey {
                try fileManager.removeItem(at: partial)
                state = nil
            }
        }
        return .writer(try ChipStoreWriter(url: url, partialURL: partial, manifest: manifest, state: state))
    }

    private init(url: URL, partialURL: URL, manifest: ChipStoreManifest, state: State?) throws {
        self.url = url
        self.partialURL = partialURL
        self.manifest = manifest
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: partialURL, withIntermediateDirectories: true)
        let names = [ChipStore.FileName.images, ChipStore.FileName.labels, ChipStore.FileName.index]
        for name in names where !fileManager.fileExists(atPath: partialURL.appendingPathComponent(name).path) {
            fileManager.createFile(atPath: partialURL.appendingPathComponent(name).path, contents: nil)
        }
        images = try FileHandle(forWritingTo: partialURL.appendingPathComponent(ChipStore.FileName.images))
        labels = try FileHandle(forWritingTo: partialURL.appendingPathComponent(ChipStore.FileName.labels))
        index = try FileHandle(forWritingTo: partialURL.appendingPathComponent(ChipStore.FileName.index))
        chipCount = state?.chipCount ?? 0
        resumePosition = state?.resumePosition ?? 0
        resumedAccumulators = state?.accumulators
        // Drop anything written after the last checkpoint.
        try images.truncate(atOffset: UInt64(chipCount * manifest.imageChipBytes))
        try labels.truncate(atOffset: UInt64(chipCount * manifest.labelChipBytes))
        try truncateIndex(toLines: chipCount)
        try images.seekToEnd()
        try labels.seekToEnd()
        try index.seekToEnd()
        try writeJSON(manifest, to: ChipStore.FileName.manifest)
        if state == nil { try checkpoint(position: 0, accumulators: Data()) }
    }

    private func truncateIndex(toLines lines: Int) throws {
        let indexURL = partialURL.appendingPathComponent(ChipStore.FileName.index)
        let data = try Data(contentsOf: indexURL)
        var offset = 0
        var seen = 0
        while seen < lines, let newline = data[offset...].firstIndex(of: UInt8(ascii: "\n")) {
            offset = newline + 1
            seen += 1
        }
        try index.truncate(atOffset: UInt64(offset))
    }

    /// Appends one chip: image `[bands, size, size]` and labels `[size, size]`.
    public func append(
        image: UnsafeBufferPointer<UInt16>, labels labelValues: UnsafeBufferPointer<UInt8>, record: ChipRecord
    ) throws {
        precondition(image.count * 2 == manifest.imageChipBytes, "Image chip has \(image.count) values.")
        precondition(labelValues.count == manifest.labelChipBytes, "Label chip has \(labelValues.count) values.")
        precondition(record.index == chipCount, "Chip record \(record.index) appended at position \(chipCount).")
        var line = try encoder.encode(record)
        line.append(UInt8(ascii: "\n"))
        try writing {
            try images.write(contentsOf: UnsafeRawBufferPointer(image))
            try labels.write(contentsOf: UnsafeRawBufferPointer(labelValues))
            try index.write(contentsOf: line)
        }
        chipCount += 1
    }

    /// Makes the chips written so far durable and records the caller's position and accumulators.
    ///
    /// The `fsync`s (tens of milliseconds for a chip row of a full tile) and the state file run in the background,
    /// one checkpoint after the other, while the caller appends the next chips; the state file is written only once
    /// the files are synced. A failure is thrown by the next `checkpoint` or by `finish`; releasing the writer waits
    /// for the checkpoints under way.
    public func checkpoint(position: Int, accumulators: Data) throws {
        try durabilityFailure.rethrow()
        let state = State(
            runKey: manifest.runKey, chipCount: chipCount, resumePosition: position, accumulators: accumulators)
        let (files, directory, failure) = ([images, labels, index], partialURL, durabilityFailure)
        durability.async {
            do {
                try Self.writing(in: directory) {
                    for file in files { try file.synchronize() }
                    try Self.writeJSON(state, to: ChipStore.FileName.state, in: directory)
                }
            } catch {
                failure.record(error)
            }
        }
    }

    /// Waits for the checkpoints under way; throws the first one's failure.
    private func finishCheckpoints() throws {
        durability.sync {}
        try durabilityFailure.rethrow()
    }

    deinit { durability.sync {} }

    /// Runs file writes, turning Foundation's errors (disk full, permissions) into one line naming the store.
    private func writing(_ body: () throws -> Void) throws {
        try Self.writing(in: partialURL, body)
    }

    private static func writing(in directory: URL, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ChipStoreError {
            throw error
        } catch {
            throw ChipStoreError(path: directory.path, problem: "cannot write: \(systemMessage(error))")
        }
    }

    /// Writes the final manifest and renames the directory into place; returns the opened store.
    public func finish(_ final: ChipStoreManifest) throws -> ChipStore {
        var final = final
        final.chipCount = chipCount
        try finishCheckpoints()
        try writing {
            try images.synchronize()
            try labels.synchronize()
            try index.synchronize()
            try images.close()
            try labels.close()
            try index.close()
            try writeJSON(final, to: ChipStore.FileName.manifest)
        }
        try FileManager.default.removeItem(at: partialURL.appendingPathComponent(ChipStore.FileName.state))
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: url.path) {
            // Only reached with overwrite: move the old store aside first so a failure loses nothing.
            let trash = url.deletingLastPathComponent().appendingPathComponent(url.lastPathComponent + ".old")
            try? fileManager.removeItem(at: trash)
            try fileManager.moveItem(at: url, to: trash)
            try fileManager.moveItem(at: partialURL, to: url)
            try fileManager.removeItem(at: trash)
        } else {
            try fileManager.moveItem(at: partialURL, to: url)
        }
        return try ChipStore(url)
    }

    /// Writes JSON to a temporary name, then renames it over `name`.
    private func writeJSON<T: Encodable>(_ value: T, to name: String) throws {
        try Self.writeJSON(value, to: name, in: partialURL)
    }

    private static func writeJSON<T: Encodable>(_ value: T, to name: String, in directory: URL) throws {
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try pretty.encode(value)
        let target = directory.appendingPathComponent(name)
        let temporary = directory.appendingPathComponent(name + ".tmp")
        try data.write(to: temporary)
        try renameReplacing(temporary, target)
    }
}

/// The operating system's message for an I/O error ("No space left on device"), else the error's description.
func systemMessage(_ error: Error) -> String {
    let nsError = error as NSError
    if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    return nsError.localizedDescription
}

/// The first failure of background work, kept until someone asks.
private final class FailureRecord: @unchecked Sendable {
    private let lock = NSLock()
    private var failure: Error?

    func record(_ error: Error) {
        lock.lock()
        if failure == nil { failure = error }
        lock.unlock()
    }

    func rethrow() throws {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw failure }
    }
}

import Foundation
import GeoRaster
import LandCoverData
import Mapping
import NeuralNet
import Reports
import Training

#if canImport(Glibc)
    import Glibc
#endif

/// One JSON line of a run's event log (`events.jsonl`).
public struct PipelineEvent: Sendable, Codable, Equatable {
    /// "run_start", "stage_start", "stage_done", "stage_skipped", "run_done".
    public var event: String
    /// The stage, where the event concerns one.
    public var stage: String?
    /// Seconds since the run started.
    public var elapsed: Double
    /// A short note (counts, output path).
    public var note: String?
}

/// Runs a validated `PipelineSpec` stage by stage; finished stages whose inputs and settings are unchanged are
/// skipped (a chip store is keyed by its run key).
public final class PipelineRunner {
    /// The spec.
    public let spec: PipelineSpec
    /// The spec file, recorded in the run manifest.
    public let specFile: URL
    private let start = Date()
    private var events: FileHandle?
    /// Called with chip progress (rows done, rows total, chips stored).
    public var onChipProgress: (ChipProgress) -> Void = { _ in }
    /// Called with each event as it is logged.
    public var onEvent: (PipelineEvent) -> Void = { _ in }
    /// Called with training progress.
    public var onTrainingProgress: (TrainingProgress) -> Void = { _ in }
    /// Called with other stages' progress: (task, done, total).
    public var onProgress: (String, Int, Int) -> Void = { _, _, _ in }

    /// Creates a runner.
    public init(spec: PipelineSpec, specFile: URL) {
        self.spec = spec
        self.specFile = specFile
    }

    /// Where each stage writes.
    public var chipStoreURL: URL { spec.output.appendingPathComponent("chips") }
    public var classifierURL: URL { spec.output.appendingPathComponent("classifier") }
    public var segmenterURL: URL { spec.output.appendingPathComponent("segmenter") }
    public var evaluationURL: URL { spec.output.appendingPathComponent("evaluation") }
    public var noiseURL: URL { spec.output.appendingPathComponent("noise") }
    public var mapURL: URL { spec.output.appendingPathComponent("maps/map.tif") }
    public var changeURL: URL { spec.output.appendingPathComponent("change/change.tif") }

    /// Runs every stage of the spec and writes `run.json`; returns the run manifest.
    @discardableResult
    public func run() throws -> RunManifest {
        try FileManager.default.createDirectory(at: spec.output, withIntermediateDirectories: true)
        let eventsURL = spec.output.appendingPathComponent("events.jsonl")
        if !FileManager.default.fileExists(atPath: eventsURL.path) {
            FileManager.default.createFile(atPath: eventsURL.path, contents: nil)
        }
        events = try FileHandle(forWritingTo: eventsURL)
        try events?.seekToEnd()
        defer { try? events?.close() }
        log("run_start", note: spec.name)

        var seconds: [String: Double] = [:]
        var skipped: [String] = []
        if let chip = spec.chip {
            let stageStart = Date()
            log("stage_start", stage: "chip")
            let (store, wasComplete) = try runChip(chip)
            seconds["chip"] = Date().timeIntervalSince(stageStart)
            if wasComplete { skipped.append("chip") }
            let took = String(format: "%.1f s", seconds["chip"]!)
            log(wasComplete ? "stage_skipped" : "stage_done", stage: "chip", note: "\(store.count) chips, \(took)")
        }
        if let stats = spec.stats {
            let stageStart = Date()
            log("stage_start", stage: "stats")
            try runStats(stats)
            seconds["stats"] = Date().timeIntervalSince(stageStart)
            log("stage_done", stage: "stats", note: String(format: "stats.md, %.1f s", seconds["stats"]!))
        }
        let stages: [(String, Bool, () throws -> (skipped: Bool, note: String))] = [
            ("classifier", spec.classifier != nil, { try self.runClassifier(self.spec.classifier!) }),
            ("segmenter", spec.segmenter != nil, { try self.runSegmenter(self.spec.segmenter!) }),
            ("evaluate", spec.evaluate != nil, { try self.runEvaluate(self.spec.evaluate!) }),
            ("noise", spec.noise != nil, { try self.runNoise(self.spec.noise!) }),
            ("map", spec.map != nil, { try self.runMap(self.spec.map!) }),
            ("change", spec.change != nil, { try self.runChange(self.spec.change!) }),
        ]
        for (name, present, body) in stages where present {
            let stageStart = Date()
            log("stage_start", stage: name)
            let (wasSkipped, note) = try body()
            seconds[name] = Date().timeIntervalSince(stageStart)
            if wasSkipped { skipped.append(name) }
            log(
                wasSkipped ? "stage_skipped" : "stage_done", stage: name,
                note: String(format: "%@, %.1f s", note, seconds[name]!))
        }
        var manifest = RunManifest(
            name: spec.name, spec: specFile.path, landcoverVersion: LandCover.version, gdalVersion: GDAL.version,
            inputs: [spec.safe.path: try checksum(spec.safe), spec.corine.path: try checksum(spec.corine)],
            stageSeconds: seconds, skipped: skipped, peakMemoryMB: 0)
        manifest.product = spec.safe.path
        manifest.corine = spec.corine.path
        manifest.started = ISO8601DateFormatter().string(from: start)
        manifest.system = RunManifest.currentSystem
        // The report shows the manifest, so it is written before the report stage and again after it.
        try writeManifest(&manifest)
        if let report = spec.report {
            let stageStart = Date()
            log("stage_start", stage: "report")
            let (wasSkipped, note) = try runReport(report)
            manifest.stageSeconds["report"] = Date().timeIntervalSince(stageStart)
            if wasSkipped { manifest.skipped.append("report") }
            log(
                wasSkipped ? "stage_skipped" : "stage_done", stage: "report",
                note: String(format: "%@, %.1f s", note, manifest.stageSeconds["report"]!))
            try writeManifest(&manifest)
        }
        log("run_done", note: spec.output.path)
        return manifest
    }

    /// Completes `manifest` with the peak memory and total time so far and writes it to `run.json`.
    private func writeManifest(_ manifest: inout RunManifest) throws {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        manifest.peakMemoryMB = Double(usage.ru_maxrss) / 1024
        manifest.totalSeconds = Date().timeIntervalSince(start)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(encoder.encode(manifest), to: spec.output.appendingPathComponent(RunManifest.fileName))
    }

    private func runChip(_ stage: PipelineSpec.ChipStage) throws -> (ChipStore, wasComplete: Bool) {
        let product = try Sentinel2Product.open(spec.safe.path)
        let source = try Sentinel2ChipSource(product: product, bands: stage.bands)
        let chipper = Chipper(
            image: source, labels: try CorineSource.open(spec.corine.path), configuration: stage.configuration)
        let header = chipper.manifestHeader(version: LandCover.version)
        if let existing = try? ChipStore(chipStoreURL), existing.manifest.runKey == header.runKey {
            return (existing, true)
        }
        let store = try chipper.run(
            into: chipStoreURL, overwrite: true, version: LandCover.version, progress: onChipProgress)
        return (store, false)
    }

    private func runStats(_ stage: PipelineSpec.StatsStage) throws {
        let store = try ChipStore(chipStoreURL)
        let statistics = CorineLevel.allCases.map { store.labelStatistics(level: $0, minimumShare: stage.minimumShare) }
        let markdown = LabelStatistics.markdown(statistics, chipCount: store.count)
        try writeAtomically(Data((markdown + "\n").utf8), to: spec.output.appendingPathComponent("stats.md"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(encoder.encode(statistics), to: spec.output.appendingPathComponent("stats.json"))
    }

    // MARK: - Training, evaluation and mapping stages

    private func chipSource(level: CorineLevel, minimumShare: Double = 0) throws -> ChipStoreSource {
        try ChipStoreSource(
            store: ChipStore(chipStoreURL), nomenclature: .corine(level), minimumShare: minimumShare)
    }

    private func runClassifier(_ stage: PipelineSpec.ClassifierStage) throws -> (skipped: Bool, note: String) {
        let source = try chipSource(level: stage.level, minimumShare: stage.minimumShare)
        let trainer = try ClassifierTrainer(
            data: TrainingData(source: source), recipe: stage.recipe, output: classifierURL,
            initialWeights: stage.weights)
        trainer.progress = onTrainingProgress
        let skipped = trainer.finishedLog() != nil
        let log = try trainer.run(overwrite: true)
        let last = log.epochs.last
        return (
            skipped,
            String(format: "%d epochs, validation F1 (samples) %.3f", log.epochs.count, last?.f1Samples ?? .nan)
        )
    }

    private func runSegmenter(_ stage: PipelineSpec.SegmenterStage) throws -> (skipped: Bool, note: String) {
        let source = try chipSource(level: stage.level)
        let encoder =
            stage.encoder ?? (spec.classifier != nil ? classifierURL.appendingPathComponent("model.safetensors") : nil)
        let trainer = try SegmenterTrainer(
            source: source, recipe: stage.recipe, output: segmenterURL, encoderWeights: encoder)
        trainer.progress = onTrainingProgress
        let skipped = trainer.finishedLog() != nil
        let log = try trainer.run(overwrite: true)
        let last = log.epochs.last
        return (
            skipped,
            String(
                format: "%d epochs, validation pixel accuracy %.1f %%, mean IoU %.3f", log.epochs.count,
                (last?.pixelAccuracy ?? .nan) * 100, last?.meanIoU ?? .nan)
        )
    }

    /// The trained models this run produced.
    private var models: [URL] {
        [spec.classifier != nil ? classifierURL : nil, spec.segmenter != nil ? segmenterURL : nil].compactMap {
            $0?.appendingPathComponent("model.safetensors")
        }
    }

    /// Runs `body` unless the stamp of `stage` equals a key of `parts` and the checksums of the models it uses;
    /// writes the stamp after `body` succeeds.
    private func stamped(
        _ stage: String, _ parts: [String], models: [URL]? = nil, _ body: () throws -> String
    ) throws -> (
        skipped: Bool, note: String
    ) {
        let stamps = spec.output.appendingPathComponent(".stamps")
        try FileManager.default.createDirectory(at: stamps, withIntermediateDirectories: true)
        let stamp = stamps.appendingPathComponent("\(stage).key")
        let key = (parts + [LandCover.version] + (try (models ?? self.models).map { try checksum($0).checksum }))
            .joined(separator: "|")
        if let previous = try? String(contentsOf: stamp, encoding: .utf8), previous == key {
            return (true, "unchanged")
        }
        try? FileManager.default.removeItem(at: stamp)
        let note = try body()
        try writeAtomically(Data(key.utf8), to: stamp)
        return (false, note)
    }

    private func runEvaluate(_ stage: PipelineSpec.EvaluateStage) throws -> (skipped: Bool, note: String) {
        try stamped("evaluate", ["\(stage.split)", "\(stage.tuneThresholds)"]) {
            var notes: [String] = []
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            var classifier: TrainedClassifier?
            if spec.classifier != nil {
                let trained = try TrainedClassifier(
                    contentsOf: classifierURL.appendingPathComponent("model.safetensors"))
                classifier = trained
                let source = try chipSource(level: spec.classifier!.level, minimumShare: spec.classifier!.minimumShare)
                let report = try ClassifierReport.evaluate(
                    trained, source: source, split: stage.split, tuneThresholds: stage.tuneThresholds
                ) { self.onProgress("evaluate classifier", $0, $1) }
                let directory = evaluationURL.appendingPathComponent("classifier")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try writeAtomically(encoder.encode(report), to: directory.appendingPathComponent("evaluation.json"))
                try writeAtomically(Data(report.markdown.utf8), to: directory.appendingPathComponent("evaluation.md"))
                notes.append(String(format: "classifier F1 (samples) %.3f", report.overall.f1Samples))
            }
            if spec.segmenter != nil {
                let segmenter = try TrainedSegmenter(
                    contentsOf: segmenterURL.appendingPathComponent("model.safetensors"))
                let source = try chipSource(level: spec.segmenter!.level)
                let indices = stage.split.indices(of: source)
                var (report, sets) = try SegmentationReport.evaluate(
                    segmenter, source: source, indices: indices, split: stage.split.rawValue
                ) { self.onProgress("evaluate segmenter", $0, $1) }
                if let classifier, classifier.nomenclature.id == segmenter.nomenclature.id {
                    let classifierSource = try chipSource(level: spec.classifier!.level)
                    let predictions = try classifier.predict(classifierSource, indices: indices)
                    report.compare(predictedSets: sets, with: classifier, predictions: predictions, source: source)
                }
                let directory = evaluationURL.appendingPathComponent("segmenter")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try writeAtomically(encoder.encode(report), to: directory.appendingPathComponent("evaluation.json"))
                try writeAtomically(Data(report.markdown.utf8), to: directory.appendingPathComponent("evaluation.md"))
                for level in report.levels {
                    try writeAtomically(
                        Data(level.heatmap.svg().utf8),
                        to: directory.appendingPathComponent("confusion-\(level.nomenclature).svg"))
                }
                notes.append(
                    report.levels.map { String(format: "%@ accuracy %.1f %%", $0.nomenclature, $0.pixelAccuracy * 100) }
                        .joined(separator: ", "))
            }
            return notes.joined(separator: "; ")
        }
    }

    private func runNoise(_ stage: PipelineSpec.NoiseStage) throws -> (skipped: Bool, note: String) {
        try stamped(
            "noise", ["\(stage.split)", "\(stage.top)"],
            models: [classifierURL.appendingPathComponent("model.safetensors")]
        ) {
            let classifier = try TrainedClassifier(
                contentsOf: classifierURL.appendingPathComponent("model.safetensors"))
            let source = try chipSource(level: spec.classifier!.level, minimumShare: spec.classifier!.minimumShare)
            let predictions = try classifier.predict(source, indices: stage.split.indices(of: source))
            var review = try NoiseReview(
                model: classifier.url.path, split: stage.split.rawValue, source: source, predictions: predictions,
                thresholds: predictions.defaultThresholds, top: stage.top)
            try? FileManager.default.removeItem(at: noiseURL)
            try FileManager.default.createDirectory(at: noiseURL, withIntermediateDirectories: true)
            try review.write(to: noiseURL, source: source)
            try writeAtomically(Data(review.markdown.utf8), to: noiseURL.appendingPathComponent("noise.md"))
            return "\(review.candidates.count) images listed"
        }
    }

    private func runMap(_ stage: PipelineSpec.MapStage) throws -> (skipped: Bool, note: String) {
        let parts = [
            "\(stage.window)", "\(stage.overlap)", "\(stage.batchSize)", "\(stage.confidence)",
            "\(stage.minimumMappingUnit ?? 0)", "\(stage.polygons)", spec.safe.path,
        ]
        return try stamped("map", parts, models: [models.last!]) {
            try FileManager.default.createDirectory(
                at: mapURL.deletingLastPathComponent(), withIntermediateDirectories: true)
            let model = spec.segmenter != nil ? segmenterURL : classifierURL
            if spec.segmenter == nil {
                var job = ChipClassification(
                    model: model.appendingPathComponent("model.safetensors"), product: spec.safe.path,
                    output: mapURL.deletingPathExtension().appendingPathExtension("gpkg").path)
                job.overwrite = true
                let count = try job.run { self.onProgress("map", $0, $1) }
                return "\(count) chips classified"
            }
            var job = GranuleMapping(
                model: model.appendingPathComponent("model.safetensors"), product: spec.safe.path, output: mapURL.path)
            job.options = PredictionOptions(
                window: stage.window, overlap: stage.overlap, batchSize: stage.batchSize, levels: [],
                confidence: stage.confidence)
            job.writer = LandCoverMapWriter.Options(overwrite: true)
            job.minimumMappingUnit = stage.minimumMappingUnit
            job.polygons = stage.polygons ? mapURL.deletingPathExtension().appendingPathExtension("gpkg").path : nil
            let result = try job.run(codeVersion: "landcover \(LandCover.version)") { self.onProgress("map", $0, $1) }
            return result.maps.map { URL(fileURLWithPath: $0.files.map).lastPathComponent }.joined(separator: ", ")
        }
    }

    private func runChange(_ stage: PipelineSpec.ChangeStage) throws -> (skipped: Bool, note: String) {
        try stamped(
            "change",
            [
                "\(stage.confidenceThreshold.map(String.init) ?? "none")", spec.corine.path,
                // The map's own stamp: new map settings mean a new map to compare.
                (try? String(contentsOf: spec.output.appendingPathComponent(".stamps/map.key"), encoding: .utf8)) ?? "",
            ],
            models: [models.last!]
        ) {
            try FileManager.default.createDirectory(
                at: changeURL.deletingLastPathComponent(), withIntermediateDirectories: true)
            let analysis = try ChangeAnalysis.compare(
                mapPath: mapURL.path, corinePath: spec.corine.path, confidenceThreshold: stage.confidenceThreshold)
            try analysis.writeProducts(
                to: changeURL.path, provenance: ["MAP": "map.tif", "REFERENCE": spec.corine.lastPathComponent],
                options: LandCoverMapWriter.Options(overwrite: true))
            return String(format: "agreement with CORINE %.1f %%", analysis.summary.agreementShare * 100)
        }
    }

    /// The report reads every other stage's output, so its stamp holds their stamps and the checksums of the
    /// training logs and statistics (not of `run.json`, whose timings change on every run).
    private func runReport(_ stage: PipelineSpec.ReportStage) throws -> (skipped: Bool, note: String) {
        let stamps = ["evaluate", "noise", "map", "change"].map {
            (try? String(contentsOf: spec.output.appendingPathComponent(".stamps/\($0).key"), encoding: .utf8)) ?? ""
        }
        let files = [
            "stats.json", "classifier/training.json", "segmenter/training.json",
        ].map { spec.output.appendingPathComponent($0) }.filter { FileManager.default.fileExists(atPath: $0.path) }
        let parts = ["\(stage.previewSize)", spec.safe.path, spec.corine.path] + stamps
        if !FileManager.default.fileExists(atPath: spec.output.appendingPathComponent("report.html").path) {
            try? FileManager.default.removeItem(at: spec.output.appendingPathComponent(".stamps/report.key"))
        }
        return try stamped("report", parts, models: files) {
            var options = RunReport.Options()
            options.previewSize = stage.previewSize
            let html = try RunReport.write(from: spec.output, options: options)
            return html.lastPathComponent
        }
    }

    private func log(_ event: String, stage: String? = nil, note: String? = nil) {
        let record = PipelineEvent(
            event: event, stage: stage, elapsed: (Date().timeIntervalSince(start) * 1000).rounded() / 1000, note: note)
        onEvent(record)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if var line = try? encoder.encode(record) {
            line.append(UInt8(ascii: "\n"))
            try? events?.write(contentsOf: line)
        }
    }

    /// A content checksum of a file or of every file under a directory (sorted by path).
    private func checksum(_ url: URL) throws -> RunManifest.InputRecord {
        var files: [URL] = []
        var isDirectory: ObjCBool = false
        FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        if isDirectory.boolValue {
            let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey])
            while let file = enumerator?.nextObject() as? URL {
                if (try? file.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { files.append(file) }
            }
            files.sort { $0.path < $1.path }
        } else {
            files = [url]
        }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var bytes = 0
        for file in files {
            let data = try Data(contentsOf: file, options: .alwaysMapped)
            bytes += data.count
            // FNV-1a over 8-byte words: fast enough for a few GB and stable across platforms.
            data.withUnsafeBytes { raw in
                var index = 0
                while index + 8 <= raw.count {
                    hash = (hash ^ raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0x100_0000_01B3
                    index += 8
                }
                while index < raw.count {
                    hash = (hash ^ UInt64(raw[index])) &* 0x100_0000_01B3
                    index += 1
                }
            }
        }
        return RunManifest.InputRecord(checksum: String(hash, radix: 16), bytes: bytes)
    }

    private func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        try data.write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            throw PipelineError(url.path, "cannot rename into place: \(String(cString: strerror(errno)))")
        }
    }
}

import ArgumentParser
import Foundation
import LandCoverData
import Mapping
import NeuralNet
import TensorCore

/// `landcover bench map`: mapping a full tile against decoding its bands alone, the model alone, and torch_map.py.
struct BenchMapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Time `landcover map` on a full tile against decode alone, model alone and torch_map.py.",
        discussion: """
            The tile directory is the one of `bench chip` (T<tile>_B02.jp2 … _B08.jp2). A random-init U-Net \
            (--encoder, 25 level-3 classes, bands B02,B03,B04,B08) is saved as a checkpoint; then each step runs as \
            a child process, so that its peak RSS is its own: (a) `landcover bench decode` with strips of the \
            window height; (b) `landcover bench map-model`, the same windows in the same batches through the \
            model on random data; (c) `landcover map`; (d) the peer torch_map.py with the same encoder, classes, \
            window, overlap and batch, and its --bench-model. Target: (c) ≤ 1.1 × ((a) + (b)) and below (d).
            """)

    @Option(help: "Directory with T<tile>_B02.jp2, _B03, _B04, _B08 (and corine_3035.tif).")
    var tileDir: String

    @Option(help: "Working directory (default: landcover-bench-map in the temp dir).")
    var work: String?

    @Option(help: "U-Net encoder: resnet18, resnet34 or resnet50.")
    var encoder = "resnet18"

    @Option(help: "Window side in pixels.")
    var window = 256

    @Option(help: "Window overlap in pixels.")
    var overlap = PredictionOptions.defaultOverlap

    @Option(help: "Windows per forward pass.")
    var batchSize = 4

    @Option(help: "The peer torch_map.py; not run when omitted.")
    var peer: String?

    @Option(help: "Python with torch, smp and GDAL, for the peer.")
    var python = "/usr/bin/python3"

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    func validate() throws {
        guard Checkpoint.resNetConfiguration(named: encoder) != nil else {
            throw ValidationError("unknown --encoder \(encoder).")
        }
    }

    func run() throws {
        let tile = try BenchTile.locate(in: URL(fileURLWithPath: tileDir))
        let workURL =
            work.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("landcover-bench-map")
        try FileManager.default.createDirectory(at: workURL, withIntermediateDirectories: true)
        let product = try tile.writeProduct(into: workURL)
        let model = workURL.appendingPathComponent("unet-\(encoder).safetensors")
        try BenchMap.writeCheckpoint(encoder: encoder, to: model)
        tile.warmPageCache()
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let bandList = BenchMap.bands.joined(separator: ",")
        var report = BenchMapReport(encoder: encoder, window: window, overlap: overlap, batch: batchSize)

        print("decoding the bands alone …")
        report.decode = try MeasuredProcess.run(
            [executable, "bench", "decode", "--safe", product.path, "--bands", bandList, "--chip-size", "\(window)"],
            log: workURL.appendingPathComponent("decode.log"))
        print("the model alone …")
        let modelOutput = workURL.appendingPathComponent("model.json")
        report.model = try MeasuredProcess.run(
            [
                executable, "bench", "map-model", "--model", model.path, "--width", "\(tile.grid.width)",
                "--height", "\(tile.grid.height)", "--window", "\(window)", "--overlap", "\(overlap)",
                "--batch-size", "\(batchSize)",
            ], log: workURL.appendingPathComponent("model.log"), output: modelOutput)
        report.modelSeconds = BenchMap.jsonLine(modelOutput)?["seconds"] as? Double
        print("landcover map …")
        let map = workURL.appendingPathComponent("map.tif")
        let mapOutput = workURL.appendingPathComponent("map.out")
        report.map = try MeasuredProcess.run(
            [
                executable, "map", "--model", model.path, "--safe", product.path, "--out", map.path, "--window",
                "\(window)", "--overlap", "\(overlap)", "--batch-size", "\(batchSize)", "--levels", "3",
                "--overwrite", "--json-progress",
            ], log: workURL.appendingPathComponent("map.log"), output: mapOutput)
        report.mapSummary = (try? String(contentsOf: mapOutput, encoding: .utf8))?
            .split(separator: "\n").last.map(String.init)
        if let peer {
            let bands = BenchMap.bands.compactMap { SpectralBand($0) }.map { tile.images[$0]!.path }
            let common = [
                python, peer, "--arch", encoder, "--classes", "25", "--window", "\(window)", "--overlap",
                "\(overlap)", "--batch", "\(batchSize)", "--threads", "2", "--bands",
            ]
            print("torch_map.py …")
            let peerOutput = workURL.appendingPathComponent("peer.json")
            report.peer = try? MeasuredProcess.run(
                common + bands + ["--out", workURL.appendingPathComponent("peer.tif").path],
                log: workURL.appendingPathComponent("peer.log"), output: peerOutput)
            report.peerStages = BenchMap.jsonLine(peerOutput)?.compactMapValues { $0 as? Double }
            print("torch_map.py --bench-model …")
            let peerModelOutput = workURL.appendingPathComponent("peer-model.json")
            _ = try? MeasuredProcess.run(
                common + bands + ["--bench-model"], log: workURL.appendingPathComponent("peer.log"),
                output: peerModelOutput)
            report.peerModelSeconds = BenchMap.jsonLine(peerModelOutput)?["model_s"] as? Double
        }
        try BenchOutput.publish(report, markdown: report.markdown, json: json)
    }
}

/// `landcover bench map-model`: the windows of a map run through the model on random data, and nothing else.
struct BenchMapModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map-model",
        abstract: "Run a map's windows, in its batches, through a segmenter on random data (model compute alone).")

    @Option(help: "Segmenter checkpoint.")
    var model: String

    @Option(help: "Grid width in pixels.")
    var width: Int

    @Option(help: "Grid height in pixels.")
    var height: Int

    @Option(help: "Window side in pixels.")
    var window = 256

    @Option(help: "Window overlap in pixels.")
    var overlap = PredictionOptions.defaultOverlap

    @Option(help: "Windows per forward pass.")
    var batchSize = 4

    func run() throws {
        let segmenter = try MapModel(url: URL(fileURLWithPath: model)).segmenter()
        let rows = WindowLayout.starts(extent: height, window: window, overlap: overlap).count
        let columns = WindowLayout.starts(extent: width, window: window, overlap: overlap).count
        let (h, w) = (min(window, height), min(window, width))
        var generator = NeuralNet.SeededGenerator(seed: 0)
        let batches = (0..<2).map { _ in
            Tensor.randomNormal([batchSize, segmenter.inputBands, h, w], standardDeviation: 1, using: &generator)
        }
        let start = ContinuousClock.now
        for _ in 0..<rows {
            for first in stride(from: 0, to: columns, by: batchSize) {
                let count = min(batchSize, columns - first)
                let input = count == batchSize ? batches[first / batchSize % 2] : batches[0].prefixBatch(count)
                _ = try segmenter.logits(input)
            }
        }
        let seconds = (ContinuousClock.now - start).seconds
        print("{\"windows\": \(rows * columns), \"seconds\": \(seconds)}")
    }
}

extension Tensor {
    /// The first `count` samples of a `[batch, …]` tensor.
    fileprivate func prefixBatch(_ count: Int) -> Tensor {
        let sample = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [count] + shape.dropFirst(), scalars: Array(scalars.prefix(count * sample)))
    }
}

enum BenchMap {
    /// The bands of the benchmark model, in torch_map.py's order.
    static let bands = ["B02", "B03", "B04", "B08"]

    /// Saves a random-init U-Net on `encoder` with 25 CORINE level-3 classes and torch_map.py's normalisation.
    static func writeCheckpoint(encoder: String, to url: URL) throws {
        var configuration = Checkpoint.resNetConfiguration(named: encoder, inputChannels: bands.count)!
        configuration.classes = nil
        var generator = NeuralNet.SeededGenerator(seed: 0)
        let model = UNet(encoder: configuration, classes: 25, using: &generator)
        let classes = Corine.classes.prefix(25).map {
            CheckpointMetadata.Nomenclature.Class(code: String($0.code), name: $0.name)
        }
        let metadata = CheckpointMetadata(
            architecture: .init(kind: .unet, resnet: configuration, classes: 25), bands: bands,
            normalization: .init(mean: [0.0430, 0.0614, 0.0590, 0.2219], std: [0.0572, 0.0583, 0.0676, 0.1365]),
            nomenclature: .init(id: "corine-l3", classes: classes), task: .segmentation,
            recipe: ["source": "random init (bench map)"], codeVersion: "landcover \(LandCover.version)")
        try Checkpoint.save(model: model, metadata: metadata, to: url)
    }

    /// The last line of `url` that parses as a JSON object.
    static func jsonLine(_ url: URL) -> [String: Any]? {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n").reversed() {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                return object
            }
        }
        return nil
    }
}

struct BenchMapReport: Encodable {
    var encoder: String
    var window: Int
    var overlap: Int
    var batch: Int
    var decode: ProcessMeasurement?
    var model: ProcessMeasurement?
    var modelSeconds: Double?
    var map: ProcessMeasurement?
    var mapSummary: String?
    var peer: ProcessMeasurement?
    var peerStages: [String: Double]?
    var peerModelSeconds: Double?

    var markdown: String {
        func format(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "–" }
        func gigabytes(_ value: Int?) -> String { value.map { String(format: "%.2f", Double($0) / 1e9) } ?? "–" }
        let decodeSeconds = decode?.wallSeconds
        let modelAlone = modelSeconds ?? model?.wallSeconds
        let budget = decodeSeconds.flatMap { d in modelAlone.map { d + $0 } }
        var lines = [
            "U-Net-\(encoder), 25 classes, \(window)-px windows, overlap \(overlap), batch \(batch)",
            "",
            "| step | wall s | peak RSS GB |", "|---|---:|---:|",
            "| decode alone (bench decode) | \(format(decodeSeconds)) | \(gigabytes(decode?.peakRSSBytes)) |",
            "| model alone (bench map-model) | \(format(modelAlone)) | \(gigabytes(model?.peakRSSBytes)) |",
            "| landcover map | \(format(map?.wallSeconds)) | \(gigabytes(map?.peakRSSBytes)) |",
            "| torch_map.py | \(format(peer?.wallSeconds)) | \(gigabytes(peer?.peakRSSBytes)) |",
            "| torch_map.py --bench-model (model s) | \(format(peerModelSeconds)) | |",
            "",
        ]
        if let budget, let wall = map?.wallSeconds {
            lines.append(String(format: "map ÷ (decode + model) = %.2f (target ≤ 1.1)", wall / budget))
        }
        if let peerWall = peer?.wallSeconds, let wall = map?.wallSeconds {
            lines.append(String(format: "map ÷ torch_map.py = %.2f (target < 1)", wall / peerWall))
        }
        if let mapSummary { lines.append("landcover map: \(mapSummary)") }
        return lines.joined(separator: "\n")
    }
}

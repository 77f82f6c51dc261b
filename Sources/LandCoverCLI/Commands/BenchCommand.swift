import ArgumentParser
import Foundation
import LandCoverData
import NeuralNet

/// `landcover bench`: benchmarks measured side by side with their Python + GDAL peers in one run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks, measured side by side with the Python + GDAL peers in one run.",
        subcommands: [
            BenchChipCommand.self, BenchDecodeCommand.self, BenchModelCommand.self, BenchModelRunCommand.self,
            BenchMapCommand.self, BenchMapModelCommand.self,
        ])
}

/// `landcover bench chip`: chipping a full tile against decoding its bands alone and against `chipper.py`.
struct BenchChipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chip",
        abstract: "Time `landcover chip` on a full tile against decoding its bands alone and against chipper.py.",
        discussion: """
            The tile directory holds loose JP2 bands T<tile>_B02.jp2, _B03, _B04, _B08 and corine_3035.tif, as \
            make_synthetic_tile.py writes them. The bands are wrapped into a SAFE product (linked, not copied); then \
            each step runs as a child process, so that its peak RSS is its own: (a) `landcover bench decode`, the \
            chipper's strip reads and nothing else; (b) `landcover chip`; (c) the peer chipper.py on CORINE warped \
            to the tile grid. (a) and (b) share every GDAL setting (block cache, GDAL_NUM_THREADS). With --runs the \
            steps are interleaved and ratios are medians of each run's ratio.
            """)

    @Option(help: "Directory with T<tile>_B02.jp2, _B03, _B04, _B08 and corine_3035.tif.")
    var tileDir: String

    @Option(help: "Working directory for the product, chip stores and logs (default: landcover-bench in the temp dir).")
    var work: String?

    @Option(help: "The Python + GDAL peer chipper.py; not run when omitted.")
    var peer: String?

    @Option(help: "Python with Debian's GDAL bindings, for the peer.")
    var python = "/usr/bin/python3"

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    @Option(help: "Run every step this many times, interleaved.")
    var runs = 1

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1.") }
        if let peer, !FileManager.default.fileExists(atPath: peer) {
            throw ValidationError("--peer \(peer): file not found")
        }
    }

    func run() throws {
        let tile = try BenchTile.locate(in: URL(fileURLWithPath: tileDir))
        let workURL =
            work.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("landcover-bench")
        try FileManager.default.createDirectory(at: workURL, withIntermediateDirectories: true)
        let product = try tile.writeProduct(into: workURL)
        print("product: \(product.path)")
        tile.warmPageCache()

        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let bandList = BenchTile.bands.map(\.name).joined(separator: ",")
        let chips = workURL.appendingPathComponent("chips")
        let decodeCommand = [executable, "bench", "decode", "--safe", product.path, "--bands", bandList]
        let chipCommand = [
            executable, "chip", "--safe", product.path, "--corine", tile.corine.path, "--out", chips.path,
            "--bands", bandList, "--json-progress",
        ]
        var peerChipper: PeerChipper?
        var peerSkipped: String?
        if let peer {
            do {
                peerChipper = try PeerChipper(script: peer, python: python, tile: tile, work: workURL)
            } catch let skip as PeerChipper.Unavailable {
                peerSkipped = skip.reason
                print("chipper.py skipped: \(skip.reason)")
            }
        } else {
            peerSkipped = "no --peer given"
        }

        var report = BenchChipReport(tile: tile, peerLabelWarpSeconds: peerChipper?.labelWarpSeconds)
        report.peerSkipped = peerSkipped
        for run in 1...runs {
            let label = runs > 1 ? " (run \(run) of \(runs))" : ""
            print("decoding the bands alone\(label) …")
            report.decode.append(
                try MeasuredProcess.run(decodeCommand, log: workURL.appendingPathComponent("decode.log")))
            print("landcover chip\(label) …")
            try? FileManager.default.removeItem(at: chips)
            report.chip.append(try MeasuredProcess.run(chipCommand, log: workURL.appendingPathComponent("chip.log")))
            if let peerChipper {
                print("chipper.py\(label) …")
                let (measurement, stages) = try peerChipper.run()
                report.peer.append(measurement)
                report.peerStages.append(stages)
            }
        }
        try BenchOutput.publish(report, markdown: report.markdown, json: json)
    }
}

/// `landcover bench decode`: the decode-alone step of `bench chip`, run as its own process.
struct BenchDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Read a product's bands strip by strip as `landcover chip` does, and nothing else.")

    @Option(help: "Sentinel-2 product: .SAFE directory, its MTD_MSI*.xml, or the .zip.")
    var safe: String

    @Option(help: "Bands in storage order, comma-separated.")
    var bands: String = "B04,B03,B02"

    @Option(help: "Chip side in pixels: the height of a strip.")
    var chipSize: Int = 120

    func run() throws {
        let parsed = try bands.split(separator: ",").map {
            guard let band = SpectralBand(String($0)) else { throw ValidationError("unknown band \($0) in --bands.") }
            return band
        }
        let start = ContinuousClock.now
        let source = try Sentinel2ChipSource(product: Sentinel2Product.open(safe), bands: parsed)
        let strips = try Chipper.readStrips(of: source, configuration: ChipperConfiguration(chipSize: chipSize))
        print("{\"strips\": \(strips), \"seconds\": \((ContinuousClock.now - start).seconds)}")
    }
}

/// `landcover bench model`: training steps and inference of ResNet-50 and the compact U-Net-R50 against PyTorch.
struct BenchModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Time ResNet-50 and U-Net-R50 training steps and inference against PyTorch (torch_anchor.py).",
        discussion: """
            Each model runs in its own child process (`landcover bench model-run`), so its peak RSS is its own: \
            random weights and inputs, warm-up steps, then the median of --iterations timed steps. The peer \
            torch_anchor.py then runs the same configurations with 2 threads in the same session, and the table \
            gives the ratios (ours ÷ PyTorch, higher is better).
            """)

    @Option(help: "Models, comma-separated: resnet50, unet-r50 (3×128², as the peer), unet-r50-120.")
    var models = "resnet50,unet-r50"

    @Option(help: "Timed iterations per measurement.")
    var iterations = 5

    @Option(help: "Warm-up iterations per measurement.")
    var warmup = 2

    @Option(help: "The peer torch_anchor.py; not run when omitted.")
    var peer: String?

    @Option(help: "Python with torch, torchvision and segmentation-models-pytorch, for the peer.")
    var python = "/usr/bin/python3"

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    func validate() throws {
        for name in models.split(separator: ",") where BenchModelCase.named(String(name)) == nil {
            throw ValidationError("unknown model \(name) in --models.")
        }
        guard iterations >= 1, warmup >= 0 else { throw ValidationError("--iterations ≥ 1 and --warmup ≥ 0.") }
    }

    func run() throws {
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "landcover-bench-model-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let cases = models.split(separator: ",").compactMap { BenchModelCase.named(String($0)) }
        var report = BenchModelReport(ours: [], peer: [])
        for benchCase in cases {
            print("landcover \(benchCase.name) …")
            let output = work.appendingPathComponent("\(benchCase.name).json")
            let measurement = try MeasuredProcess.run(
                [
                    executable, "bench", "model-run", "--model", benchCase.name, "--iterations", "\(iterations)",
                    "--warmup", "\(warmup)",
                ], log: work.appendingPathComponent("model.log"), output: output)
            var result = try JSONDecoder().decode(BenchModelResult.self, from: Data(contentsOf: output))
            result.peakRSSBytes = measurement.peakRSSBytes
            report.ours.append(result)
        }
        if let peer {
            print("torch_anchor.py …")
            let output = work.appendingPathComponent("peer.json")
            let names = cases.flatMap(\.peers).joined(separator: ",")
            _ = try MeasuredProcess.run(
                [
                    python, peer, "--no-compile", "--iters", "\(iterations)", "--warmup", "\(warmup)", "--only", names,
                    "--json", output.path,
                ], log: work.appendingPathComponent("peer.log"))
            report.peer = try JSONDecoder().decode([PeerModelResult].self, from: Data(contentsOf: output))
        } else {
            report.peerSkipped = "no --peer given"
        }
        try BenchOutput.publish(report, markdown: report.markdown, json: json)
    }
}

/// `landcover bench model-run`: one model of `bench model`, measured in its own process; prints JSON.
struct BenchModelRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-run", abstract: "Measure one model of `bench model` and print the result as JSON.")

    @Option(help: "resnet50, unet-r50 or unet-r50-120.")
    var model: String

    @Option(help: "Timed iterations.")
    var iterations = 5

    @Option(help: "Warm-up iterations.")
    var warmup = 2

    func run() throws {
        guard let benchCase = BenchModelCase.named(model) else { throw ValidationError("unknown model \(model).") }
        let result = try ModelBenchmark.measure(benchCase, iterations: iterations, warmup: warmup)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
    }
}

/// How every bench command ends: the Markdown table on stdout and, with `--json`, the report as JSON.
enum BenchOutput {
    static func publish(_ report: some Encodable, markdown: String, json: String?) throws {
        print()
        print(markdown)
        guard let json else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        print("\nwrote \(json)")
    }
}

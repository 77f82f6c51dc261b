import Foundation
import NeuralNet
import TensorCore

/// One model configuration of `landcover bench model`, named as `torch_anchor.py` names its peer.
struct BenchModelCase: Codable, Sendable {
    /// `resnet50` or `unet-r50`.
    var name: String
    /// The configuration of `torch_anchor.py` measured against this one.
    var peers: [String]
    /// Images per step.
    var batch: Int
    /// Input side in pixels.
    var size: Int
    /// Output classes.
    var classes: Int

    static let all: [BenchModelCase] = [
        BenchModelCase(
            name: "resnet50", peers: ["ResNet50", "ResNet50 channels_last"], batch: 32, size: 120, classes: 43),
        BenchModelCase(name: "unet-r50", peers: ["UNet-R50 128"], batch: 16, size: 128, classes: 25),
        BenchModelCase(name: "unet-r50-120", peers: ["UNet-R50 120 native"], batch: 16, size: 120, classes: 25),
    ]

    static func named(_ name: String) -> BenchModelCase? { all.first { $0.name == name } }
}

/// Throughput of one model configuration, measured in the process that prints it.
struct BenchModelResult: Codable, Sendable {
    var name: String
    /// Images per second, eval mode without gradients: medians over the timed iterations.
    var inferImagesPerSecond: Double
    /// Images per second of a training step (forward, loss, backward, AdamW step).
    var trainImagesPerSecond: Double
    /// Seconds of each timed inference and training step.
    var inferSeconds: [Double]
    var trainSeconds: [Double]
    /// Peak RSS of the measuring process, filled in by the parent.
    var peakRSSBytes: Int?
}

/// Measures a training step and inference of one `BenchModelCase`, the way `torch_anchor.py` does: random weights
/// and inputs, warm-up steps, then the median of `iterations` timed steps.
enum ModelBenchmark {
    static func measure(_ benchCase: BenchModelCase, iterations: Int, warmup: Int) throws -> BenchModelResult {
        var generator = SeededGenerator(seed: 7)
        let input = Variable(
            .randomNormal([benchCase.batch, 3, benchCase.size, benchCase.size], using: &generator))
        let model: any Layer
        let loss: (Variable) -> Variable
        if benchCase.name.hasPrefix("unet") {
            model = UNet(encoder: .resnet50(), classes: benchCase.classes, using: &generator)
            let targets = (0..<(benchCase.batch * benchCase.size * benchCase.size)).map {
                _ in Int(generator.next() % UInt64(benchCase.classes))
            }
            loss = { crossEntropy($0, targets: targets) }
        } else {
            model = ResNet(.resnet50(classes: benchCase.classes), using: &generator)
            let targets = Tensor.randomUniform([benchCase.batch, benchCase.classes], using: &generator)
                .mapped { $0 < 0.2 ? 1 : 0 }
            loss = { binaryCrossEntropyWithLogits($0, targets: targets) }
        }
        let optimizer = AdamW([ParameterGroup(model.parameters, learningRate: 1e-3)])

        model.eval()
        let inferSeconds = try timed(iterations: iterations, warmup: warmup) {
            _ = try withoutGradients { try model(input) }
        }
        model.train()
        let trainSeconds = try timed(iterations: iterations, warmup: warmup) {
            optimizer.clearGradients()
            try loss(try model(input)).backward()
            optimizer.step()
        }
        let batch = Double(benchCase.batch)
        return BenchModelResult(
            name: benchCase.name, inferImagesPerSecond: batch / median(inferSeconds),
            trainImagesPerSecond: batch / median(trainSeconds), inferSeconds: inferSeconds,
            trainSeconds: trainSeconds)
    }

    /// Warm-up runs, then `iterations` timed runs, as `torch_anchor.py` times its peer: the timed block starts
    /// once other processes use under 0.05 cores (waiting at most 180 s), and is repeated (up to 4 times) while
    /// they used 0.1 cores or more during it, since two cores shared with a compiler halve any figure.
    private static func timed(iterations: Int, warmup: Int, _ body: () throws -> Void) throws -> [Double] {
        for _ in 0..<warmup { try body() }
        var seconds: [Double] = []
        for _ in 0..<4 {
            CPULoad.waitUntilIdle()
            let before = CPULoad.Snapshot()
            seconds = try (0..<iterations).map { _ in
                let start = ContinuousClock.now
                try body()
                return (ContinuousClock.now - start).seconds
            }
            if CPULoad.Snapshot().foreignCores(since: before) < 0.1 { break }
        }
        return seconds
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// The peer's numbers for one configuration, as `torch_anchor.py --json` writes them.
struct PeerModelResult: Codable, Sendable {
    var name: String
    var inferImagesPerSecond: Double?
    var trainImagesPerSecond: Double?
    var error: String?

    enum CodingKeys: String, CodingKey {
        case name
        case inferImagesPerSecond = "infer_ips"
        case trainImagesPerSecond = "train_ips"
        case error
    }
}

/// Our results beside the peer's, as Markdown.
struct BenchModelReport: Codable, Sendable {
    var ours: [BenchModelResult]
    var peer: [PeerModelResult]
    var peerSkipped: String?

    var markdown: String {
        var lines = [
            "| model | batch × input | landcover infer img/s | landcover train img/s | peak RSS GB | peer | peer infer img/s | peer train img/s | infer ratio | train ratio |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for result in ours {
            guard let benchCase = BenchModelCase.named(result.name) else { continue }
            let rss = result.peakRSSBytes.map { String(format: "%.2f", Double($0) / 1e9) } ?? "–"
            let prefix = String(
                format: "| %@ | %d × 3×%d² | %.1f | %.1f | %@ ", result.name, benchCase.batch, benchCase.size,
                result.inferImagesPerSecond, result.trainImagesPerSecond, rss)
            let peers = peer.filter { benchCase.peers.contains($0.name) }
            if peers.isEmpty { lines.append(prefix + "| – | | | | |") }
            for row in peers {
                guard let infer = row.inferImagesPerSecond, let train = row.trainImagesPerSecond else {
                    lines.append(prefix + "| \(row.name) | \(row.error ?? "error") | | | |")
                    continue
                }
                lines.append(
                    prefix
                        + String(
                            format: "| %@ | %.1f | %.1f | %.2f× | %.2f× |", row.name, infer, train,
                            result.inferImagesPerSecond / infer, result.trainImagesPerSecond / train))
            }
        }
        if let peerSkipped { lines.append("\nPeer not run: \(peerSkipped).") }
        return lines.joined(separator: "\n")
    }
}

/// The CPU time other processes use, from `/proc/stat` minus this process's own time (`/proc/self/stat`), as
/// `torch_anchor.py` measures it.
enum CPULoad {
    struct Snapshot {
        let time = ContinuousClock.now
        /// Busy ticks of the whole machine (user, nice, system, irq, softirq, steal).
        let busyTicks: Int
        /// This process's user and system ticks.
        let ownTicks: Int

        init() {
            let stat = (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)) ?? ""
            let cpu = stat.split(separator: "\n").first?.split(separator: " ").dropFirst().compactMap { Int($0) } ?? []
            busyTicks = cpu.count >= 8 ? cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7] : 0
            let own = (try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8)) ?? ""
            let fields = own.split(separator: ")").last?.split(separator: " ") ?? []
            ownTicks = fields.count > 12 ? (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0) : 0
        }

        /// The cores other processes used on average since `earlier`.
        func foreignCores(since earlier: Snapshot) -> Double {
            let seconds = (time - earlier.time).seconds
            guard seconds > 0 else { return 0 }
            let ticks = Double((busyTicks - earlier.busyTicks) - (ownTicks - earlier.ownTicks))
            return max(0, ticks / Double(sysconf(Int32(_SC_CLK_TCK))) / seconds)
        }
    }

    /// Waits until other processes use under 0.05 cores over half a second, at most `limit` seconds.
    static func waitUntilIdle(limit: Double = 180) {
        let start = ContinuousClock.now
        while (ContinuousClock.now - start).seconds < limit {
            let before = Snapshot()
            Thread.sleep(forTimeInterval: 0.5)
            if Snapshot().foreignCores(since: before) < 0.05 { return }
        }
    }
}

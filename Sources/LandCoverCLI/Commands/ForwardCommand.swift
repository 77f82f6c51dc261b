import ArgumentParser
import Foundation
import NeuralNet

/// `landcover forward`: run a checkpoint on a NumPy array and write its raw outputs, to check or script a model.
struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run a checkpoint in inference mode on a float32 NumPy array and write the raw outputs (logits).",
        discussion: """
            The input is a C-order float32 .npy array [N, bands, height, width], already normalised as the
            checkpoint's metadata says. The output is float32 .npy: [N, classes] for a classifier, the features
            [N, channels, height/32, width/32] for an encoder.
            """)

    @Option(help: "Checkpoint (.safetensors with landcover metadata).")
    var model: String

    @Option(help: "Input array (.npy, float32, [N, bands, height, width]).")
    var input: String

    @Option(help: "Output array (.npy).")
    var output: String

    @Option(help: "Samples per forward pass.")
    var batchSize: Int = 16

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be positive.") }
    }

    func run() throws {
        let array = try NumPyArray(contentsOf: URL(fileURLWithPath: input))
        let result = try Checkpoint.forward(
            model: URL(fileURLWithPath: model), input: array, inputPath: input, batchSize: batchSize)
        try result.write(to: URL(fileURLWithPath: output))
        print("wrote \(output): \(result.shape)")
    }
}

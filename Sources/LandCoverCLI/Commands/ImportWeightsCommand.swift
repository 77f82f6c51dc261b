import ArgumentParser
import Foundation
import LandCoverData
import NeuralNet

#if canImport(Glibc)
    import Glibc
#endif

/// `landcover import-weights`: a torchvision ResNet `state_dict` (saved as safetensors) → an encoder checkpoint.
struct ImportWeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-weights",
        abstract:
            "Turn a torchvision ResNet state_dict saved as safetensors into an encoder checkpoint for given bands.",
        discussion: """
            Export the weights once with PyTorch, for example:
              m = torchvision.models.resnet50(weights="IMAGENET1K_V2")
              safetensors.torch.save_file(m.state_dict(), "resnet50.safetensors")
            The RGB stem is kept for the first three bands and every further band starts as the mean RGB kernel.
            """)

    @Option(help: "torchvision ResNet state_dict saved with safetensors.torch.save_file.")
    var torchvision: String

    @Option(help: "Input bands in channel order, comma-separated; RGB first (B04,B03,B02) keeps ImageNet's colours.")
    var bands: String

    @Option(help: "Output encoder checkpoint (.safetensors).")
    var out: String

    @Option(
        help: ArgumentHelp(
            "resnet18, resnet34 or resnet50 (or a reduced network basic|bottleneck:<layers>:<widths>).",
            valueName: "name"))
    var arch: String = "resnet50"

    func validate() throws {
        let names = try parsedBands()
        guard Set(names).count == names.count else { throw ValidationError("--bands lists a band twice.") }
        guard Checkpoint.resNetConfiguration(named: arch) != nil else {
            throw ValidationError(
                "unknown --arch \(arch) (expected resnet18, resnet34, resnet50 or e.g. basic:1,1,1,1:8,16,32,64).")
        }
    }

    func parsedBands() throws -> [String] {
        try bands.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let band = SpectralBand(String($0)) else {
                throw ValidationError("unknown band '\($0)' in --bands (expected names like B04, B8A).")
            }
            return band.name
        }
    }

    func run() throws {
        let names = try parsedBands()
        let architecture = Checkpoint.resNetConfiguration(named: arch, inputChannels: names.count)!
        let metadata = try Checkpoint.importTorchvision(
            from: URL(fileURLWithPath: torchvision), architecture: architecture, bands: names,
            to: URL(fileURLWithPath: out), codeVersion: "landcover \(LandCover.version)")
        print("wrote \(out): \(metadata.architecture.name), bands \(names.joined(separator: ","))")
        if Array(names.prefix(3)) != ["B04", "B03", "B02"] {
            FileHandle.standardError.write(
                Data(
                    "warning: the first three bands are not B04,B03,B02: ImageNet's RGB kernels meet other bands\n".utf8
                ))
        }
    }
}

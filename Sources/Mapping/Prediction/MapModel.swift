import Foundation
import LandCoverData
import NeuralNet
import TensorCore

/// A network that gives one logit per class and pixel.
public protocol SegmentationModel: AnyObject {
    /// Input channels.
    var inputBands: Int { get }
    /// Output classes.
    var classCount: Int { get }
    /// Logits `[batch, classCount, height, width]` for `input` `[batch, inputBands, height, width]`.
    func logits(_ input: Tensor) throws -> Tensor
}

/// A checkpoint prepared for mapping: the network, its bands, normalisation and classes.
public final class MapModel {
    /// The checkpoint file.
    public let url: URL
    /// Its metadata.
    public let metadata: CheckpointMetadata
    /// The network in inference mode.
    public let network: any Layer
    /// The input bands in channel order.
    public let bands: [SpectralBand]

    /// Loads the checkpoint at `url` (tensors strictly, inference mode) and parses its bands.
    public init(url: URL) throws {
        let (network, metadata) = try Checkpoint.loadModel(from: url)
        var bands: [SpectralBand] = []
        for name in metadata.bands {
            guard let band = SpectralBand(name) else {
                throw MappingError(path: url.path, problem: "input '\(name)' is not a Sentinel-2 band")
            }
            bands.append(band)
        }
        self.url = url
        self.metadata = metadata
        self.network = network
        self.bands = bands
    }

    /// Whether the checkpoint is a segmenter (`resnet*-unet`, `resnet*-dynamic-unet`).
    public var isSegmenter: Bool { metadata.architecture.kind?.isSegmenter == true }

    /// Output class codes and names from the metadata; fails when the checkpoint has none.
    public var classes: [CheckpointMetadata.Nomenclature.Class] {
        get throws {
            guard let nomenclature = metadata.nomenclature, !nomenclature.classes.isEmpty else {
                throw MappingError(path: url.path, problem: "the checkpoint names no output classes (nomenclature)")
            }
            return nomenclature.classes
        }
    }

    /// The CORINE hierarchy of a segmenter's classes.
    public func hierarchy() throws -> ClassHierarchy {
        try ClassHierarchy(codes: classes.map(\.code), path: url.path)
    }

    /// "resnet50-unet, 25 classes (corine-l3), bands B04,B03,B02,B08".
    public var summary: String {
        let nomenclature = metadata.nomenclature.map { "\($0.classes.count) classes (\($0.id))" } ?? "no classes"
        return "\(metadata.architecture.name), \(nomenclature), bands \(metadata.bands.joined(separator: ","))"
    }

    /// The network as a `SegmentationModel`; fails for a classifier or encoder.
    public func segmenter() throws -> any SegmentationModel {
        guard isSegmenter else {
            throw MappingError(
                path: url.path,
                problem: "is a \(metadata.architecture.name) checkpoint; a map needs a segmenter (resnet*-unet or "
                    + "resnet*-dynamic-unet), or a classifier for chip maps")
        }
        return LayerSegmenter(network, inputBands: bands.count, classCount: try classes.count)
    }
}

/// A `Layer` run without gradients as a segmenter.
public final class LayerSegmenter: SegmentationModel {
    /// The network.
    public let layer: any Layer
    public let inputBands: Int
    public let classCount: Int

    /// Wraps `layer`, which must map `[n, inputBands, h, w]` to `[n, classCount, h, w]`.
    public init(_ layer: any Layer, inputBands: Int, classCount: Int) {
        self.layer = layer
        self.inputBands = inputBands
        self.classCount = classCount
    }

    public func logits(_ input: Tensor) throws -> Tensor {
        try withoutGradients { try layer(Variable(input)) }.value
    }
}

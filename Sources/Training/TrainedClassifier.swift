import Foundation
import LandCoverData
import NeuralNet

/// A classifier checkpoint ready to predict: the model, its bands, nomenclature and normalisation.
public struct TrainedClassifier {
    /// The checkpoint's path.
    public let url: URL
    /// The model, in inference mode.
    public let model: any Layer
    /// The checkpoint metadata.
    public let metadata: CheckpointMetadata
    /// The classes of its outputs.
    public let nomenclature: Nomenclature
    /// Its input bands, in order.
    public let bands: [SpectralBand]
    /// The normalisation its training images had.
    public let normalization: ChannelStatistics

    /// Loads a multi-label classifier checkpoint; a segmenter or a checkpoint without nomenclature or normalisation
    /// is refused with a message naming the file.
    public init(contentsOf url: URL) throws {
        let (model, metadata) = try Checkpoint.loadModel(from: url)
        func fail(_ problem: String) -> TrainingError { TrainingError("\(url.path): \(problem)") }
        guard metadata.task == .classification || (metadata.task == nil && metadata.architecture.classes != nil)
        else { throw fail("not a classifier checkpoint (task \(metadata.task?.rawValue ?? "none"))") }
        self.url = url
        self.model = model
        self.metadata = metadata
        (nomenclature, bands, normalization) = try Self.inputs(of: metadata, path: url.path)
    }

    /// The nomenclature, bands and normalisation a trained checkpoint records; missing ones are errors naming `path`.
    static func inputs(of metadata: CheckpointMetadata, path: String) throws -> (
        Nomenclature, [SpectralBand], ChannelStatistics
    ) {
        func fail(_ problem: String) -> TrainingError { TrainingError("\(path): \(problem)") }
        guard let id = metadata.nomenclature?.id, let nomenclature = Nomenclature.named(id) else {
            throw fail("the checkpoint names no known nomenclature; train it with `landcover train`")
        }
        guard let normalization = metadata.normalization else {
            throw fail("the checkpoint has no normalisation statistics")
        }
        let bands = try metadata.bands.map {
            guard let band = SpectralBand($0) else { throw fail("unknown band \($0) in the metadata") }
            return band
        }
        return (nomenclature, bands, ChannelStatistics(mean: normalization.mean, std: normalization.std))
    }

    /// Predicts images `indices` of `source`, which must have the model's bands and nomenclature.
    public func predict(
        _ source: any MultiLabelSource, indices: [Int], batchSize: Int = 64,
        progress: ((Int, Int, Double) -> Void)? = nil
    ) throws -> ClassifierPredictions {
        guard source.bands == bands else {
            throw TrainingError(
                "the model takes bands \(bands.map(\.name).joined(separator: ",")), the data has "
                    + source.bands.map(\.name).joined(separator: ","))
        }
        guard source.nomenclature.id == nomenclature.id else {
            throw TrainingError(
                "the model predicts \(nomenclature.id), the data is labelled in \(source.nomenclature.id)")
        }
        return try ClassifierPredictions.predict(
            model: model, batches: ImageBatches(source: source, normalization: normalization), indices: indices,
            batchSize: batchSize, progress: progress)
    }
}

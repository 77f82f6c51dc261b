import NeuralNet

/// The model core's generator (LandCoverData has a namesake for synthetic scenes): every random choice of training
/// (weights, dropout, shuffling, augmentation) is drawn from it.
typealias SeededGenerator = NeuralNet.SeededGenerator

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) * 1e-18
    }
}

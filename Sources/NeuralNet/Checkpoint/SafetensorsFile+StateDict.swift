import Foundation
import TensorCore

extension SafetensorsFile {
    /// A file holding `stateDict` as PyTorch writes one: F32 tensors, except `num_batches_tracked`, which PyTorch
    /// keeps as I64, so `torch.load_state_dict` accepts the file unchanged.
    public init(stateDict: [String: Tensor], metadata: [String: String] = [:]) {
        var tensors: [String: SafetensorsEntry] = [:]
        for (key, tensor) in stateDict {
            if key.hasSuffix("num_batches_tracked") {
                let counts = tensor.scalars.map { Int64($0).littleEndian }
                tensors[key] = SafetensorsEntry(
                    dtype: .int64, shape: tensor.shape, bytes: counts.withUnsafeBytes { Data($0) })
            } else {
                tensors[key] = SafetensorsEntry(shape: tensor.shape, values: tensor.scalars)
            }
        }
        self.init(tensors: tensors, metadata: metadata)
    }

    /// The tensors whose names start with `prefix`, prefix removed, as Float32 (F16, BF16 and integers converted):
    /// a `state_dict` for `Module.load(stateDict:strict:)`.
    public func stateDict(prefix: String = "") -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (name, entry) in tensors where name.hasPrefix(prefix) {
            result[String(name.dropFirst(prefix.count))] = Tensor(shape: entry.shape, scalars: entry.floats())
        }
        return result
    }
}

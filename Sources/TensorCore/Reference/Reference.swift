/// Plain loop implementations of every TensorCore operation, accumulating in Double: slow, obviously correct,
/// and the yardstick the tests hold the oneDNN and OpenBLAS kernels to. Names and arguments mirror `CPUDevice`.
public enum Reference {}

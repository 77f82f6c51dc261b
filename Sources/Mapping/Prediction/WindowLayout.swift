import Foundation

/// Where the prediction windows sit along one axis and how their outputs are blended.
///
/// Windows of `window` pixels start every `window − overlap` pixels; the last one is shifted back to end exactly at
/// the edge, so every pixel is covered (a 10 980-px side is not a multiple of any usual stride). A side shorter
/// than the window gets one window of the side's length.
public enum WindowLayout {
    /// Window origins covering `0..<extent` with windows of `min(window, extent)` pixels.
    public static func starts(extent: Int, window: Int, overlap: Int) -> [Int] {
        precondition(extent >= 1 && window >= 1, "Extent and window must be positive.")
        let size = min(window, extent)
        let stride = max(1, size - min(overlap, size - 1))
        var starts = Array(Swift.stride(from: 0, through: extent - size, by: stride))
        if starts.last! + size < extent { starts.append(extent - size) }
        return starts
    }

    /// Blend weights along one window side of `length` pixels: a raised-cosine ramp sin²(π/2 · d/overlap) over
    /// `overlap` pixels at each edge (d = distance of the pixel centre to the edge), 1 inside. The ramps of two
    /// neighbours overlapping by `overlap` pixels sum to 1 (sin² + cos²) and have no kink, so no seam shows; the
    /// weight is never 0, so edge pixels covered by one window only keep their prediction.
    public static func ramp(length: Int, overlap: Int) -> [Float] {
        guard overlap > 0 else { return [Float](repeating: 1, count: length) }
        return (0..<length).map { index in
            let distance = Double(min(index, length - 1 - index)) + 0.5
            let t = min(distance / Double(overlap), 1)
            let s = sin(Double.pi / 2 * t)
            return Float(s * s)
        }
    }
}

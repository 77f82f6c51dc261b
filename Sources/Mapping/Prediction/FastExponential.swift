/// exp(x) for x ≤ 0 in SIMD lanes, to ~2 ulp: the softmax of every class at every pixel of a granule (3·10⁹ values
/// for 25 classes) must cost a few seconds, not the minute scalar `expf` takes. Values below −87 give 0.
@inline(__always)
func fastExponential(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let clamped = x.replacing(with: -87, where: x .< -87)
    // exp(x) = 2^n · exp(r), n = round(x / ln 2), r = x − n ln 2 in [−ln2/2, ln2/2] (Cody–Waite split of ln 2).
    // Adding 1.5 · 2²³ rounds x / ln 2 to an integer held in the low mantissa bits: no float-to-int conversion.
    let magic: Float = 12_582_912
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    var r = clamped - n * 0.693_145_75
    r = r - n * 1.428_606_8e-6
    // Taylor polynomial of degree 6 (error < 2e-7 on the interval).
    var p: SIMD8<Float> = SIMD8(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: Int32.self)
    let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
    return (p * scale).replacing(with: 0, where: x .< -87)
}

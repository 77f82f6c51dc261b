import LandCoverData

/// Adds one window's softmax probabilities, weighted by the blend ramps, into a strip accumulator.
struct WindowBlender {
    let classes: Int
    let width: Int

    /// Adds `logits` `[classes, height, width]` of a window into `accumulator` (class planes `planeStride` apart,
    /// rows `rowStride` apart, pointing at the window's first column) as softmax · rampY[row] · rampX[column], and
    /// the weights into `weights`.
    func add(
        logits: UnsafePointer<Float>, height: Int, rampY: [Float], rampX: [Float],
        into accumulator: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Float>, planeStride: Int,
        rowStride: Int
    ) {
        let padded = (width + 7) / 8 * 8
        let windowPlane = height * width
        var maximum = [Float](repeating: 0, count: padded)
        var sum = [Float](repeating: 0, count: padded)
        var exponentials = [Float](repeating: 0, count: classes * padded)
        maximum.withUnsafeMutableBufferPointer { maximum in
            sum.withUnsafeMutableBufferPointer { sum in
                exponentials.withUnsafeMutableBufferPointer { exponentials in
                    for row in 0..<height {
                        let rowLogits = logits + row * width
                        for j in 0..<width { maximum[j] = rowLogits[j] }
                        for c in 1..<max(classes, 1) {
                            let values = rowLogits + c * windowPlane
                            for j in 0..<width { maximum[j] = max(maximum[j], values[j]) }
                        }
                        for j in 0..<padded { sum[j] = 0 }
                        for c in 0..<classes {
                            let values = rowLogits + c * windowPlane
                            let target = exponentials.baseAddress! + c * padded
                            // Differences to the row maximum, then exp eight lanes at a time.
                            for j in 0..<width { target[j] = values[j] - maximum[j] }
                            for j in width..<padded { target[j] = 0 }
                            var j = 0
                            while j < padded {
                                let x = UnsafeRawPointer(target + j).loadUnaligned(as: SIMD8<Float>.self)
                                let e = fastExponential(x)
                                UnsafeMutableRawPointer(target + j).storeBytes(of: e, as: SIMD8<Float>.self)
                                j += 8
                            }
                            for j in 0..<width { sum[j] += target[j] }
                        }
                        let weightY = rampY[row]
                        let weightRow = weights + row * rowStride
                        for j in 0..<width {
                            let weight = weightY * rampX[j]
                            weightRow[j] += weight
                            sum[j] = weight / sum[j]
                        }
                        for c in 0..<classes {
                            let source = exponentials.baseAddress! + c * padded
                            let target = accumulator + c * planeStride + row * rowStride
                            for j in 0..<width { target[j] += source[j] * sum[j] }
                        }
                    }
                }
            }
        }
    }
}

/// Turns finished accumulator rows into class indices (per level), confidence and margin bytes.
struct LevelFinaliser {
    /// Per level: groups of outputs (the children of one class) and that class's index.
    let groups: [[(index: UInt8, outputs: [Int])]]
    let confidence: Bool

    init(hierarchy: ClassHierarchy, levels: [CorineLevel], confidence: Bool) {
        groups = levels.map { level in
            let indices = hierarchy.classIndices(at: level)
            return Set(indices).sorted().map { index in
                (UInt8(index), indices.indices.filter { indices[$0] == index })
            }
        }
        self.confidence = confidence
    }

    /// Writes `rows` × `width` pixels: for each level a class plane, then (with confidence) a confidence and a
    /// margin plane per level, in percent; invalid pixels and pixels without weight get 0 and 255.
    func finalise(
        rows: Int, width: Int, accumulator: UnsafePointer<Float>, planeStride: Int, weights: UnsafePointer<Float>,
        valid: UnsafePointer<Bool>, into bytes: UnsafeMutablePointer<UInt8>
    ) {
        let pixels = rows * width
        var summed = [Float](repeating: 0, count: width)
        var top = [Float](repeating: 0, count: width)
        var second = [Float](repeating: 0, count: width)
        var best = [UInt8](repeating: 0, count: width)
        for (levelPosition, levelGroups) in groups.enumerated() {
            let classPlane = bytes + levelPosition * pixels
            let confidencePlane = bytes + (groups.count + 2 * levelPosition) * pixels
            let marginPlane = confidencePlane + pixels
            for row in 0..<rows {
                for j in 0..<width {
                    top[j] = -1
                    second[j] = -1
                    best[j] = 0
                }
                for group in levelGroups {
                    let first = accumulator + group.outputs[0] * planeStride + row * width
                    for j in 0..<width { summed[j] = first[j] }
                    for output in group.outputs.dropFirst() {
                        let values = accumulator + output * planeStride + row * width
                        for j in 0..<width { summed[j] += values[j] }
                    }
                    for j in 0..<width {
                        let value = summed[j]
                        if value > top[j] {
                            second[j] = top[j]
                            top[j] = value
                            best[j] = group.index
                        } else if value > second[j] {
                            second[j] = value
                        }
                    }
                }
                let offset = row * width
                for j in 0..<width {
                    let weight = weights[offset + j]
                    let ok = valid[offset + j] && weight > 0
                    classPlane[offset + j] = ok ? best[j] : 0
                    guard confidence else { continue }
                    if ok {
                        let topShare = top[j] / weight
                        let secondShare = max(second[j], 0) / weight
                        confidencePlane[offset + j] = LandCoverMapWriter.confidencePercent(topShare)
                        marginPlane[offset + j] = LandCoverMapWriter.confidencePercent(topShare - secondShare)
                    } else {
                        confidencePlane[offset + j] = LandCoverMapWriter.confidenceNoData
                        marginPlane[offset + j] = LandCoverMapWriter.confidenceNoData
                    }
                }
            }
        }
    }
}

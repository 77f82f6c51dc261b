extension SyntheticLandscape {
    /// The mode of each `blockSize`² block of a row-major `size`² grid of class codes; ties go to the lower code.
    ///
    /// This is how a 10 m land-cover raster becomes a 100 m CORINE-like grid before generalisation. O(pixels).
    public static func majority(of codes: [UInt8], size: Int, blockSize: Int = 10) -> [UInt8] {
        precondition(codes.count == size * size, "The code grid must hold size × size values.")
        precondition(blockSize > 0 && size % blockSize == 0, "The grid size must be a multiple of the block size.")
        let cells = size / blockSize
        var result = [UInt8](repeating: 0, count: cells * cells)
        var counts = [Int](repeating: 0, count: 256)
        for cellRow in 0..<cells {
            for cellColumn in 0..<cells {
                let rows = cellRow * blockSize..<(cellRow + 1) * blockSize
                let columns = cellColumn * blockSize..<(cellColumn + 1) * blockSize
                for y in rows {
                    for code in codes[y * size + columns.lowerBound..<y * size + columns.upperBound] {
                        counts[Int(code)] += 1
                    }
                }
                var mode: UInt8 = 0
                var modeCount = 0
                for y in rows {
                    for code in codes[y * size + columns.lowerBound..<y * size + columns.upperBound] {
                        let count = counts[Int(code)]
                        if count > modeCount || (count == modeCount && code < mode) {
                            (mode, modeCount) = (code, count)
                        }
                    }
                }
                for y in rows {
                    for code in codes[y * size + columns.lowerBound..<y * size + columns.upperBound] {
                        counts[Int(code)] = 0
                    }
                }
                result[cellRow * cells + cellColumn] = mode
            }
        }
        return result
    }

    /// Applies a minimum mapping unit: every 4-connected region smaller than `minimumRegion` cells is merged into
    /// the neighbouring region it shares the longest border with (ties: the larger, then the earlier region),
    /// smallest regions first, repeated until none is left or `maximumPasses` passes have run.
    ///
    /// CORINE's 25 ha unit is 25 cells of 1 ha at 100 m. A region with no neighbour (a single-class grid) stays.
    /// Each pass is O(cells).
    public static func generalised(
        _ codes: [UInt8], width: Int, minimumRegion: Int = 25, maximumPasses: Int = 10
    ) -> [UInt8] {
        precondition(width > 0 && codes.count % width == 0, "The code grid must hold whole rows of `width` cells.")
        var codes = codes
        for _ in 0..<maximumPasses {
            guard let merged = ConnectedRegions(codes, width: width).absorbingRegions(smallerThan: minimumRegion)
            else { break }
            codes = merged
        }
        return codes
    }

    /// Relabels `share` of the cells of a grid-code grid the way CORINE errs: 80 % are border cells given a
    /// neighbour's class, the rest are cells swapped to a class easily confused with theirs (CLC 311/312 ↔ 313,
    /// 211 ↔ 231, 411 ↔ 412).
    ///
    /// Every chosen cell changes, and no cell is chosen twice; where too few cells qualify, fewer change. O(cells).
    public static func withLabelNoise(
        _ codes: [UInt8], width: Int, share: Double, using generator: inout SeededGenerator
    ) -> [UInt8] {
        precondition(width > 0 && codes.count % width == 0, "The code grid must hold whole rows of `width` cells.")
        precondition((0...1).contains(share), "The label-noise share must lie in 0...1.")
        let height = codes.count / width
        let total = Int((share * Double(codes.count)).rounded())
        var noisy = codes

        var borderCells = codes.indices.filter { cell in
            var isBorder = false
            forEachNeighbour(of: cell, width: width, height: height) { isBorder = isBorder || codes[$0] != codes[cell] }
            return isBorder
        }
        let borderCount = min(borderCells.count, total - Int((Double(total) * 0.2).rounded()))
        for cell in generator.partiallyShuffled(&borderCells, first: borderCount) {
            var differing: [UInt8] = []
            forEachNeighbour(of: cell, width: width, height: height) { neighbour in
                if codes[neighbour] != codes[cell] { differing.append(codes[neighbour]) }
            }
            noisy[cell] = differing[generator.nextIndex(below: differing.count)]
        }

        var confusable = codes.indices.filter { noisy[$0] == codes[$0] && !confusedClasses(of: codes[$0]).isEmpty }
        let swapCount = min(confusable.count, total - borderCount)
        for cell in generator.partiallyShuffled(&confusable, first: swapCount) {
            let candidates = confusedClasses(of: codes[cell])
            noisy[cell] = candidates[generator.nextIndex(below: candidates.count)]
        }
        return noisy
    }

    /// Grid codes an interpreter readily mistakes for `code` (same forest group, arable vs pasture, wetlands).
    static func confusedClasses(of code: UInt8) -> [UInt8] {
        switch code {
        case GridCode.broadLeavedForest, GridCode.coniferousForest: [GridCode.mixedForest]
        case GridCode.mixedForest: [GridCode.broadLeavedForest, GridCode.coniferousForest]
        case GridCode.nonIrrigatedArableLand: [GridCode.pastures]
        case GridCode.pastures: [GridCode.nonIrrigatedArableLand]
        case GridCode.inlandMarshes: [GridCode.peatBogs]
        case GridCode.peatBogs: [GridCode.inlandMarshes]
        default: []
        }
    }

    /// 4-connected regions of equal codes in a row-major grid, with each region's cells listed together.
    struct ConnectedRegions {
        /// Region index of every cell.
        let regionOfCell: [Int32]
        /// Cell count of every region.
        let sizes: [Int]
        /// Class code of every region.
        let codes: [UInt8]
        private let width: Int
        /// Cells grouped by region: region `r` owns `members[memberStart[r]..<memberStart[r + 1]]`.
        private let members: [Int32]
        private let memberStart: [Int]

        /// Labels the regions of `codes`, a grid `width` cells wide, by flood fill. O(cells).
        init(_ codes: [UInt8], width: Int) {
            let height = codes.count / width
            var regionOfCell = [Int32](repeating: -1, count: codes.count)
            var members: [Int32] = []
            members.reserveCapacity(codes.count)
            var memberStart: [Int] = []
            var regionCodes: [UInt8] = []
            for seed in codes.indices where regionOfCell[seed] < 0 {
                let region = Int32(regionCodes.count)
                let start = members.count
                memberStart.append(start)
                regionCodes.append(codes[seed])
                regionOfCell[seed] = region
                members.append(Int32(seed))
                // `members` doubles as the flood-fill queue: cells after `next` are still to be expanded.
                var next = start
                while next < members.count {
                    let cell = Int(members[next])
                    next += 1
                    forEachNeighbour(of: cell, width: width, height: height) { neighbour in
                        if regionOfCell[neighbour] < 0 && codes[neighbour] == codes[seed] {
                            regionOfCell[neighbour] = region
                            members.append(Int32(neighbour))
                        }
                    }
                }
            }
            memberStart.append(members.count)
            self.regionOfCell = regionOfCell
            self.codes = regionCodes
            self.width = width
            self.members = members
            self.memberStart = memberStart
            sizes = zip(memberStart, memberStart.dropFirst()).map { $1 - $0 }
        }

        /// The cells of `region`.
        func cells(of region: Int) -> ArraySlice<Int32> {
            members[memberStart[region]..<memberStart[region + 1]]
        }

        /// The grid's codes after one merging pass (see `SyntheticLandscape.generalised`), or nil if no region
        /// was merged.
        func absorbingRegions(smallerThan minimum: Int) -> [UInt8]? {
            let height = regionOfCell.count / width
            let smallRegions = sizes.indices.filter { sizes[$0] < minimum }.sorted { (sizes[$0], $0) < (sizes[$1], $1) }
            guard !smallRegions.isEmpty else { return nil }
            // Union-find over regions; a merged region's root carries the code it now has.
            var parent = Array(sizes.indices)
            var mergedSize = sizes
            func root(_ region: Int) -> Int {
                var region = region
                while parent[region] != region {
                    parent[region] = parent[parent[region]]
                    region = parent[region]
                }
                return region
            }
            var sharedBorder: [Int: Int] = [:]
            var mergedAny = false
            for region in smallRegions {
                let own = root(region)
                guard mergedSize[own] < minimum else { continue }
                sharedBorder.removeAll(keepingCapacity: true)
                for cell in cells(of: region) {
                    forEachNeighbour(of: Int(cell), width: width, height: height) { neighbour in
                        let other = root(Int(regionOfCell[neighbour]))
                        if other != own { sharedBorder[other, default: 0] += 1 }
                    }
                }
                // A total order, so the dictionary's per-process iteration order cannot change the result.
                let target = sharedBorder.max { a, b in
                    (a.value, mergedSize[a.key], -a.key) < (b.value, mergedSize[b.key], -b.key)
                }
                guard let target = target?.key else { continue }
                parent[own] = target
                mergedSize[target] += mergedSize[own]
                mergedAny = true
            }
            guard mergedAny else { return nil }
            return regionOfCell.map { codes[root(Int($0))] }
        }
    }
}

/// Calls `body` with each 4-neighbour of `cell` in a row-major grid.
@inline(__always)
private func forEachNeighbour(of cell: Int, width: Int, height: Int, _ body: (Int) -> Void) {
    let x = cell % width
    if x > 0 { body(cell - 1) }
    if x + 1 < width { body(cell + 1) }
    if cell >= width { body(cell - width) }
    if cell + width < width * height { body(cell + width) }
}

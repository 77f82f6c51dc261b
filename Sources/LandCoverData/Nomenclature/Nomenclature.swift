/// A class list at one level or in one nomenclature, with a mapping from CORINE level-3 index.
///
/// Class *index* convention used across the project: 0 = no data, 1...count = classes
/// (so at level 3 the index is the grid code).
public struct Nomenclature: Sendable, Hashable {
    /// Stable identifier: "corine-l1", "corine-l2", "corine-l3", "bigearthnet-43" or "bigearthnet-19".
    public let id: String
    /// Class names; `names[i - 1]` is the name of index `i`.
    public let names: [String]
    /// Class codes: the CLC code at this level (1, 2 or 3 digits); 1...19 for BigEarthNet-19.
    public let codes: [Int]
    /// Class colours: the EEA colour of each class's first level-3 member.
    public let colors: [RGB]
    /// A lookup table [0...255] mapping a level-3 index (grid code) to this nomenclature's index, 0 for no data / dropped; for fast per-pixel use.
    public let level3LookupTable: [UInt8]

    /// Number of classes, not counting the no-data index 0.
    public var count: Int { names.count }

    /// One class of a nomenclature and the CORINE level-3 classes (grid codes) it groups.
    struct Entry {
        var code: Int
        var name: String
        var gridCodes: [Int]
    }

    init(id: String, entries: [Entry]) {
        var table = [UInt8](repeating: 0, count: 256)
        for (offset, entry) in entries.enumerated() {
            for gridCode in entry.gridCodes {
                precondition(table[gridCode] == 0, "\(id): grid code \(gridCode) is mapped twice")
                table[gridCode] = UInt8(offset + 1)
            }
        }
        self.id = id
        self.names = entries.map(\.name)
        self.codes = entries.map(\.code)
        self.colors = entries.map { Corine.classes[$0.gridCodes[0] - 1].color }
        self.level3LookupTable = table
    }

    /// This nomenclature's index of the CORINE level-3 class `gridCode`; nil for 0, special values and dropped classes.
    public func index(ofLevel3 gridCode: Int) -> Int? {
        guard level3LookupTable.indices.contains(gridCode) else { return nil }
        let index = level3LookupTable[gridCode]
        return index == 0 ? nil : Int(index)
    }

    /// The index (1...count) of the class whose name is exactly `name`, or nil.
    public func index(ofName name: String) -> Int? {
        names.firstIndex(of: name).map { $0 + 1 }
    }
}

extension Nomenclature {
    /// CORINE level 1: 5 classes.
    public static let corineLevel1 = Nomenclature(id: "corine-l1", entries: corineEntries(at: .level1))
    /// CORINE level 2: 15 classes.
    public static let corineLevel2 = Nomenclature(id: "corine-l2", entries: corineEntries(at: .level2))
    /// CORINE level 3: 44 classes, index = grid code.
    public static let corineLevel3 = Nomenclature(id: "corine-l3", entries: corineEntries(at: .level3))
    /// BigEarthNet's 43 labels: CORINE level 3 without 335 "Glaciers and perpetual snow", in BigEarthNet spelling.
    public static let bigEarthNet43 = Nomenclature(id: "bigearthnet-43", entries: BigEarthNet.entries43)
    /// BigEarthNet's 19-class nomenclature (Sumbul et al. 2020), which drops 11 of the 43 labels.
    public static let bigEarthNet19 = Nomenclature(id: "bigearthnet-19", entries: BigEarthNet.entries19)

    /// Every nomenclature, coarse to fine, then BigEarthNet.
    public static let all: [Nomenclature] = [corineLevel1, corineLevel2, corineLevel3, bigEarthNet43, bigEarthNet19]

    /// The CORINE nomenclature at `level`.
    public static func corine(_ level: CorineLevel) -> Nomenclature {
        switch level {
        case .level1: corineLevel1
        case .level2: corineLevel2
        case .level3: corineLevel3
        }
    }

    /// The nomenclature with identifier `id`, or nil.
    public static func named(_ id: String) -> Nomenclature? {
        all.first { $0.id == id }
    }

    /// Groups the level-3 classes (sorted by CLC code) by their code at `level`.
    private static func corineEntries(at level: CorineLevel) -> [Entry] {
        var entries: [Entry] = []
        for corineClass in Corine.classes {
            let code = corineClass.code(at: level)
            if entries.last?.code == code {
                entries[entries.count - 1].gridCodes.append(corineClass.gridCode)
            } else {
                entries.append(Entry(code: code, name: corineClass.name(at: level), gridCodes: [corineClass.gridCode]))
            }
        }
        return entries
    }
}

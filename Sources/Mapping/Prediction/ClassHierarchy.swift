import LandCoverData

/// How a model's outputs map onto the CORINE levels: a model trained at level 3 also gives levels 2 and 1 (each
/// coarser class's probability is the sum of its children's), one trained at level 1 or 2 only its own level and
/// the coarser ones. Maps of different levels from one run therefore agree by construction.
public struct ClassHierarchy: Sendable, Equatable {
    /// The level of the model's classes (from the number of digits of their codes).
    public let modelLevel: CorineLevel
    /// The CLC code of each output, in output order.
    public let outputCodes: [Int]
    /// For each level up to `modelLevel`: the class index in `Nomenclature.corine(level)` of each output.
    private let indices: [[Int]]

    /// The hierarchy of outputs with CLC codes `codes` ("311", "31" or "3", all of one level); `path` names the
    /// model in errors.
    public init(codes: [String], path: String) throws {
        guard let first = codes.first else { throw MappingError(path: path, problem: "the model has no classes") }
        guard let level = CorineLevel(rawValue: first.count) else {
            throw MappingError(path: path, problem: "class code '\(first)' is not a CORINE code of 1, 2 or 3 digits")
        }
        var members: [CorineClass] = []
        for text in codes {
            guard text.count == level.rawValue, let code = Int(text),
                let member = Corine.classes.first(where: { $0.code(at: level) == code })
            else {
                throw MappingError(
                    path: path, problem: "class code '\(text)' is not a CORINE level-\(level.rawValue) code")
            }
            members.append(member)
        }
        guard Set(members.map { $0.code(at: level) }).count == members.count else {
            throw MappingError(path: path, problem: "the model lists a CORINE class twice")
        }
        modelLevel = level
        outputCodes = members.map { $0.code(at: level) }
        indices = CorineLevel.allCases.filter { $0.rawValue <= level.rawValue }.map { coarse in
            let nomenclature = Nomenclature.corine(coarse)
            return members.map { nomenclature.index(ofLevel3: $0.gridCode)! }
        }
    }

    /// The levels this model can map, coarsest first.
    public var levels: [CorineLevel] { CorineLevel.allCases.filter { $0.rawValue <= modelLevel.rawValue } }

    /// The class index in `Nomenclature.corine(level)` of each output; `level` must be at most `modelLevel`.
    public func classIndices(at level: CorineLevel) -> [Int] {
        precondition(level.rawValue <= modelLevel.rawValue, "A level-\(modelLevel.rawValue) model has no \(level).")
        return indices[level.rawValue - 1]
    }
}

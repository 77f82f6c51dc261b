/// BigEarthNet (v1) label sets and their relation to CORINE Land Cover.
public enum BigEarthNet {
    /// The 43 label strings exactly as written in BigEarthNet `labels` JSON, index order 0...42.
    public static let labels43: [String] = Nomenclature.bigEarthNet43.names
    /// The 19 class names of the reduced nomenclature, index order 0...18.
    public static let labels19: [String] = Nomenclature.bigEarthNet19.names

    /// The CORINE grid code (1...44) of a BigEarthNet-43 label (e.g. "Peatbogs" -> 36), or nil if `label` is not one.
    public static func gridCode(ofLabel43 label: String) -> Int? {
        guard let index = Nomenclature.bigEarthNet43.index(ofName: label) else { return nil }
        return Corine.byCode(Nomenclature.bigEarthNet43.codes[index - 1])?.gridCode
    }

    /// The CORINE class that BigEarthNet leaves out.
    private static let excludedCode = 335

    /// BigEarthNet spellings that differ from the EEA level-3 names, by CLC code.
    private static let renamedLabels: [Int: String] = [
        321: "Natural grassland",
        324: "Transitional woodland/shrub",
        332: "Bare rock",
        412: "Peatbogs",
    ]

    /// The 19 classes and the CLC codes each one groups (torchgeo `label_converter`, TU Berlin `label_conversion`).
    private static let groups19: [(name: String, codes: [Int])] = [
        ("Urban fabric", [111, 112]),
        ("Industrial or commercial units", [121]),
        ("Arable land", [211, 212, 213]),
        ("Permanent crops", [221, 222, 223, 241]),
        ("Pastures", [231]),
        ("Complex cultivation patterns", [242]),
        ("Land principally occupied by agriculture, with significant areas of natural vegetation", [243]),
        ("Agro-forestry areas", [244]),
        ("Broad-leaved forest", [311]),
        ("Coniferous forest", [312]),
        ("Mixed forest", [313]),
        ("Natural grassland and sparsely vegetated areas", [321, 333]),
        ("Moors, heathland and sclerophyllous vegetation", [322, 323]),
        ("Transitional woodland, shrub", [324]),
        ("Beaches, dunes, sands", [331]),
        ("Inland wetlands", [411, 412]),
        ("Coastal wetlands", [421, 422]),
        ("Inland waters", [511, 512]),
        ("Marine waters", [521, 522, 523]),
    ]

    /// The entries of `Nomenclature.bigEarthNet43`.
    static var entries43: [Nomenclature.Entry] {
        Corine.classes.filter { $0.code != excludedCode }.map {
            Nomenclature.Entry(code: $0.code, name: renamedLabels[$0.code] ?? $0.name, gridCodes: [$0.gridCode])
        }
    }

    /// The entries of `Nomenclature.bigEarthNet19`.
    static var entries19: [Nomenclature.Entry] {
        groups19.enumerated().map { offset, group in
            let gridCodes = group.codes.map { code in
                guard let corineClass = Corine.byCode(code) else { preconditionFailure("unknown CLC code \(code)") }
                return corineClass.gridCode
            }
            return Nomenclature.Entry(code: offset + 1, name: group.name, gridCodes: gridCodes)
        }
    }
}

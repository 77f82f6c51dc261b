/// A class of the L2A scene classification layer (SCL, 20 m), values 0...11 as listed in the product XML.
public enum SceneClass: UInt8, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// 0: outside the swath or no data.
    case noData = 0
    /// 1: saturated or defective pixel.
    case saturatedOrDefective
    /// 2: dark area / topographic shadow.
    case darkFeatureShadow
    /// 3: cloud shadow.
    case cloudShadow
    /// 4: vegetation.
    case vegetation
    /// 5: not vegetated (bare soil, urban).
    case notVegetated
    /// 6: water.
    case water
    /// 7: unclassified.
    case unclassified
    /// 8: cloud, medium probability.
    case cloudMediumProbability
    /// 9: cloud, high probability.
    case cloudHighProbability
    /// 10: thin cirrus.
    case thinCirrus
    /// 11: snow or ice.
    case snowOrIce

    /// Whether a pixel of this class should not be used for land-cover learning or mapping:
    /// no data, saturated/defective, cloud shadow, clouds, cirrus and snow (0, 1, 3, 8, 9, 10, 11).
    public var isInvalid: Bool {
        switch self {
        case .noData, .saturatedOrDefective, .cloudShadow, .cloudMediumProbability, .cloudHighProbability,
            .thinCirrus, .snowOrIce:
            true
        case .darkFeatureShadow, .vegetation, .notVegetated, .water, .unclassified:
            false
        }
    }

    /// Whether the raw SCL value `value` is invalid in the sense of `isInvalid`; values above 11 count as invalid.
    public static func isInvalid(_ value: UInt8) -> Bool { SceneClass(rawValue: value)?.isInvalid ?? true }

    /// The ESA name, as in the product XML without the "SC_" prefix (for example "CLOUD_SHADOW").
    public var description: String {
        switch self {
        case .noData: "NO_DATA"
        case .saturatedOrDefective: "SATURATED_DEFECTIVE"
        case .darkFeatureShadow: "DARK_FEATURE_SHADOW"
        case .cloudShadow: "CLOUD_SHADOW"
        case .vegetation: "VEGETATION"
        case .notVegetated: "NOT_VEGETATED"
        case .water: "WATER"
        case .unclassified: "UNCLASSIFIED"
        case .cloudMediumProbability: "CLOUD_MEDIUM_PROBA"
        case .cloudHighProbability: "CLOUD_HIGH_PROBA"
        case .thinCirrus: "THIN_CIRRUS"
        case .snowOrIce: "SNOW_ICE"
        }
    }
}

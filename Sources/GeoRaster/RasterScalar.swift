import CGDAL

/// A pixel type GDAL can read into and write from.
public protocol RasterScalar: Numeric, Sendable {
    /// The matching GDAL data type.
    static var gdalType: PixelType { get }
}

/// GDAL pixel data types used by the project.
public enum PixelType: String, Sendable, Codable, CaseIterable {
    case byte = "Byte"
    case uint16 = "UInt16"
    case int16 = "Int16"
    case uint32 = "UInt32"
    case int32 = "Int32"
    case float32 = "Float32"
    case float64 = "Float64"

    var gdal: GDALDataType {
        switch self {
        case .byte: GDT_Byte
        case .uint16: GDT_UInt16
        case .int16: GDT_Int16
        case .uint32: GDT_UInt32
        case .int32: GDT_Int32
        case .float32: GDT_Float32
        case .float64: GDT_Float64
        }
    }

    init?(gdal: GDALDataType) {
        guard let match = PixelType.allCases.first(where: { $0.gdal == gdal }) else { return nil }
        self = match
    }

    /// Bytes per pixel.
    public var size: Int { Int(GDALGetDataTypeSizeBytes(gdal)) }
}

extension UInt8: RasterScalar { public static var gdalType: PixelType { .byte } }
extension UInt16: RasterScalar { public static var gdalType: PixelType { .uint16 } }
extension Int16: RasterScalar { public static var gdalType: PixelType { .int16 } }
extension UInt32: RasterScalar { public static var gdalType: PixelType { .uint32 } }
extension Int32: RasterScalar { public static var gdalType: PixelType { .int32 } }
extension Float: RasterScalar { public static var gdalType: PixelType { .float32 } }
extension Double: RasterScalar { public static var gdalType: PixelType { .float64 } }

/// An RGBA palette entry.
public struct ColorEntry: Sendable, Hashable {
    /// Red, green, blue, alpha (0...255).
    public var red, green, blue, alpha: UInt8
    /// Creates an entry; alpha defaults to opaque.
    public init(red: UInt8, green: UInt8, blue: UInt8, alpha: UInt8 = 255) {
        self.red = red
        self.green = green
        self.blue = blue
        self.alpha = alpha
    }
}

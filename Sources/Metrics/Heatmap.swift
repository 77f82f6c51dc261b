import Foundation

/// A confusion-matrix heatmap as a self-contained SVG: rows truth, columns prediction, cells shaded by their
/// row-normalised value with the percentage written in, labels on both axes (the paper's Tables 7–9 as a picture).
public struct Heatmap: Sendable {
    /// The title.
    public var title: String
    /// Row and column labels (class codes or short names).
    public var labels: [String]
    /// Values in 0…1, `[row][column]`.
    public var values: [[Double]]

    /// A heatmap of `values` (square, one row and column per label).
    public init(title: String, labels: [String], values: [[Double]]) {
        precondition(values.count == labels.count && values.allSatisfy { $0.count == labels.count }, "Square values.")
        self.title = title
        self.labels = labels
        self.values = values
    }

    /// The SVG document.
    public func svg() -> String {
        let n = labels.count
        let cell = n > 20 ? 18.0 : 34.0
        let margin = (left: 70.0, top: 86.0)
        // Wide enough for the title when there are few classes.
        let width = max(margin.left + cell * Double(n) + 20, 20 + 7.5 * Double(title.count))
        let height = margin.top + cell * Double(n) + 40
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="\(n > 20 ? 8 : 11)">
            <rect width="100%" height="100%" fill="white"/>
            <text x="10" y="18" font-size="14" font-weight="bold">\(escapeXML(title))</text>
            <text x="\(margin.left)" y="36">predicted →</text>
            <text transform="translate(14 \(Int(margin.top + 40))) rotate(-90)" text-anchor="end">← truth</text>

            """
        for (index, label) in labels.enumerated() {
            let x = margin.left + (Double(index) + 0.5) * cell
            let y = margin.top + (Double(index) + 0.5) * cell
            svg +=
                "<text transform=\"translate(\(f(x + 3)) \(f(margin.top - 4))) rotate(-60)\">\(escapeXML(label))</text>"
            svg +=
                "<text x=\"\(f(margin.left - 4))\" y=\"\(f(y + 3))\" text-anchor=\"end\">\(escapeXML(label))</text>\n"
        }
        for row in 0..<n {
            for column in 0..<n {
                let value = max(0, min(1, values[row][column]))
                let x = margin.left + Double(column) * cell
                let y = margin.top + Double(row) * cell
                // White → dark blue; the diagonal in green so correct predictions stand out.
                let (r, g, b) =
                    row == column
                    ? (255 - 200 * value, 255 - 90 * value, 255 - 200 * value)
                    : (255 - 225 * value, 255 - 190 * value, 255 - 80 * value)
                svg += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(cell))\" height=\"\(f(cell))\" "
                svg += "fill=\"rgb(\(Int(r)),\(Int(g)),\(Int(b)))\" stroke=\"#eee\"/>"
                if value >= 0.005 && n <= 30 {
                    let text = value >= 0.995 ? "100" : String(format: "%.0f", value * 100)
                    svg += "<text x=\"\(f(x + cell / 2))\" y=\"\(f(y + cell / 2 + 4))\" text-anchor=\"middle\" "
                    svg += "fill=\"\(value > 0.55 ? "white" : "black")\">\(text)</text>"
                }
            }
            svg += "\n"
        }
        return svg + "</svg>\n"
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }
}

import Foundation

/// A scatter plot written as a self-contained SVG, with a logarithmic x axis: class size (images or pixels,
/// spanning orders of magnitude) against a score, as in the paper's size–F1 and size–IoU correlations.
public struct ScatterChart: Sendable {
    /// One point, labelled (a class code).
    public struct Point: Sendable {
        public var x: Double
        public var y: Double
        public var label: String

        /// A point; `x` must be positive to be drawn on the log axis.
        public init(x: Double, y: Double, label: String) {
            self.x = x
            self.y = y
            self.label = label
        }
    }

    /// The title, with the correlation when known.
    public var title: String
    /// Axis labels.
    public var xLabel: String
    public var yLabel: String
    /// The points; those with x ≤ 0 or non-finite values are left out.
    public var points: [Point]
    /// Size in pixels.
    public var width = 640.0
    public var height = 360.0

    /// A chart; y runs over 0…1 (scores).
    public init(title: String, xLabel: String, yLabel: String, points: [Point]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.points = points
    }

    /// The SVG document.
    public func svg() -> String {
        let (left, right, top, bottom) = (60.0, 30.0, 36.0, 44.0)
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let drawn = points.filter { $0.x > 0 && $0.x.isFinite && $0.y.isFinite }
        let logs = drawn.map { log10($0.x) }
        var (low, high) = ((logs.min() ?? 0).rounded(.down), (logs.max() ?? 1).rounded(.up))
        if high <= low { (low, high) = (low - 0.5, high + 0.5) }
        func px(_ x: Double) -> Double { left + (log10(x) - low) / (high - low) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - max(0, min(1, y))) * plotHeight }

        var svg = ChartFrame.open(width: width, height: height, title: title, titleX: left, fontSize: 11)
        for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
            let y = py(tick)
            svg += "<line x1=\"\(left)\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(LineChart.label(tick))</text>\n"
        }
        for power in stride(from: low, through: high, by: 1) {
            let x = left + (power - low) / (high - low) * plotWidth
            svg += "<line x1=\"\(f(x))\" y1=\"\(top)\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\" stroke=\"#ddd\"/>"
            svg += "<text x=\"\(f(x))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">"
            svg += "\(LineChart.label(pow(10, power)))</text>\n"
        }
        svg += ChartFrame.box(
            left: left, top: top, plotWidth: plotWidth, plotHeight: plotHeight, height: height, xLabel: xLabel,
            yLabel: yLabel)
        for point in drawn {
            let (x, y) = (px(point.x), py(point.y))
            svg += "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"4\" fill=\"#4c78a8\" fill-opacity=\"0.8\"/>"
            svg +=
                "<text x=\"\(f(x + 6))\" y=\"\(f(y - 4))\" font-size=\"9\" fill=\"#555\">\(escapeXML(point.label))</text>\n"
        }
        return svg + "</svg>\n"
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }
}

import Foundation

/// A line chart written as a self-contained SVG: series of (x, y) points on shared axes, with ticks and a legend.
/// Used for training curves (loss and F1 per epoch) in run directories and reports.
public struct LineChart: Sendable {
    /// One line.
    public struct Series: Sendable {
        /// The legend text.
        public var name: String
        /// Points in drawing order; non-finite y values leave a gap.
        public var points: [(x: Double, y: Double)]
        /// A CSS colour.
        public var color: String

        /// A series.
        public init(name: String, points: [(x: Double, y: Double)], color: String) {
            self.name = name
            self.points = points
            self.color = color
        }
    }

    /// The title above the plot.
    public var title: String
    /// Axis labels.
    public var xLabel: String
    public var yLabel: String
    /// The lines.
    public var series: [Series]
    /// Size in pixels.
    public var width = 640.0
    public var height = 360.0

    /// A chart.
    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// The SVG document.
    public func svg() -> String {
        let (left, right, top, bottom) = (60.0, 150.0, 36.0, 44.0)
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let points = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        var (xMin, xMax) = (points.map(\.x).min() ?? 0, points.map(\.x).max() ?? 1)
        var (yMin, yMax) = (min(points.map(\.y).min() ?? 0, 0), points.map(\.y).max() ?? 1)
        if xMax <= xMin { (xMin, xMax) = (xMin - 0.5, xMax + 0.5) }
        if yMax <= yMin { yMax = yMin + 1 }
        let yTicks = Self.ticks(from: yMin, to: yMax)
        yMax = max(yMax, yTicks.last ?? yMax)
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - (y - yMin) / (yMax - yMin)) * plotHeight }

        var svg = ChartFrame.open(width: width, height: height, title: title, titleX: left, fontSize: 12)
        for tick in yTicks {
            let y = py(tick)
            svg += "<line x1=\"\(left)\" y1=\"\(f(y))\" x2=\"\(left + plotWidth)\" y2=\"\(f(y))\" stroke=\"#ddd\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(Self.label(tick))</text>\n"
        }
        for tick in Self.ticks(from: xMin, to: xMax, integers: true) {
            let x = px(tick)
            svg +=
                "<line x1=\"\(f(x))\" y1=\"\(top + plotHeight)\" x2=\"\(f(x))\" y2=\"\(top + plotHeight + 4)\" stroke=\"#333\"/>"
            svg +=
                "<text x=\"\(f(x))\" y=\"\(f(top + plotHeight + 18))\" text-anchor=\"middle\">\(Self.label(tick))</text>\n"
        }
        svg += ChartFrame.box(
            left: left, top: top, plotWidth: plotWidth, plotHeight: plotHeight, height: height, xLabel: xLabel,
            yLabel: yLabel)
        for (number, line) in series.enumerated() {
            var path = ""
            var pen = false
            for point in line.points {
                guard point.x.isFinite && point.y.isFinite else {
                    pen = false
                    continue
                }
                path += "\(pen ? "L" : "M")\(f(px(point.x))) \(f(py(point.y))) "
                pen = true
            }
            svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\"/>\n"
            for point in line.points where point.x.isFinite && point.y.isFinite {
                svg += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"3\" fill=\"\(line.color)\"/>"
            }
            let legendY = top + 12 + Double(number) * 18
            svg +=
                "\n<line x1=\"\(f(left + plotWidth + 12))\" y1=\"\(f(legendY - 4))\" x2=\"\(f(left + plotWidth + 32))\" "
            svg += "y2=\"\(f(legendY - 4))\" stroke=\"\(line.color)\" stroke-width=\"2\"/>"
            svg += "<text x=\"\(f(left + plotWidth + 38))\" y=\"\(f(legendY))\">\(escapeXML(line.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// About five round tick values covering [low, high].
    static func ticks(from low: Double, to high: Double, integers: Bool = false) -> [Double] {
        let span = high - low
        guard span > 0, span.isFinite else { return [low] }
        let raw = span / 5
        let magnitude = pow(10, floor(log10(raw)))
        var step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        if integers { step = max(1, step.rounded(.up)) }
        let first = (low / step).rounded(.up) * step
        return stride(from: first, through: high + step * 1e-9, by: step).map { $0 }
    }

    static func label(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e6 { return String(Int(value)) }
        return String(format: "%.3g", value)
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// The parts the charts share: the opening `<svg>` with its white background and title, and the plot frame with
/// its axis labels.
enum ChartFrame {
    /// The opening of a chart's SVG document.
    static func open(width: Double, height: Double, title: String, titleX: Double, fontSize: Int) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
        viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="\(fontSize)">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(titleX)" y="20" font-size="14" font-weight="bold">\(escapeXML(title))</text>

        """
    }

    /// The frame around the plot area, the x label under it and the y label turned along its left side.
    static func box(
        left: Double, top: Double, plotWidth: Double, plotHeight: Double, height: Double, xLabel: String,
        yLabel: String
    ) -> String {
        func f(_ value: Double) -> String { String(format: "%.1f", value) }
        return "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" "
            + "fill=\"none\" stroke=\"#333\"/>\n"
            + "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">"
            + "\(escapeXML(xLabel))</text>\n"
            + "<text transform=\"translate(16 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">"
            + "\(escapeXML(yLabel))</text>\n"
    }
}

/// `text` with XML's special characters escaped.
public func escapeXML(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

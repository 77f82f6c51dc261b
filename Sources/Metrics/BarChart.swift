import Foundation

/// A horizontal bar chart written as a self-contained SVG: one labelled bar per item on a shared 0…`maximum`
/// axis, the value written beside each bar. Used for per-class F1 and IoU in reports.
public struct BarChart: Sendable {
    /// One bar.
    public struct Bar: Sendable {
        /// The label left of the bar (a class code and name).
        public var label: String
        /// The length; nil draws no bar and writes "–" (a class without a score).
        public var value: Double?

        /// A bar.
        public init(label: String, value: Double?) {
            self.label = label
            self.value = value
        }
    }

    /// The title above the bars.
    public var title: String
    /// The axis label under the bars.
    public var valueLabel: String
    /// The bars, top to bottom.
    public var bars: [Bar]
    /// The value of a full-length bar.
    public var maximum = 1.0
    /// A CSS colour.
    public var color = "#4c78a8"
    /// Width in pixels; the height follows from the number of bars.
    public var width = 640.0

    /// A chart of `bars` on 0…1.
    public init(title: String, valueLabel: String, bars: [Bar]) {
        self.title = title
        self.valueLabel = valueLabel
        self.bars = bars
    }

    /// The SVG document.
    public func svg() -> String {
        let (left, right, top, bottom) = (230.0, 50.0, 36.0, 40.0)
        let row = 18.0
        let plotWidth = width - left - right
        let plotHeight = row * Double(max(bars.count, 1))
        let height = top + plotHeight + bottom
        func px(_ value: Double) -> Double { left + max(0, min(value, maximum)) / maximum * plotWidth }

        var svg = ChartFrame.open(width: width, height: height, title: title, titleX: 10, fontSize: 11)
        for tick in LineChart.ticks(from: 0, to: maximum) {
            let x = px(tick)
            svg += "<line x1=\"\(f(x))\" y1=\"\(top)\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\" stroke=\"#ddd\"/>"
            svg +=
                "<text x=\"\(f(x))\" y=\"\(f(top + plotHeight + 14))\" text-anchor=\"middle\">\(LineChart.label(tick))</text>\n"
        }
        for (number, bar) in bars.enumerated() {
            let y = top + Double(number) * row
            svg +=
                "<text x=\"\(f(left - 6))\" y=\"\(f(y + row - 5))\" text-anchor=\"end\">\(escapeXML(Self.shortened(bar.label)))</text>"
            if let value = bar.value, value.isFinite {
                svg +=
                    "<rect x=\"\(left)\" y=\"\(f(y + 2))\" width=\"\(f(px(value) - left))\" height=\"\(f(row - 4))\" "
                svg += "fill=\"\(color)\"/>"
                svg +=
                    "<text x=\"\(f(px(value) + 4))\" y=\"\(f(y + row - 5))\">\(String(format: "%.2f", value))</text>\n"
            } else {
                svg += "<text x=\"\(f(left + 4))\" y=\"\(f(y + row - 5))\" fill=\"#888\">–</text>\n"
            }
        }
        svg +=
            "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(f(top + plotHeight))\" stroke=\"#333\"/>\n"
        svg +=
            "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">\(escapeXML(valueLabel))</text>\n"
        return svg + "</svg>\n"
    }

    /// Labels longer than 36 characters end in "…" so the bars keep their room.
    static func shortened(_ label: String) -> String {
        label.count > 36 ? String(label.prefix(35)) + "…" : label
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }
}

import Foundation
import GeoRaster
import LandCoverData
import Metrics
import Reports
import Testing
import TestSupport

@Suite struct ChartTests {
    /// Bars are proportional to their value on 0…maximum, labels are escaped, a missing score draws no bar.
    @Test func barChartScalesAndEscapes() throws {
        let chart = BarChart(
            title: "IoU <level 3>", valueLabel: "IoU",
            bars: [
                .init(label: "311 Forest & <woods>", value: 1), .init(label: "112 Urban", value: 0.25),
                .init(label: "512 Water", value: nil),
            ])
        let svg = chart.svg()
        #expect(svg.contains("IoU &lt;level 3&gt;"))
        #expect(svg.contains("311 Forest &amp; &lt;woods&gt;"))
        #expect(!svg.contains("<woods>"))
        let widths = svg.components(separatedBy: "<rect x=\"230.0\"").dropFirst().compactMap { part -> Double? in
            guard let range = part.range(of: "width=\"") else { return nil }
            return Double(part[range.upperBound...].prefix { $0 != "\"" })
        }
        #expect(widths.count == 2, "one bar per scored class")
        expectClose(widths[1] / widths[0], 0.25, rtol: 1e-3)
        #expect(svg.contains(">–</text>"))
    }

    /// Points with a non-positive size are left out of the log axis; the others are drawn and labelled.
    @Test func scatterLeavesOutWhatALogAxisCannotShow() {
        let chart = ScatterChart(
            title: "size vs F1", xLabel: "images", yLabel: "F1",
            points: [
                .init(x: 10, y: 0.5, label: "211"), .init(x: 1000, y: 0.9, label: "311"),
                .init(x: 0, y: 0.1, label: "999"),
            ])
        let svg = chart.svg()
        #expect(svg.components(separatedBy: "<circle").count - 1 == 2)
        #expect(svg.contains(">311</text>") && !svg.contains(">999</text>"))
    }
}

@Suite struct RunReportTests {
    static func statistics() -> [LabelStatistics] {
        [LabelStatistics(nomenclature: "corine-l1", classCount: 5, labelSets: [[1, 2], [2], [2, 3, 4]])]
    }

    /// A folder of unrelated files, and a missing folder, are refused in one line.
    @Test func aFolderWithoutOutputsIsRefused() throws {
        let directory = TemporaryDirectory()
        try "hello".write(to: directory.url.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let error = #expect(throws: ReportError.self) { try RunReport.build(from: directory.url) }
        #expect(error?.description.contains("not a landcover output directory") == true)
        #expect(error?.description.contains("\n") == false)
        let missing = #expect(throws: ReportError.self) {
            try RunReport.build(from: directory.url.appendingPathComponent("absent"))
        }
        #expect(missing?.description.hasSuffix("absent: no such directory") == true)
    }

    /// Only statistics and a manifest: the report has exactly those sections, is self-contained, escapes text,
    /// and is written as HTML, Markdown and an image folder without temporary files left behind.
    @Test func missingOutputsLeaveTheirSectionsOut() throws {
        let directory = TemporaryDirectory()
        let encoder = JSONEncoder()
        try encoder.encode(Self.statistics()).write(to: directory.url.appendingPathComponent("stats.json"))
        var manifest = RunManifest(
            name: "<tiny & run>", spec: "spec.yaml", landcoverVersion: "0.1.0", gdalVersion: "3.6.2",
            inputs: ["a.tif": .init(checksum: "ab12", bytes: 10)], stageSeconds: ["chip": 1.5, "stats": 0.1],
            skipped: ["chip"], peakMemoryMB: 100)
        manifest.product = directory.path("missing.SAFE")
        try encoder.encode(manifest).write(to: directory.url.appendingPathComponent("run.json"))

        let document = try RunReport.build(from: directory.url)
        #expect(document.sections.map(\.title) == ["Summary", "Chips (Table 2)", "Run manifest"])
        let html = try String(contentsOf: RunReport.write(from: directory.url), encoding: .utf8)
        #expect(html.contains("&lt;tiny &amp; run&gt;") && !html.contains("<tiny"))
        for external in ["src=\"http", "href=\"http", "<link", "url(", "<script"] {
            #expect(!html.contains(external), "\(external)")
        }
        let markdown = try String(contentsOf: directory.url.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("| corine-l1 | 3 | 2.00 | 0.500 | 4 |"))
        #expect(markdown.contains("&lt;tiny & run&gt;"))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.url.path).sorted()
        #expect(names == ["report-images", "report.html", "report.md", "run.json", "stats.json"], "\(names)")
    }

    /// Figures land in the Markdown's image folder under their names and are referenced from report.md.
    @Test func markdownReferencesItsImages() throws {
        let directory = TemporaryDirectory()
        let png = try PNGImage.encode(planes: [[0, 255, 128, 64]], width: 2, height: 2)
        let document = ReportDocument(
            title: "t", subtitle: "s",
            sections: [
                ReportSection(
                    title: "A", anchor: "a",
                    blocks: [
                        .figures([
                            ReportFigure(name: "dot", caption: "a [dot]", image: .png(png)),
                            ReportFigure(
                                name: "plot", caption: "plot",
                                image: .svg(BarChart(title: "b", valueLabel: "v", bars: []).svg())),
                        ])
                    ])
            ])
        try document.write(to: directory.url)
        let markdown = try String(contentsOf: directory.url.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("![a (dot)](report-images/dot.png)"))
        #expect(markdown.contains("![plot](report-images/plot.svg)"))
        let written = try Data(contentsOf: directory.url.appendingPathComponent("report-images/dot.png"))
        #expect(written == png)
        let html = document.html()
        #expect(html.contains("data:image/png;base64,\(png.base64EncodedString())"))
    }
}

/// The rendering check itself, on pages built to pass and to fail: a working image, a broken one, a blank page.
@Suite(.serialized) struct BrowserCheckTests {
    static func page(image: Data, in directory: TemporaryDirectory) throws -> URL {
        let document = ReportDocument(
            title: "Browser check", subtitle: "one image",
            sections: [
                ReportSection(
                    title: "Image", anchor: "image",
                    blocks: [
                        .figures([ReportFigure(name: "image", caption: "image", image: .png(image), displayWidth: 200)])
                    ])
            ])
        return try document.write(to: directory.url)
    }

    static func noise(side: Int) throws -> Data {
        var generator = SeededGenerator(seed: 7)
        let plane = (0..<side * side).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return try PNGImage.encode(planes: [plane, plane, plane], width: side, height: side)
    }

    @Test(.enabled(if: Browser.shouldRun, "LANDCOVER_SKIP_BROWSER=1"))
    func aGoodImageRendersAndABrokenOneIsCaught() throws {
        try #require(Browser.executable != nil, "\(Browser.missing)")
        let directory = TemporaryDirectory()
        let good = try Browser.render(
            Self.page(image: Self.noise(side: 64), in: directory),
            screenshot: directory.url.appendingPathComponent("good.png"),
            width: 600, height: 400)
        #expect(good.images == 1 && good.brokenImages == 0)
        #expect(!good.isBlank, "variance \(good.variance)")
        #expect(good.width == 600 && good.height == 400)

        // The PNG signature and header, cut short: the browser cannot decode it.
        let broken = try Self.noise(side: 64).prefix(40)
        let bad = try Browser.render(
            Self.page(image: broken, in: directory), screenshot: directory.url.appendingPathComponent("bad.png"),
            width: 600, height: 400)
        #expect(bad.images == 1 && bad.brokenImages == 1)
    }

    @Test(.enabled(if: Browser.shouldRun, "LANDCOVER_SKIP_BROWSER=1"))
    func aBlankPageIsCaught() throws {
        try #require(Browser.executable != nil, "\(Browser.missing)")
        let directory = TemporaryDirectory()
        let page = directory.url.appendingPathComponent("blank.html")
        try "<!DOCTYPE html><html><body></body></html>".write(to: page, atomically: true, encoding: .utf8)
        let rendering = try Browser.render(
            page, screenshot: directory.url.appendingPathComponent("blank.png"), width: 400, height: 300)
        #expect(rendering.isBlank, "variance \(rendering.variance)")
        #expect(rendering.images == 0)
    }
}

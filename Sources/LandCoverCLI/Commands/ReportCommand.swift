import ArgumentParser
import Foundation
import Reports

/// `landcover report`: one self-contained HTML file (and Markdown) from a run's outputs.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an HTML and Markdown report of a run's (or a command's) outputs.",
        discussion: """
            Reads what it finds in <directory> (three folders deep): run.json, stats.json, training.json, \
            evaluation.json, noise.json, change summaries and land-cover maps, as `landcover run` and the single \
            commands write them. Writes <out>/report.html (self-contained: CSS, SVG plots and PNG previews inline), \
            <out>/report.md and its images in <out>/report-images/. A section whose outputs are missing is left out.
            """)

    @Argument(help: "The output directory of `landcover run` (e.g. out/sample) or of a single command.")
    var directory: String

    @Option(help: "Where to write the report (default: <directory>).")
    var out: String?

    @Option(help: "Sentinel-2 product for the input preview (default: the one run.json names).")
    var safe: String?

    @Option(help: "CORINE layer for the reference preview (default: the one run.json names).")
    var corine: String?

    @Option(help: "Longest side of the map previews in pixels.")
    var previewSize: Int = 480

    func validate() throws {
        guard (64...4096).contains(previewSize) else { throw ValidationError("--preview-size must be 64…4096.") }
        for path in [safe, corine].compactMap({ $0 }) where !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("\(path): no such file or directory.")
        }
    }

    func run() throws {
        var options = RunReport.Options()
        options.product = safe
        options.corine = corine
        options.previewSize = previewSize
        let html = try RunReport.write(
            from: URL(fileURLWithPath: directory), to: out.map { URL(fileURLWithPath: $0) }, options: options)
        print(html.path)
    }
}

import Foundation
import GeoRaster

/// Renders HTML pages in headless Chromium (Debian package `chromium`): a PNG screenshot, and the DOM after a
/// small script has marked how many `<img>` elements decoded. Runs as root, hence `--no-sandbox`.
public enum Browser {
    /// How a page rendered.
    public struct Rendering: Sendable {
        /// `<img>` elements, and those that did not decode (naturalWidth 0).
        public var images: Int
        public var brokenImages: Int
        /// Variance of the screenshot's grey values (0 for a blank page).
        public var variance: Double
        /// Screenshot size.
        public var width: Int
        public var height: Int

        /// A page with next to no contrast: below this variance it is blank.
        public static let blankVariance = 1.0
        public var isBlank: Bool { variance < Self.blankVariance }
    }

    /// Whether the browser tests should run: always, unless `LANDCOVER_SKIP_BROWSER=1` (then they skip, saying why).
    public static var shouldRun: Bool { ProcessInfo.processInfo.environment["LANDCOVER_SKIP_BROWSER"] != "1" }

    /// The Chromium binary on PATH, if installed.
    public static var executable: URL? {
        ["chromium", "chromium-browser", "google-chrome"].lazy.compactMap { Executables.onPath($0) }.first
    }

    /// Why a browser test cannot run here.
    public static let missing =
        "chromium is not installed (apt-get install chromium, or `make deps`); set LANDCOVER_SKIP_BROWSER=1 to skip"

    /// The script added before `</body>` of a copy of the page: after `load`, the body's `data-images` attribute
    /// says "<images> <broken>".
    static let imageCheck = """
        <script>addEventListener("load", () => { const images = Array.from(document.images); \
        const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).length; \
        document.body.setAttribute("data-images", images.length + " " + broken); });</script>
        """

    /// Renders `page` (an HTML file) at `width` × `height` CSS pixels: a screenshot written to `screenshot` (read
    /// back with GDAL) and the image check. Throws when Chromium is missing or fails.
    public static func render(_ page: URL, screenshot: URL, width: Int = 1280, height: Int = 2400) throws
        -> Rendering
    {
        guard let chromium = executable else { throw BrowserError(missing) }
        let work = TemporaryDirectory("landcover-browser")
        let html = try String(contentsOf: page, encoding: .utf8)
        guard let end = html.range(of: "</body>", options: .backwards) else {
            throw BrowserError("\(page.path): no </body>")
        }
        // The checked copy sits beside the original so relative references resolve the same way.
        let checked = page.deletingLastPathComponent().appendingPathComponent(".checked-\(UUID().uuidString).html")
        try html.replacingCharacters(in: end, with: imageCheck + "</body>").write(
            to: checked, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: checked) }
        let common = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--no-first-run",
            "--user-data-dir=\(work.path("profile"))", "--window-size=\(width),\(height)",
            "--virtual-time-budget=10000",
        ]
        let dom = try run(chromium, common + ["--dump-dom", checked.absoluteString], log: work.url)
        try run(chromium, common + ["--screenshot=\(screenshot.path)", page.absoluteString], log: work.url)
        guard let marker = dom.range(of: "data-images=\"") else {
            throw BrowserError("\(page.path): the image check did not run (no data-images in the DOM)")
        }
        let counts = dom[marker.upperBound...].prefix { $0 != "\"" }.split(separator: " ").compactMap { Int($0) }
        guard counts.count == 2 else { throw BrowserError("\(page.path): unreadable image check") }
        let (variance, size) = try greyVariance(screenshot)
        return Rendering(
            images: counts[0], brokenImages: counts[1], variance: variance, width: size.width, height: size.height)
    }

    /// The variance of (R + G + B) / 3 over a PNG's pixels, and its size.
    public static func greyVariance(_ png: URL) throws -> (Double, (width: Int, height: Int)) {
        let dataset = try Dataset.open(png.path)
        let window = PixelWindow(column: 0, row: 0, width: dataset.width, height: dataset.height)
        let bands = try (1...min(3, dataset.bandCount)).map { try dataset.band($0).read(window, as: UInt8.self) }
        var sum = 0.0
        var squares = 0.0
        for pixel in 0..<window.pixelCount {
            let grey = bands.reduce(0.0) { $0 + Double($1[pixel]) } / Double(bands.count)
            sum += grey
            squares += grey * grey
        }
        let count = Double(max(window.pixelCount, 1))
        let mean = sum / count
        return (squares / count - mean * mean, (dataset.width, dataset.height))
    }

    /// Runs Chromium, its standard error into a file (it is chatty), killed after two minutes; returns standard
    /// output.
    @discardableResult
    static func run(_ chromium: URL, _ arguments: [String], log: URL) throws -> String {
        let process = Process()
        process.executableURL = chromium
        process.arguments = arguments
        let output = Pipe()
        let errorFile = log.appendingPathComponent("chromium-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        guard process.terminationStatus == 0 else {
            let error = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
            throw BrowserError(
                "chromium exited with \(process.terminationStatus): \(error.split(separator: "\n").suffix(3).joined(separator: " / "))"
            )
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A browser test problem in one line.
public struct BrowserError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

import Foundation
import Metrics

#if canImport(Glibc)
    import Glibc
#endif

extension ReportDocument {
    /// The report as one self-contained HTML page: CSS in a `<style>` element, SVG plots inline, PNG images as
    /// `data:` URIs; nothing is fetched from elsewhere.
    public func html() -> String {
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escapeXML(title))</title>
            <style>\(Self.styleSheet)</style>
            </head>
            <body>
            <header><h1>\(escapeXML(title))</h1><p class="subtitle">\(escapeXML(subtitle))</p>
            <nav>\(sections.map { "<a href=\"#\(escapeXML($0.anchor))\">\(escapeXML($0.title))</a>" }.joined(separator: " · "))</nav>
            </header>

            """
        for section in sections {
            page += "<section id=\"\(escapeXML(section.anchor))\">\n<h2>\(escapeXML(section.title))</h2>\n"
            for block in section.blocks { page += Self.html(block) }
            page += "</section>\n"
        }
        return page + "</body>\n</html>\n"
    }

    private static func html(_ block: ReportBlock) -> String {
        switch block {
        case .heading(let text):
            return "<h3>\(escapeXML(text))</h3>\n"
        case .paragraph(let text):
            return "<p>\(escapeXML(text))</p>\n"
        case .facts(let facts):
            let items = facts.map { "<dt>\(escapeXML($0.term))</dt><dd>\(escapeXML($0.value))</dd>" }
            return "<dl>\(items.joined())</dl>\n"
        case .table(let table):
            func cells(_ row: [String], tag: String) -> String {
                row.enumerated().map { column, text in
                    let align = table.numeric.contains(column) ? " class=\"number\"" : ""
                    return "<\(tag)\(align)>\(escapeXML(text))</\(tag)>"
                }.joined()
            }
            var html = "<table><thead><tr>\(cells(table.header, tag: "th"))</tr></thead><tbody>\n"
            for row in table.rows { html += "<tr>\(cells(row, tag: "td"))</tr>\n" }
            return html + "</tbody></table>\n"
        case .figures(let figures):
            var html = "<div class=\"figures\">\n"
            for figure in figures {
                // A caption wraps at its image's width rather than widening the figure.
                html += figure.displayWidth.map { "<figure style=\"width:\($0)px\">" } ?? "<figure>"
                switch figure.image {
                case .svg(let svg):
                    html += svg.trimmingCharacters(in: .whitespacesAndNewlines)
                case .png(let data):
                    let width = figure.displayWidth.map { " width=\"\($0)\"" } ?? ""
                    html += "<img src=\"data:image/png;base64,\(data.base64EncodedString())\"\(width) "
                    html += "alt=\"\(escapeXML(figure.caption))\">"
                }
                html += "<figcaption>\(escapeXML(figure.caption))</figcaption></figure>\n"
            }
            return html + "</div>\n"
        }
    }

    private static let styleSheet = """
        body{font-family:sans-serif;margin:0 auto;max-width:1320px;padding:0 24px 48px;color:#222;background:#fff}\
        header{border-bottom:2px solid #4c78a8;margin-bottom:12px}h1{margin:20px 0 4px}\
        .subtitle{color:#555;margin:0 0 8px}nav{margin:0 0 12px;font-size:14px}nav a{color:#4c78a8}\
        h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:36px}h3{margin:24px 0 8px}\
        table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}\
        th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\
        th{background:#f3f5f8}td.number,th.number{text-align:right;font-variant-numeric:tabular-nums}\
        dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px;font-size:14px}dt{font-weight:bold}dd{margin:0}\
        .figures{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}\
        figure{margin:0;max-width:100%}figure svg,figure img{display:block;max-width:100%;height:auto;border:1px solid #eee}\
        figure img{image-rendering:pixelated}figcaption{font-size:12px;color:#555;max-width:420px;margin-top:4px;overflow-wrap:anywhere}
        """

    /// The report as Markdown; images are referenced as `<imageFolder>/<figure file name>` and must be written
    /// there (`write(to:name:)` does).
    public func markdown(imageFolder: String) -> String {
        // Angle brackets would read as HTML tags, and a pipe would end a table cell.
        func text(_ raw: String) -> String {
            raw.replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var lines = ["# \(text(title))", "", text(subtitle), ""]
        for section in sections {
            lines += ["## \(text(section.title))", ""]
            for block in section.blocks {
                switch block {
                case .heading(let heading):
                    lines += ["### \(text(heading))", ""]
                case .paragraph(let paragraph):
                    lines += [text(paragraph), ""]
                case .facts(let facts):
                    lines += facts.map { "- **\(text($0.term))**: \(text($0.value))" } + [""]
                case .table(let table):
                    func row(_ cells: [String]) -> String {
                        "| "
                            + cells.map { text($0).replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ")
                            + " |"
                    }
                    lines.append(row(table.header))
                    lines.append(
                        "|" + table.header.indices.map { table.numeric.contains($0) ? "---:|" : "---|" }.joined())
                    lines += table.rows.map(row) + [""]
                case .figures(let figures):
                    for figure in figures {
                        let caption = text(figure.caption)
                        let alt = caption.replacingOccurrences(of: "]", with: ")").replacingOccurrences(
                            of: "[", with: "(")
                        lines += ["![\(alt)](\(imageFolder)/\(figure.fileName))", "", "*\(caption)*", ""]
                    }
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Writes `<name>.html`, `<name>.md` and the Markdown's images in `<name>-images/` into `directory`; each
    /// under a temporary name first, then renamed into place. Returns the HTML file.
    @discardableResult
    public func write(to directory: URL, name: String = "report") throws -> URL {
        let files = FileManager.default
        try files.createDirectory(at: directory, withIntermediateDirectories: true)
        let names = figures.map(\.fileName)
        precondition(Set(names).count == names.count, "Figure names are unique within a report.")

        let imageFolder = "\(name)-images"
        let images = directory.appendingPathComponent(imageFolder)
        let partialImages = directory.appendingPathComponent(".\(imageFolder).partial")
        try? files.removeItem(at: partialImages)
        try files.createDirectory(at: partialImages, withIntermediateDirectories: true)
        for figure in figures {
            let data: Data
            switch figure.image {
            case .svg(let svg): data = Data(svg.utf8)
            case .png(let png): data = png
            }
            try data.write(to: partialImages.appendingPathComponent(figure.fileName))
        }
        try? files.removeItem(at: images)
        try Self.rename(partialImages, to: images)

        let markdownFile = directory.appendingPathComponent("\(name).md")
        try Self.writeAtomically(Data(markdown(imageFolder: imageFolder).utf8), to: markdownFile)
        let htmlFile = directory.appendingPathComponent("\(name).html")
        try Self.writeAtomically(Data(html().utf8), to: htmlFile)
        return htmlFile
    }

    private static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        try data.write(to: temporary)
        try rename(temporary, to: url)
    }

    private static func rename(_ from: URL, to: URL) throws {
        guard Glibc.rename(from.path, to.path) == 0 else {
            throw ReportError("\(to.path): cannot rename into place: \(String(cString: strerror(errno)))")
        }
    }
}

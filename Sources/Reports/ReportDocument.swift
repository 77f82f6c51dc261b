import Foundation

/// A report as a list of sections of plain blocks, rendered twice: as one self-contained HTML file
/// (`html()`) and as Markdown with its images in a folder (`markdown(imageFolder:)`). Text is stored
/// unescaped; each renderer escapes it for its format.
public struct ReportDocument: Sendable {
    /// The title (`<h1>`).
    public var title: String
    /// A line under the title.
    public var subtitle: String
    /// The sections, in order.
    public var sections: [ReportSection]

    /// A document.
    public init(title: String, subtitle: String, sections: [ReportSection]) {
        self.title = title
        self.subtitle = subtitle
        self.sections = sections
    }

    /// Every figure of the document, in order.
    public var figures: [ReportFigure] {
        sections.flatMap(\.blocks).flatMap { block -> [ReportFigure] in
            if case .figures(let figures) = block { return figures }
            return []
        }
    }
}

/// A titled part of a report.
public struct ReportSection: Sendable {
    /// The heading (`<h2>`).
    public var title: String
    /// The HTML anchor (`#classifier`).
    public var anchor: String
    /// The content.
    public var blocks: [ReportBlock]

    /// A section.
    public init(title: String, anchor: String, blocks: [ReportBlock]) {
        self.title = title
        self.anchor = anchor
        self.blocks = blocks
    }
}

/// One block of a section.
public enum ReportBlock: Sendable {
    /// A sub-heading (`<h3>`).
    case heading(String)
    /// A paragraph of plain text.
    case paragraph(String)
    /// Term–value pairs (a definition list; a bullet list in Markdown).
    case facts([ReportFact])
    /// A table.
    case table(ReportTable)
    /// Figures side by side (they wrap on a narrow page).
    case figures([ReportFigure])
}

/// A term and its value.
public struct ReportFact: Sendable, Equatable {
    public var term: String
    public var value: String

    /// A fact.
    public init(_ term: String, _ value: String) {
        self.term = term
        self.value = value
    }
}

/// A table of text cells; columns listed in `numeric` are right-aligned.
public struct ReportTable: Sendable, Equatable {
    public var header: [String]
    public var rows: [[String]]
    public var numeric: Set<Int>

    /// A table; every row has as many cells as the header.
    public init(header: [String], rows: [[String]], numeric: Set<Int> = []) {
        precondition(rows.allSatisfy { $0.count == header.count }, "Every row has one cell per column.")
        self.header = header
        self.rows = rows
        self.numeric = numeric
    }
}

/// An image with a caption: an SVG document (inlined in HTML) or PNG bytes (a `data:` URI in HTML).
public struct ReportFigure: Sendable {
    /// The image.
    public enum Image: Sendable {
        case svg(String)
        case png(Data)
    }

    /// The file name stem in the Markdown image folder (unique within a report).
    public var name: String
    /// The caption.
    public var caption: String
    public var image: Image
    /// Width to show a PNG at in HTML (CSS pixels); nil for its own width.
    public var displayWidth: Int?

    /// A figure.
    public init(name: String, caption: String, image: Image, displayWidth: Int? = nil) {
        self.name = name
        self.caption = caption
        self.image = image
        self.displayWidth = displayWidth
    }

    /// The file name in the Markdown image folder.
    public var fileName: String {
        switch image {
        case .svg: return "\(name).svg"
        case .png: return "\(name).png"
        }
    }
}

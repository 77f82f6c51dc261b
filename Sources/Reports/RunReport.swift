import Foundation
import GeoRaster
import LandCoverData
import Mapping
import Metrics
import Training

/// The report of a run (or of a single command's output): the paper's tables, plots, map previews, the
/// label-noise gallery, the map's agreement with CORINE and the run manifest, each section present only when
/// its outputs are.
public enum RunReport {
    /// Settings of a report.
    public struct Options: Sendable {
        /// The Sentinel-2 product and CORINE layer for the previews; nil: the ones `run.json` names.
        public var product: String?
        public var corine: String?
        /// Longest side of a map preview in pixels.
        public var previewSize = 480
        /// The title; nil: "landcover report: <run name or folder>".
        public var title: String?

        /// Default options.
        public init() {}
    }

    /// Builds the document from the outputs found under `directory` (see `RunOutputs`).
    public static func build(from directory: URL, options: Options = Options()) throws -> ReportDocument {
        let outputs = try RunOutputs(directory: directory)
        let name = outputs.manifest?.name ?? directory.lastPathComponent
        var sections: [ReportSection] = []
        sections.append(summary(outputs))
        if let previews = try previews(outputs, options: options) { sections.append(previews) }
        if let statistics = outputs.statistics { sections.append(dataSection(statistics)) }
        if let classifier = classifierSection(outputs) { sections.append(classifier) }
        if let segmenter = segmenterSection(outputs) { sections.append(segmenter) }
        if let noise = outputs.noise { sections.append(try noiseSection(noise.directory, noise.review)) }
        if let change = outputs.change { sections.append(changeSection(change.summary)) }
        if let manifest = outputs.manifest { sections.append(manifestSection(manifest)) }
        return ReportDocument(
            title: options.title ?? "landcover report: \(name)",
            subtitle: "Made by landcover \(LandCover.version) from \(directory.path)", sections: sections)
    }

    /// Builds the report of `directory` and writes it there (`report.html`, `report.md`, `report-images/`);
    /// returns the HTML file.
    @discardableResult
    public static func write(from directory: URL, to output: URL? = nil, options: Options = Options()) throws -> URL {
        try build(from: directory, options: options).write(to: output ?? directory)
    }

    // MARK: - Sections

    static func summary(_ outputs: RunOutputs) -> ReportSection {
        var facts: [ReportFact] = []
        if let manifest = outputs.manifest {
            facts.append(ReportFact("Run", "\(manifest.name) (\(manifest.spec))"))
            if let started = manifest.started { facts.append(ReportFact("Started", started)) }
            if let product = manifest.product { facts.append(ReportFact("Sentinel-2 product", product)) }
            if let corine = manifest.corine { facts.append(ReportFact("CORINE", corine)) }
        }
        for (_, report) in outputs.classifierEvaluations {
            facts.append(
                ReportFact(
                    "Classifier (\(report.nomenclature), \(report.split))",
                    String(
                        format: "F1 (samples) %.3f, exact match %.1f %%", report.overall.f1Samples,
                        report.overall.exactMatchRatio * 100)))
        }
        for (_, report) in outputs.segmenterEvaluations {
            for level in report.levels {
                facts.append(
                    ReportFact(
                        "Segmenter (\(level.nomenclature), \(report.split))",
                        String(
                            format: "pixel accuracy %.1f %%, mean IoU %.3f", level.pixelAccuracy * 100, level.meanIoU)
                    ))
            }
        }
        if let change = outputs.change?.summary {
            facts.append(
                ReportFact(
                    change.kind == .agreement ? "Map agrees with CORINE" : "Unchanged",
                    String(format: "%.1f %% of %.0f ha", change.agreementShare * 100, change.comparedHectares)))
        }
        if let map = outputs.map { facts.append(ReportFact("Map", map.path)) }
        if facts.isEmpty { facts.append(ReportFact("Outputs", outputs.directory.path)) }
        return ReportSection(title: "Summary", anchor: "summary", blocks: [.facts(facts)])
    }

    static func previews(_ outputs: RunOutputs, options: Options) throws -> ReportSection? {
        let product = (options.product ?? outputs.manifest?.product).flatMap(existing)
        let corine = (options.corine ?? outputs.manifest?.corine).flatMap(existing)
        guard outputs.map != nil || product != nil else { return nil }
        let previews = try MapPreviews(
            product: product, corine: corine, map: outputs.map, change: outputs.change?.raster,
            size: options.previewSize)
        guard !previews.figures.isEmpty else { return nil }
        var blocks: [ReportBlock] = [
            .paragraph(
                "Previews at \(previews.grid.width) × \(previews.grid.height) pixels "
                    + String(format: "(%.0f m each)", abs(previews.grid.geoTransform.pixelWidth))
                    + "; white is no data. Open the GeoTIFFs in QGIS for full resolution."),
            .figures(previews.figures),
        ]
        if let legend = previews.legend { blocks.append(.figures([legend])) }
        return ReportSection(title: "Maps", anchor: "maps", blocks: blocks)
    }

    static func dataSection(_ statistics: [LabelStatistics]) -> ReportSection {
        ReportSection(
            title: "Chips (Table 2)", anchor: "data",
            blocks: [
                .paragraph(
                    "Cardinality and density of the chips' label sets at each CORINE level (the paper's Table 2)."),
                .table(table2(statistics)),
            ])
    }

    static func table2(_ statistics: [LabelStatistics]) -> ReportTable {
        ReportTable(
            header: ["Nomenclature", "Images", "Cardinality", "Density", "Labels present"],
            rows: statistics.map {
                [
                    $0.nomenclature, "\($0.imageCount)", String(format: "%.2f", $0.cardinality),
                    String(format: "%.3f", $0.density), "\($0.labelsPresent)",
                ]
            }, numeric: [1, 2, 3, 4])
    }

    static func trainingCurves(_ outputs: RunOutputs, kind: String) -> [ReportBlock] {
        let runs = outputs.trainings.filter { $0.log.kind == kind && !$0.log.epochs.isEmpty }
        guard !runs.isEmpty else { return [] }
        let figures = runs.map { run in
            var chart = LineChart.trainingCurves(run.log.epochs)
            chart.title = "Training curves: \(run.directory.lastPathComponent)"
            return ReportFigure(
                name: "curves-\(kind)-\(safeName(run.directory.lastPathComponent))",
                caption:
                    "\(run.log.epochs.count) epochs on \(run.log.trainImages) training and \(run.log.validationImages) "
                    + "validation images (\(run.log.nomenclature))" + (run.log.complete ? "" : ", unfinished"),
                image: .svg(chart.svg()))
        }
        return [.heading("Training"), .figures(figures)]
    }

    static func classifierSection(_ outputs: RunOutputs) -> ReportSection? {
        var blocks: [ReportBlock] = []
        for (number, (_, report)) in outputs.classifierEvaluations.enumerated() {
            let overall = report.overall
            blocks += [
                .paragraph(
                    "Model \(report.model), nomenclature \(report.nomenclature), split \(report.split), "
                        + "\(overall.imageCount) images, thresholds: \(report.thresholdRule)."),
                .heading("Table 2: cardinality and density of the evaluated images"),
                .table(table2([report.labelStatistics])),
                .heading("Table 3: overall"),
                .table(
                    ReportTable(
                        header: [
                            "Exact match", "Partial", "Incorrect", "F1 (samples)", "F1 (micro)", "F1 (macro)",
                            "F1 (macro, present)", "Loss",
                        ],
                        rows: [
                            [
                                percent(overall.exactMatchRatio), percent(overall.partialRatio),
                                percent(overall.incorrectRatio), score(overall.f1Samples), score(overall.f1Micro),
                                score(overall.f1Macro), score(overall.f1MacroPresent),
                                String(format: "%.4f", report.meanLoss),
                            ]
                        ], numeric: Set(0..<8))),
                .paragraph(report.note),
            ]
            let rows = report.classes.filter { $0.support > 0 || $0.trainImages > 0 || $0.predicted > 0 }
            blocks += [
                .heading("Tables 4–6: per class"),
                .table(
                    ReportTable(
                        header: [
                            "Code", "Class", "Train images", "Images", "Predicted", "Precision", "Recall", "F1",
                            "Threshold",
                        ],
                        rows: rows.map {
                            [
                                "\($0.code)", $0.name, "\($0.trainImages)", "\($0.support)", "\($0.predicted)",
                                score($0.precision), score($0.recall), score($0.f1),
                                String(format: "%.2f", $0.threshold),
                            ]
                        }, numeric: [0, 2, 3, 4, 5, 6, 7, 8])),
            ]
            let scored = rows.filter { $0.support > 0 }
            var f1Chart = BarChart(
                title: "F1 per class (\(report.nomenclature), \(report.split))", valueLabel: "F1",
                bars: scored.map { BarChart.Bar(label: "\($0.code) \($0.name)", value: $0.f1) })
            f1Chart.color = "#4c78a8"
            let scatter = ScatterChart(
                title: "Class size vs F1"
                    + (report.sizeF1Correlation.map { String(format: " (Pearson r = %.2f; the paper: 0.59)", $0) }
                        ?? ""),
                xLabel: "training images of the class (log scale)", yLabel: "F1",
                points: scored.map { ScatterChart.Point(x: Double($0.trainImages), y: $0.f1, label: "\($0.code)") })
            blocks.append(
                .figures([
                    ReportFigure(
                        name: "classifier-\(number)-f1", caption: "F1 of each class present in the evaluated images",
                        image: .svg(f1Chart.svg())),
                    ReportFigure(
                        name: "classifier-\(number)-size-f1",
                        caption: "Classes with more training images score higher (the paper's observation)",
                        image: .svg(scatter.svg())),
                ]))
        }
        blocks += trainingCurves(outputs, kind: "classifier")
        return blocks.isEmpty ? nil : ReportSection(title: "Classifier", anchor: "classifier", blocks: blocks)
    }

    static func segmenterSection(_ outputs: RunOutputs) -> ReportSection? {
        var blocks: [ReportBlock] = []
        for (number, (_, report)) in outputs.segmenterEvaluations.enumerated() {
            blocks += [
                .paragraph(
                    "Model \(report.model), split \(report.split), \(report.images) images, mean pixel loss "
                        + String(format: "%.4f", report.meanLoss) + "."),
                .table(
                    ReportTable(
                        header: ["Level", "Derived by", "Pixel accuracy", "Mean IoU", "Size–IoU correlation"],
                        rows: report.levels.map {
                            [
                                $0.nomenclature, $0.derivation, percent($0.pixelAccuracy), score($0.meanIoU),
                                $0.sizeIoUCorrelation.map { String(format: "%.2f", $0) } ?? "–",
                            ]
                        }, numeric: [2, 3, 4])),
            ]
            for level in report.levels {
                let rows = level.classes.filter { $0.pixels > 0 || $0.predictedPixels > 0 }
                let tag = "segmenter-\(number)-\(safeName(level.nomenclature))"
                let bars = BarChart(
                    title: "IoU per class (\(level.nomenclature))", valueLabel: "IoU",
                    bars: rows.map { BarChart.Bar(label: "\($0.code) \($0.name)", value: $0.iou) })
                let scatter = ScatterChart(
                    title: "Class size vs IoU"
                        + (level.sizeIoUCorrelation.map { String(format: " (Pearson r = %.2f; the paper: 0.66)", $0) }
                            ?? ""),
                    xLabel: "true pixels of the class (log scale)", yLabel: "IoU",
                    points: rows.compactMap { row in
                        row.iou.map { ScatterChart.Point(x: Double(row.pixels), y: $0, label: "\(row.code)") }
                    })
                blocks += [
                    .heading("\(level.nomenclature): \(level.derivation)"),
                    .table(
                        ReportTable(
                            header: ["Code", "Class", "Pixels", "Predicted pixels", "IoU"],
                            rows: rows.map {
                                [
                                    "\($0.code)", $0.name, "\($0.pixels)", "\($0.predictedPixels)",
                                    $0.iou.map(score) ?? "–",
                                ]
                            }, numeric: [0, 2, 3, 4])),
                    .figures([
                        ReportFigure(
                            name: "\(tag)-confusion",
                            caption:
                                "Confusion among the classes present, % of each true class (the paper's Tables 7–9)",
                            image: .svg(level.heatmap.svg())),
                        ReportFigure(name: "\(tag)-iou", caption: "IoU per class", image: .svg(bars.svg())),
                        ReportFigure(name: "\(tag)-size-iou", caption: "Class size vs IoU", image: .svg(scatter.svg())),
                    ]),
                ]
            }
            if let agreement = report.agreement {
                blocks += [
                    .heading("Segmenter vs classifier"),
                    .paragraph(
                        String(
                            format:
                                "%d of %d chips have the same label set from both models (%.1f %%); mean Jaccard %.3f.",
                            agreement.agreeing, agreement.chips,
                            Double(agreement.agreeing) / Double(max(agreement.chips, 1)) * 100, agreement.meanJaccard)),
                    .table(
                        ReportTable(
                            header: ["Chip", "Jaccard", "Segmenter", "Classifier"],
                            rows: agreement.disagreements.map {
                                [
                                    $0.identifier, String(format: "%.2f", $0.jaccard),
                                    $0.segmenter.joined(separator: ", "), $0.classifier.joined(separator: ", "),
                                ]
                            }, numeric: [1])),
                ]
            }
        }
        blocks += trainingCurves(outputs, kind: "segmenter")
        return blocks.isEmpty ? nil : ReportSection(title: "Segmenter", anchor: "segmenter", blocks: blocks)
    }

    static func noiseSection(_ directory: URL, _ review: NoiseReview) throws -> ReportSection {
        var gallery: [ReportFigure] = []
        for candidate in review.candidates {
            guard let thumbnail = candidate.thumbnail,
                let png = try? Data(contentsOf: directory.appendingPathComponent(thumbnail))
            else { continue }
            gallery.append(
                ReportFigure(
                    name: "noise-\(String(format: "%03d", candidate.rank))",
                    caption: "#\(candidate.rank) \(candidate.identifier), loss "
                        + String(format: "%.3f", candidate.loss) + ". CORINE: " + list(candidate.labels)
                        + ". Doubted: " + list(candidate.missing) + ".",
                    image: .png(png), displayWidth: 160))
        }
        var blocks: [ReportBlock] = [
            .paragraph(
                "The \(review.candidates.count) images the classifier finds least believable (highest loss) of "
                    + "\(review.images) on the \(review.split) split (mean loss "
                    + String(format: "%.4f", review.meanLoss)
                    + "): candidates for mislabelled CORINE polygons (the paper's Fig. 5)."),
            .table(
                ReportTable(
                    header: ["Rank", "Image", "Loss", "CORINE labels", "Doubted (not predicted)", "Added (predicted)"],
                    rows: review.candidates.map {
                        [
                            "\($0.rank)", $0.identifier, String(format: "%.4f", $0.loss), list($0.labels),
                            list($0.missing), list($0.added),
                        ]
                    }, numeric: [0, 2])),
        ]
        if !gallery.isEmpty { blocks.append(.figures(gallery)) }
        return ReportSection(title: "Likely mislabelled chips", anchor: "noise", blocks: blocks)
    }

    static func changeSection(_ summary: ChangeSummary) -> ReportSection {
        let agreement = summary.kind == .agreement
        var facts = [
            ReportFact(
                "Compared", String(format: "%d pixels, %.1f ha", summary.comparedPixels, summary.comparedHectares)),
            ReportFact(agreement ? "Agreement" : "No change", percent(summary.agreementShare)),
            ReportFact("No data", "\(summary.noDataPixels) pixels"),
        ]
        if let threshold = summary.confidenceThreshold {
            facts.append(
                ReportFact("Below confidence \(threshold) %", "\(summary.lowConfidencePixels) pixels (left out)"))
        }
        let (before, after) = agreement ? ("CORINE", "Map") : ("Earlier", "Later")
        return ReportSection(
            title: agreement ? "Map versus CORINE" : "Land-cover change", anchor: "change",
            blocks: [
                .facts(facts),
                .heading("Areas per class (ha)"),
                .table(
                    ReportTable(
                        header: ["Class", before, after, "Both"],
                        rows: summary.perClass.filter { $0.referenceHectares > 0 || $0.mapHectares > 0 }.map {
                            [
                                $0.info.label, hectares($0.referenceHectares), hectares($0.mapHectares),
                                hectares($0.agreeingHectares),
                            ]
                        }, numeric: [1, 2, 3])),
                .heading("Largest transitions (ha)"),
                .table(
                    ReportTable(
                        header: ["From (\(before))", "To (\(after))", "ha"],
                        rows: summary.largestTransitions.map { [$0.from.label, $0.to.label, hectares($0.hectares)] },
                        numeric: [2])),
            ])
    }

    static func manifestSection(_ manifest: RunManifest) -> ReportSection {
        var facts = [
            ReportFact("Spec", manifest.spec),
            ReportFact("landcover", manifest.landcoverVersion),
            ReportFact("GDAL", manifest.gdalVersion),
            ReportFact("Peak memory", String(format: "%.0f MB", manifest.peakMemoryMB)),
        ]
        if let system = manifest.system { facts.append(ReportFact("System", system)) }
        if let started = manifest.started { facts.append(ReportFact("Started", started)) }
        if let total = manifest.totalSeconds { facts.append(ReportFact("Took", String(format: "%.1f s", total))) }
        let order = ["chip", "stats", "classifier", "segmenter", "evaluate", "noise", "map", "change", "report"]
        let stages = manifest.stageSeconds.keys.sorted {
            (order.firstIndex(of: $0) ?? order.count, $0) < (order.firstIndex(of: $1) ?? order.count, $1)
        }
        return ReportSection(
            title: "Run manifest", anchor: "manifest",
            blocks: [
                .facts(facts),
                .heading("Inputs"),
                .table(
                    ReportTable(
                        header: ["File", "Bytes", "Checksum (FNV-1a)"],
                        rows: manifest.inputs.keys.sorted().map {
                            [$0, "\(manifest.inputs[$0]!.bytes)", manifest.inputs[$0]!.checksum]
                        }, numeric: [1])),
                .heading("Stages"),
                .table(
                    ReportTable(
                        header: ["Stage", "Seconds", "State"],
                        rows: stages.map {
                            [
                                $0, String(format: "%.1f", manifest.stageSeconds[$0]!),
                                manifest.skipped.contains($0) ? "up to date (skipped)" : "ran",
                            ]
                        }, numeric: [1])),
            ])
    }

    // MARK: - Formatting

    static func percent(_ share: Double) -> String { String(format: "%.1f %%", share * 100) }
    static func score(_ value: Double) -> String { String(format: "%.3f", value) }
    static func hectares(_ value: Double) -> String { String(format: "%.1f", value) }
    static func list(_ names: [String]) -> String { names.isEmpty ? "–" : names.joined(separator: ", ") }
    static func safeName(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" })
    }
    static func existing(_ path: String) -> String? { FileManager.default.fileExists(atPath: path) ? path : nil }
}

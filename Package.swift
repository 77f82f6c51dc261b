// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "landcover",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "landcover", targets: ["landcover"]),
        .library(name: "GeoRaster", targets: ["GeoRaster"]),
        .library(name: "LandCoverData", targets: ["LandCoverData"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // MARK: System libraries (one importer each)
        .systemLibrary(
            name: "CGDAL",
            pkgConfig: "gdal",
            providers: [.apt(["libgdal-dev", "libproj-dev"])]
        ),
        // Debian's libdnnl-dev ships no .pc file: the module map names `link "dnnl"` (and libgomp, its OpenMP).
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // Open MPI's C binding; Debian's `ompi-c.pc` gives its include and library folders.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),

        // MARK: Geospatial I/O
        .target(name: "GeoRaster", dependencies: ["CGDAL"]),

        // MARK: Domain: CORINE, Sentinel-2, chips
        .target(name: "LandCoverData", dependencies: ["GeoRaster"]),

        // MARK: Tensors and kernels (oneDNN, OpenBLAS)
        .target(name: "TensorCore", dependencies: ["CDNNL", "COpenBLAS"]),

        // MARK: Models: autodiff, layers, ResNet, U-Net, optimizers, checkpoints
        .target(name: "NeuralNet", dependencies: ["TensorCore"]),

        // MARK: Process groups: MPI under mpirun, a world of one otherwise
        .target(name: "Cluster", dependencies: ["CMPI"]),

        // MARK: Metrics (no dependencies)
        .target(name: "Metrics"),

        // MARK: Training: classifier and segmenter trainers, evaluation, label-noise review
        .target(
            name: "Training",
            dependencies: ["LandCoverData", "NeuralNet", "TensorCore", "Metrics", "GeoRaster", "Cluster"]),

        // MARK: Maps: prediction, COG writer, styles, STAC, change
        .target(
            name: "Mapping",
            dependencies: ["LandCoverData", "GeoRaster", "Metrics", "NeuralNet", "TensorCore", "Cluster"]),

        // MARK: Reports: HTML and Markdown from a run's outputs (tables, SVG plots, PNG map previews)
        .target(name: "Reports", dependencies: ["Metrics", "Training", "Mapping", "LandCoverData", "GeoRaster"]),

        // MARK: Pipelines
        .target(
            name: "Pipeline",
            dependencies: [
                "LandCoverData", "Training", "Mapping", "Reports", "NeuralNet", "GeoRaster",
                .product(name: "Yams", package: "Yams"),
            ]),

        // MARK: Command line
        .target(
            name: "LandCoverCLI",
            dependencies: [
                "GeoRaster", "LandCoverData", "NeuralNet", "Pipeline", "Reports", "TensorCore", "Mapping", "Metrics",
                "Training", "Cluster", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "landcover", dependencies: ["LandCoverCLI"]),

        // MARK: Tests
        .target(name: "TestSupport", dependencies: ["GeoRaster"], path: "Tests/TestSupport"),
        .testTarget(name: "GeoRasterTests", dependencies: ["GeoRaster", "TestSupport"]),
        .testTarget(name: "LandCoverDataTests", dependencies: ["LandCoverData", "GeoRaster", "TestSupport"]),
        .testTarget(
            name: "TrainingTests", dependencies: ["Training", "LandCoverData", "NeuralNet", "Metrics", "TestSupport"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "TestSupport"]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "TensorCore", "TestSupport"]),
        .testTarget(
            name: "MappingTests",
            dependencies: ["Mapping", "LandCoverData", "GeoRaster", "NeuralNet", "TensorCore", "TestSupport"]),
        .testTarget(
            name: "ReportsTests", dependencies: ["Reports", "Metrics", "GeoRaster", "LandCoverData", "TestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Reports", "LandCoverData", "TestSupport"]),
        .testTarget(
            name: "LandCoverCLITests",
            dependencies: [
                "LandCoverCLI", "LandCoverData", "GeoRaster", "TestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
    ]
)

import ArgumentParser

/// The `landcover` command: Sentinel-2 + CORINE → chips, models and land-cover maps.
public struct LandCoverCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "landcover",
        abstract: "Land-cover maps from Sentinel-2 granules and CORINE Land Cover.",
        subcommands: [SampleDataCommand.self, InfoCommand.self, ChipCommand.self, StatsCommand.self]
    )

    public init() {}
}

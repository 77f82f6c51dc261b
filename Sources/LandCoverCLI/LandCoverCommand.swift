import ArgumentParser
import Cluster
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The `landcover` command: Sentinel-2 + CORINE → chips, models and land-cover maps.
public struct LandCoverCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "landcover",
        abstract: "Land-cover maps from Sentinel-2 granules and CORINE Land Cover.",
        subcommands: [
            SampleDataCommand.self, InfoCommand.self, ChipCommand.self, StatsCommand.self, RunCommand.self,
            TrainCommand.self, EvaluateCommand.self, NoiseCommand.self, MapCommand.self, ChangeCommand.self,
            ReportCommand.self, ImportWeightsCommand.self, ForwardCommand.self, BenchCommand.self,
            ClusterCheckCommand.self,
        ]
    )

    public init() {}

    /// Parses and runs a subcommand; Foundation's file errors are reported as one readable line. In a job of several
    /// MPI ranks an error ends the whole job (`MPI_Abort`): the other ranks would otherwise wait for this one forever.
    public static func main(_ arguments: [String]? = nil) {
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            let readable = ReadableError.isFoundationError(error) ? ReadableError(error) : error
            // An `ExitCode` is an outcome all ranks reached together (a batch with failed granules), not one rank's
            // error: every rank exits with it normally.
            if let world = Cluster.existingWorld, world.size > 1, !(error is ExitCode) {
                world.abort("Error: rank \(world.rank) of \(world.size): \(message(for: readable))")
            }
            exit(withError: readable)
        }
    }
}

/// Rewrites Foundation's I/O errors ("Error Domain=NSCocoaErrorDomain Code=640 …") as the system's message.
struct ReadableError: Error, CustomStringConvertible {
    let underlying: Error

    init(_ error: Error) { underlying = error }

    static func isFoundationError(_ error: Error) -> Bool {
        let domain = (error as NSError).domain
        return domain == NSCocoaErrorDomain || domain == NSPOSIXErrorDomain
    }

    var description: String {
        let nsError = underlying as NSError
        guard Self.isFoundationError(underlying) else { return String(describing: underlying) }
        let path = (nsError.userInfo[NSFilePathErrorKey] as? String).map { "\($0): " } ?? ""
        if let posix = (nsError.userInfo[NSUnderlyingErrorKey] as? NSError)
            ?? (nsError.domain == NSPOSIXErrorDomain ? nsError : nil),
            posix.domain == NSPOSIXErrorDomain
        {
            return path + String(cString: strerror(Int32(posix.code)))
        }
        return path + nsError.localizedDescription
    }
}

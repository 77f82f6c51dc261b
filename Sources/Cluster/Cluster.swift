import Foundation

/// The process group a run belongs to, chosen once from the environment.
///
/// Under `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE` in every process it starts) with more than one process,
/// the world is MPI's: MPI is initialised on first use and finalised at exit. Otherwise, also under `mpirun -np 1`,
/// it is a `SingleProcess` and MPI is never initialised, so a single process runs exactly as without MPI.
public enum Cluster {
    /// The world size `mpirun` announced in the environment, or nil when the process was not started by it.
    public static var launchedSize: Int? {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"].flatMap { Int($0) }
    }

    /// Whether this process is one of several started by `mpirun`.
    public static var isDistributed: Bool { (launchedSize ?? 1) > 1 }

    /// The world: MPI's when distributed (initialised on first use), else a `SingleProcess`. An MPI world that
    /// cannot start ends the process with a one-line error.
    public static var world: any ProcessGroup { registry.world() }

    /// The world if it is already set up, without initialising MPI (for error paths).
    public static var existingWorld: (any ProcessGroup)? { registry.existing() }

    private static let registry = Registry()

    private final class Registry: @unchecked Sendable {
        private let lock = NSLock()
        private var group: (any ProcessGroup)?

        func world() -> any ProcessGroup {
            lock.lock()
            defer { lock.unlock() }
            if let group { return group }
            let created: any ProcessGroup
            if Cluster.isDistributed {
                do {
                    created = try MPIWorld()
                } catch {
                    writeErrorLine("Error: \(error)")
                    exit(1)
                }
            } else {
                created = SingleProcess()
            }
            group = created
            return created
        }

        func existing() -> (any ProcessGroup)? {
            lock.lock()
            defer { lock.unlock() }
            return group
        }
    }
}

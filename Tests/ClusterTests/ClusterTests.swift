import Cluster
import Foundation
import Testing

/// The world of one process: what code written against `ProcessGroup` sees without `mpirun`. The MPI world itself
/// is tested through the binary under `mpirun -np 2` (LandCoverCLITests.ClusterCommandTests).
@Suite struct SingleProcessTests {
    @Test func isRankZeroOfOne() {
        let world = SingleProcess()
        #expect(world.rank == 0 && world.size == 1 && world.isRoot)
    }

    @Test func collectivesKeepTheOwnValues() throws {
        let world = SingleProcess()
        var floats: [Float] = [1.5, -2, 3]
        try world.allReduce(&floats, .sum)
        #expect(floats == [1.5, -2, 3])
        var doubles: [Double] = [4, -5]
        try world.allReduce(&doubles, .max)
        #expect(doubles == [4, -5])
        #expect(try world.broadcast([1, 2, 3], from: 0) == [1, 2, 3])
        #expect(try world.gather([7, 8], to: 0) == [[7, 8]])
        try world.barrier()
    }

    @Test func notStartedByMPIRunMeansOneProcess() {
        // The test runner is not started by mpirun: the world must be the trivial one, with MPI never initialised.
        guard ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] == nil else { return }
        #expect(Cluster.launchedSize == nil && !Cluster.isDistributed)
        #expect(Cluster.world is SingleProcess)
        #expect(Cluster.existingWorld is SingleProcess)
    }

    @Test func errorsNameTheCall() {
        let error = ClusterError(call: "MPI_Allreduce", message: "MPI_ERR_TRUNCATE: message truncated")
        #expect("\(error)" == "MPI_Allreduce failed: MPI_ERR_TRUNCATE: message truncated")
    }
}

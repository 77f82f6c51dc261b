import Foundation
import Testing
import TestSupport

/// The MPI layer through the built binary: `landcover cluster-check` alone and under `mpirun -np 2`.
@Suite(.serialized) struct ClusterCommandTests {
    @Test func aSingleProcessIsAWorldOfOne() throws {
        let result = try landcover(["cluster-check"])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("rank 0 of 1: sum 1 count 1 max 0 broadcast 'hello from rank 0'"))
        #expect(result.output.contains("gathered: rank 0"))
    }

    @Test func twoRanksReduceBroadcastAndGather() throws {
        let binary = try #require(Executables.landcover, "the landcover binary is not built beside the tests")
        let result = try Executables.mpirun(processes: 2, binary, ["cluster-check"])
        #expect(result.status == 0, "\(result.output)\n\(result.error)")
        for rank in 0..<2 {
            #expect(
                result.output.contains("rank \(rank) of 2: sum 3 count 2 max 1 broadcast 'hello from rank 0'"),
                "\(result.output)")
        }
        #expect(result.output.contains("gathered: rank 0, rank 1"), "\(result.output)")
    }

    @Test func aFailingRankEndsTheJob() throws {
        let binary = try #require(Executables.landcover, "the landcover binary is not built beside the tests")
        let result = try Executables.mpirun(processes: 2, binary, ["cluster-check", "--fail-rank", "1"])
        #expect(result.status != 0)
        #expect(result.error.contains("Error: rank 1 of 2 failed on purpose"), "\(result.error)")
        #expect(!result.output.contains("gathered"), "rank 0 must not finish: \(result.output)")
    }
}

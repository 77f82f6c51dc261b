import ArgumentParser
import Cluster
import Foundation

/// `landcover cluster-check` (hidden): a diagnostic of the MPI layer. Under `mpirun -np N` every rank takes part
/// in an all-reduce (sum and max, Float and Double), a broadcast from rank 0 and a gather to rank 0, and prints
/// what it got, so a cluster's MPI set-up can be checked in seconds before a long job.
struct ClusterCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-check", abstract: "Check the MPI layer: collectives across the ranks of this job.",
        shouldDisplay: false)

    @Option(help: "This rank ends the job with an error instead of taking part (tests the failure path).")
    var failRank: Int?

    func run() throws {
        let world = Cluster.world
        let (rank, size) = (world.rank, world.size)
        if failRank == rank { world.abort("Error: rank \(rank) of \(size) failed on purpose (--fail-rank)") }
        var sums: [Float] = [Float(rank + 1), 1]
        try world.allReduce(&sums, .sum)
        var maxima: [Double] = [Double(rank), -Double(rank)]
        try world.allReduce(&maxima, .max)
        let message = try world.broadcast(Array("hello from rank \(rank)".utf8), from: 0)
        let gathered = try world.gather(Array("rank \(rank)".utf8), to: 0)
        print(
            "rank \(rank) of \(size): sum \(Int(sums[0])) count \(Int(sums[1])) max \(Int(maxima[0])) "
                + "broadcast '\(String(decoding: message, as: UTF8.self))'")
        if world.isRoot {
            print("gathered: " + gathered.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ", "))
        }
        try world.barrier()
    }
}

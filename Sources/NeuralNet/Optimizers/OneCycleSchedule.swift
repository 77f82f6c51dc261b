import Foundation

/// The one-cycle policy (Smith 2018) as PyTorch's `OneCycleLR` with cosine annealing, the schedule of the paper's
/// fastai v1 training: the learning rate rises from max/`divFactor` to max over the first `pctStart` of the steps
/// and falls to max/(`divFactor`·`finalDivFactor`) by the last, while the momentum (Adam's β1) falls from
/// `maxMomentum` to `baseMomentum` and rises back.
///
/// Each phase is cos_anneal(a, b, p) = b + (a − b)/2 · (1 + cos πp). PyTorch ends the warm-up at step
/// pctStart·n − 1 (0-based) and the cycle at step n − 1. fastai v1's `OneCycleScheduler` (`.fastaiV1`) ends the
/// warm-up one step later, at ⌊pctStart·n⌋, and the cycle at step n, so it peaks one step later and never reaches
/// its final rate; both are offered so that either recipe can be reproduced exactly.
public struct OneCycleSchedule: Sendable {
    /// Where the phases end.
    public enum Variant: Sendable {
        /// PyTorch's `OneCycleLR` (`three_phase=False`).
        case pytorch
        /// fastai v1's `OneCycleScheduler`, the paper's.
        case fastaiV1
    }

    /// The number of optimizer steps in the cycle.
    public var totalSteps: Int
    /// The largest learning rate of each parameter group (discriminative rates: one per group).
    public var maxLearningRates: [Double]
    /// The fraction of the cycle spent warming up.
    public var pctStart: Double
    /// The first learning rate is max / `divFactor`.
    public var divFactor: Double
    /// The last learning rate is the first / `finalDivFactor`.
    public var finalDivFactor: Double
    /// The momentum (β1) at the start and end of the cycle.
    public var maxMomentum: Double
    /// The momentum (β1) at the peak learning rate.
    public var baseMomentum: Double
    /// Whose phase boundaries to use.
    public var variant: Variant

    /// A schedule with the paper's defaults: warm-up 0.3, div 25, final div 1e4 (2.5e5 in all), β1 0.95→0.85→0.95.
    public init(
        totalSteps: Int, maxLearningRates: [Double], pctStart: Double = 0.3, divFactor: Double = 25,
        finalDivFactor: Double = 1e4, maxMomentum: Double = 0.95, baseMomentum: Double = 0.85,
        variant: Variant = .pytorch
    ) {
        precondition(totalSteps >= 2, "A one-cycle schedule needs at least 2 steps, not \(totalSteps).")
        precondition(0 < pctStart && pctStart < 1, "The warm-up fraction lies in (0, 1), not \(pctStart).")
        precondition(divFactor > 0 && finalDivFactor > 0, "The division factors must be positive.")
        self.totalSteps = totalSteps
        self.maxLearningRates = maxLearningRates
        self.pctStart = pctStart
        self.divFactor = divFactor
        self.finalDivFactor = finalDivFactor
        self.maxMomentum = maxMomentum
        self.baseMomentum = baseMomentum
        self.variant = variant
    }

    /// The learning rate of each group at 0-based `step`.
    public func learningRates(at step: Int) -> [Double] {
        let (phase, fraction) = position(of: step)
        return maxLearningRates.map { maxRate in
            let initial = maxRate / divFactor
            return phase == 0
                ? Self.cosineAnneal(from: initial, to: maxRate, fraction)
                : Self.cosineAnneal(from: maxRate, to: initial / finalDivFactor, fraction)
        }
    }

    /// The momentum (β1) at 0-based `step`.
    public func momentum(at step: Int) -> Double {
        let (phase, fraction) = position(of: step)
        return phase == 0
            ? Self.cosineAnneal(from: maxMomentum, to: baseMomentum, fraction)
            : Self.cosineAnneal(from: baseMomentum, to: maxMomentum, fraction)
    }

    /// Sets the learning rate of each of `optimizer`'s groups and its momentum for 0-based `step`; call it before
    /// the step (PyTorch's scheduler has already done so when the step runs).
    public func apply(to optimizer: some Optimizer, step: Int) {
        precondition(
            optimizer.groups.count == maxLearningRates.count,
            "The schedule has \(maxLearningRates.count) learning rates for \(optimizer.groups.count) groups.")
        for (index, rate) in learningRates(at: step).enumerated() { optimizer.groups[index].learningRate = rate }
        optimizer.momentum = momentum(at: step)
    }

    /// The phase (0 warm-up, 1 annealing) and the fraction of it done at `step`.
    private func position(of step: Int) -> (phase: Int, fraction: Double) {
        precondition(0 <= step && step < totalSteps, "Step \(step) is outside the cycle of \(totalSteps) steps.")
        let (warmUpEnd, cycleEnd) =
            switch variant {
            case .pytorch: (pctStart * Double(totalSteps) - 1, Double(totalSteps - 1))
            case .fastaiV1: ((pctStart * Double(totalSteps)).rounded(.down), Double(totalSteps))
            }
        let position = Double(step)
        if position <= warmUpEnd {
            return (0, warmUpEnd > 0 ? position / warmUpEnd : 0)
        }
        return (1, (position - warmUpEnd) / (cycleEnd - warmUpEnd))
    }

    /// b + (a − b)/2 · (1 + cos πp): a at p = 0, b at p = 1.
    private static func cosineAnneal(from start: Double, to end: Double, _ fraction: Double) -> Double {
        end + (start - end) / 2 * (1 + cos(Double.pi * fraction))
    }
}

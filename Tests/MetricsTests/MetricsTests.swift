import Testing
import TestSupport

@testable import Metrics

@Suite struct MultiLabelEvaluationTests {
    // Three classes, four images, worked by hand:
    //   truth      predicted   |Y∩Z|  outcome     per-image F1
    //   {0,1}      {0,1}       2      exact       1
    //   {0,2}      {0}         1      partial     2·1/3
    //   {1}        {2}         0      incorrect   0
    //   {}         {}          0      exact       1 (both empty)
    let truth: [[Bool]] = [[true, true, false], [true, false, true], [false, true, false], [false, false, false]]
    let predicted: [[Bool]] = [
        [true, true, false], [true, false, false], [false, false, true], [false, false, false],
    ]

    @Test func tableThreeRatios() {
        let e = MultiLabelEvaluation(truth: truth, predicted: predicted)
        #expect(e.exactMatchRatio == 0.5)
        #expect(e.partialRatio == 0.25)
        #expect(e.incorrectRatio == 0.25)
        expectClose(e.f1Samples, (1 + 2.0 / 3 + 0 + 1) / 4)
    }

    @Test func perClassAndAveragedF1() {
        let e = MultiLabelEvaluation(truth: truth, predicted: predicted)
        // class 0: TP 2, FP 0, FN 0 → F1 1; class 1: TP 1, FN 1 → P 1, R 0.5, F1 2/3; class 2: TP 0 → F1 0.
        #expect(e.classes[0] == ClassScores(support: 2, predicted: 2, truePositives: 2, precision: 1, recall: 1, f1: 1))
        expectClose(e.classes[1].f1, 2.0 / 3)
        #expect(e.classes[2].f1 == 0 && e.classes[2].support == 1 && e.classes[2].predicted == 1)
        // micro: TP 3, predicted 4, true 5 → P 0.75, R 0.6, F1 2/3.
        expectClose(e.precisionMicro, 0.75)
        expectClose(e.recallMicro, 0.6)
        expectClose(e.f1Micro, 2 * 0.75 * 0.6 / 1.35)
        expectClose(e.f1Macro, (1 + 2.0 / 3 + 0) / 3)
    }

    @Test func allLabelsAndAbsentClasses() {
        // Class 2 never occurs and is never predicted: in f1Macro (as 0) but not in f1MacroPresent.
        let truth: [[Bool]] = [[true, true, false], [true, true, false]]
        let e = MultiLabelEvaluation(truth: truth, predicted: truth)
        #expect(e.exactMatchRatio == 1 && e.f1Micro == 1 && e.f1Samples == 1)
        expectClose(e.f1Macro, 2.0 / 3)
        #expect(e.f1MacroPresent == 1)
        // Predicting everything for images that carry everything.
        let all: [[Bool]] = [[true, true, true]]
        #expect(MultiLabelEvaluation(truth: all, predicted: all).f1Macro == 1)
        // An image without labels predicted as having one: incorrect, F1 0.
        let none = MultiLabelEvaluation(truth: [[false, false, false]], predicted: [[false, true, false]])
        #expect(none.incorrectRatio == 1 && none.f1Samples == 0 && none.f1Micro == 0)
    }

    @Test func thresholdsDecideAndTune() {
        let probabilities: [[Float]] = [[0.9, 0.2], [0.6, 0.7], [0.4, 0.1], [0.1, 0.8]]
        #expect(
            MultiLabelEvaluation.decide(probabilities, thresholds: [0.5, 0.5]) == [
                [true, false], [true, true], [false, false], [false, true],
            ])
        // Class 0 is true for images 0 and 2 (0.9, 0.4) and false for 0.6: the best cut keeps 0.9 and 0.4 → F1 0.8
        // (all three) vs 2/3 (top one): tuned threshold below 0.4.
        let truth: [[Bool]] = [[true, false], [false, true], [true, false], [false, true]]
        let tuned = MultiLabelEvaluation.tunedThresholds(probabilities: probabilities, truth: truth)
        #expect(tuned[0] < 0.4 && tuned[0] > 0.1)
        // Class 1 separates perfectly between 0.2 and 0.7.
        #expect(tuned[1] > 0.2 && tuned[1] < 0.7)
        let decided = MultiLabelEvaluation.decide(probabilities, thresholds: tuned)
        #expect(MultiLabelEvaluation(truth: truth, predicted: decided).classes[1].f1 == 1)
    }

    @Test func correlation() {
        expectClose(pearsonCorrelation([1, 2, 3, 4], [2, 4, 6, 8])!, 1)
        expectClose(pearsonCorrelation([1, 2, 3], [3, 2, 1])!, -1)
        // Hand-computed: x = [1,2,3], y = [1,3,2] → cov 1, var 2 and 2 → 0.5.
        expectClose(pearsonCorrelation([1, 2, 3], [1, 3, 2])!, 0.5)
        #expect(pearsonCorrelation([1, 1, 1], [1, 2, 3]) == nil)
    }
}

@Suite struct ConfusionMatrixTests {
    @Test func accuracyIoUAndRowNormalisation() {
        var matrix = ConfusionMatrix(classCount: 3)
        // truth:  0 0 0 1 1 2 | 9 (ignored)
        // pred:   0 0 1 1 2 2 | 0
        matrix.add(truth: [0, 0, 0, 1, 1, 2, 9], predicted: [0, 0, 1, 1, 2, 2, 0], ignoring: 9)
        #expect(matrix.total == 6)
        expectClose(matrix.accuracy, 4.0 / 6)
        // IoU: class 0: TP 2 / (3 + 2 − 2) = 2/3; class 1: 1 / (2 + 2 − 1) = 1/3; class 2: 1 / (1 + 2 − 1) = 1/2.
        let iou = matrix.intersectionOverUnion
        expectClose(iou[0]!, 2.0 / 3)
        expectClose(iou[1]!, 1.0 / 3)
        expectClose(iou[2]!, 0.5)
        expectClose(matrix.meanIntersectionOverUnion, (2.0 / 3 + 1.0 / 3 + 0.5) / 3)
        #expect(matrix.rowNormalized[0] == [2.0 / 3, 1.0 / 3, 0])
        #expect(matrix.support == [3, 2, 1])
    }

    @Test func absentClassesAreLeftOutOfTheMean() {
        var matrix = ConfusionMatrix(classCount: 4)
        matrix.add(truth: [1, 1], predicted: [1, 1])
        #expect(matrix.intersectionOverUnion == [nil, 1, nil, nil])
        #expect(matrix.meanIntersectionOverUnion == 1)
        #expect(matrix.rowNormalized[0] == [0, 0, 0, 0])
        var other = ConfusionMatrix(classCount: 4)
        other.add(truth: [2], predicted: [1])
        matrix.merge(other)
        #expect(matrix[2, 1] == 1 && matrix.total == 3)
    }
}

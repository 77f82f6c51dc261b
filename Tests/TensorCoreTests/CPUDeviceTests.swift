import Testing
import TestSupport

@testable import TensorCore

@Suite struct CPUDeviceTests {
    @Test func cachesOnePlanPerShapeAndPass() throws {
        let device = CPUDevice()
        var generator = TestGenerator(seed: 51)
        let input = Tensor.randomUniform([2, 4, 6, 6], in: -1..<1, using: &generator)
        let weight = Tensor.randomUniform([8, 4, 3, 3], in: -1..<1, using: &generator)
        let options = ConvolutionOptions(padding: 1)
        let first = try device.convolution2D(input, weight: weight, options: options)
        #expect(device.cachedPlanCount == 1)
        #expect(try device.convolution2D(input, weight: weight, options: options) == first)
        #expect(device.cachedPlanCount == 1)
        _ = try device.convolution2D(input, weight: weight, options: ConvolutionOptions(stride: 2, padding: 1))
        _ = try device.convolution2DBackwardData(first, weight: weight, inputShape: input.shape, options: options)
        _ = try device.relu(input)
        #expect(device.cachedPlanCount == 4)
    }

    @Test func convolutionUsesAJITKernelWithBlockedLayouts() throws {
        let key = ConvolutionKey(
            pass: .forward, inputShape: [2, 16, 15, 15], weightShape: [32, 16, 3, 3],
            options: ConvolutionOptions(padding: 1), hasBias: false)
        let implementation = try CPUDevice.shared.implementation(of: .convolution(key))
        // `ref:any` would mean oneDNN found no optimised kernel for the layouts it was offered.
        #expect(!implementation.hasPrefix("ref"), "oneDNN chose \(implementation)")
    }

    @Test func reportsTheFailingCallAndStatus() {
        // A 3×3 kernel on 5 pixels gives 3, not 4: oneDNN rejects the descriptor.
        #expect {
            _ = try dnnlConvolutionForwardDescInit(
                source: anyMemoryDescriptor([1, 1, 5, 5]), weights: anyMemoryDescriptor([1, 1, 3, 3]), bias: nil,
                destination: anyMemoryDescriptor([1, 1, 4, 4]), strides: [1, 1], paddingLeft: [0, 0],
                paddingRight: [0, 0])
        } throws: { error in
            guard let error = error as? DNNLError else { return false }
            return error.call == "dnnl_convolution_forward_desc_init" && error.statusName == "invalid_arguments"
                && error.description == "dnnl_convolution_forward_desc_init failed: invalid_arguments"
        }
    }

    @Test func setsThreadCountsOfBothLibraries() {
        #expect(threadCount == 2)
        setThreads(1)
        #expect(threadCount == 1)
        _ = CPUDevice.shared.matmul(Tensor.zeros([2, 2]), Tensor.zeros([2, 2]))
        #expect(openblasGetNumThreads() == 1)
        setThreads(2)
        #expect(threadCount == 2 && openblasGetNumThreads() == 2)
    }
}

extension Module {
    /// Stops training this module's parameters (`requiresGrad` off), except, with `trainBatchNorm` (fastai's
    /// `train_bn`, the default), the weight and bias of its batch-norm layers, which keep adapting to the new data
    /// as in the paper's first stage. Frozen parameters get no gradient, so optimizers skip them and the backward
    /// pass skips their weight gradients. Batch-norm running statistics still update in training mode.
    public func freeze(trainBatchNorm: Bool = true) {
        for (_, module) in namedModules() {
            let keep = trainBatchNorm && module is BatchNorm
            for (_, parameter) in module.namedOwnParameters {
                parameter.requiresGrad = keep
                if !keep { parameter.grad = nil }
            }
        }
    }

    /// Trains every parameter of this module again (`requiresGrad` on).
    public func unfreeze() {
        for parameter in parameters { parameter.requiresGrad = true }
    }
}

import TensorMath

extension LlamaModel {
    /// The model with `adapter` folded into its weights (`W + scale * B · A` for each
    /// adapted layer): the fused path for fast evaluation and generation.
    public func merged(with adapter: LoRAAdapter) throws -> LlamaModel {
        try checkLayout(adapter)
        var w = weights
        for s in adapter.slots {
            let delta = adapter.delta(s)
            func fold(_ t: inout Tensor) { for i in 0..<t.count { t.data[i] += delta.data[i] } }
            switch s.target {
            case .q: fold(&w.layers[s.layer].wq)
            case .k: fold(&w.layers[s.layer].wk)
            case .v: fold(&w.layers[s.layer].wv)
            case .o: fold(&w.layers[s.layer].wo)
            case .gate: fold(&w.layers[s.layer].gate)
            case .up: fold(&w.layers[s.layer].up)
            case .down: fold(&w.layers[s.layer].down)
            }
        }
        // An int8 model's merge is an F32 model (the merged weights are no longer the file's blocks).
        return try LlamaModel(config: config, weights: w, gemm: frozenGemm == .int8 ? .fromEnvironment : frozenGemm)
    }

    /// Throws unless `adapter` was laid out for this model.
    func checkLayout(_ adapter: LoRAAdapter) throws {
        guard let first = adapter.slots.first, adapter.slots.count == config.layerCount * adapter.config.targets.count,
              first.input == adapter.config.targets[0].dimensions(config).input else {
            throw LoRAError.layoutMismatch("the adapter was built for a different model")
        }
    }
}

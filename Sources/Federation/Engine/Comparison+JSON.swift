import Foundation

extension Comparison {
    /// `fedpilot compare --json`: one object per approach (the trained ones, then the base model
    /// and the retrieval baselines) with quality, latency, cost and privacy posture. A value that
    /// does not apply is null (retrieval has no eval loss); task fields are written only with labels.
    public func jsonObject(noise: Double) -> [String: Any] {
        var out: [String: Any] = [
            "scenario": scenario.name, "base_eval_loss": baseOverall, "base_per_client": base,
            "dp_noise_multiplier": noise, "verdict": verdict,
            "approaches": results.map { r in
                var o = Self.json(r)
                let delta = baseOverall - r.overall
                o["delta_vs_base"] = delta.isFinite ? delta as Any : NSNull()
                return o
            },
        ]
        if !taskLabels.isEmpty {
            out["task_labels"] = taskLabels
            out["retrieval_k"] = retrievalK
        }
        return out
    }

    static func json(_ r: ApproachResult) -> [String: Any] {
        func number(_ v: Double?) -> Any { v.map { $0.isFinite ? $0 as Any : NSNull() } ?? NSNull() }
        var o: [String: Any] = [
            "name": r.name, "eval_loss": number(r.overall), "perplexity": number(exp(r.overall)),
            "per_client": r.perClient, "bytes": r.bytesMoved, "wall_seconds": r.wallSeconds, "training_tokens": r.trainingTokens,
            "epsilon": number(r.epsilon), "predictions": r.predictions, "latency_seconds": number(r.latencySeconds),
            "training": usage(r.training), "inference": usage(r.inference),
        ]
        if let p = r.privacy {
            o["privacy"] = ["leaves_client": p.leavesClient, "coordinator_sees_individual": p.coordinatorSeesIndividual,
                            "raw_text_pooled": p.rawTextPooled, "epsilon": number(p.epsilon), "summary": p.summary] as [String: Any]
        }
        if !r.tasks.isEmpty {
            let pooled = r.pooledTask
            o["task_accuracy"] = number(pooled.accuracy)
            o["macro_f1"] = number(pooled.macroF1)
            o["per_client_task_accuracy"] = r.tasks.compactMapValues(\.accuracy)
            o["per_client_macro_f1"] = r.tasks.compactMapValues(\.macroF1)
        }
        return o
    }

    static func usage(_ u: ResourceUsage?) -> Any {
        guard let u else { return NSNull() }
        return ["cpu_seconds": u.cpuSeconds, "wall_seconds": u.wallSeconds, "peak_memory_bytes": u.peakMemoryBytes,
                "peak_is_process_wide": u.peakIsProcessWide] as [String: Any]
    }
}

/// Task metrics in the flat JSON of events: written only when they apply (never null or 0).
extension FederationEvent {
    func addTaskFields(to o: inout [String: Any]) {
        func put(_ key: String, _ value: Double?) { if let value, value.isFinite { o[key] = value } }
        switch self {
        case .clientUpdate(let m):
            put("task_accuracy", m.taskAccuracy); put("task_accuracy_delta_base", m.taskAccuracyDeltaBase)
            put("task_macro_f1", m.taskMacroF1)
            if let c = m.confusion { o["confusion"] = c }
            put("rouge_l", m.rougeL)
        case .roundCompleted(let m):
            put("global_task_accuracy", m.globalTaskAccuracy); put("global_macro_f1", m.globalMacroF1)
            put("base_task_accuracy", m.baseTaskAccuracy); put("base_macro_f1", m.baseMacroF1)
            put("global_rouge_l", m.globalRougeL); put("base_rouge_l", m.baseRougeL)
        default: break
        }
    }

    /// Reads the fields `addTaskFields` writes back into a decoded event.
    func withTaskFields(from o: [String: Any]) -> FederationEvent {
        func dbl(_ k: String) -> Double? { (o[k] as? Double) ?? (o[k] as? Int).map(Double.init) }
        switch self {
        case .clientUpdate(var m):
            m.taskAccuracy = dbl("task_accuracy"); m.taskAccuracyDeltaBase = dbl("task_accuracy_delta_base")
            m.taskMacroF1 = dbl("task_macro_f1")
            m.rougeL = dbl("rouge_l")
            m.confusion = (o["confusion"] as? [String: Any])?.compactMapValues { row in
                (row as? [String: Any])?.compactMapValues { ($0 as? Int) ?? ($0 as? Double).map { Int($0) } }
            }
            return .clientUpdate(m)
        case .roundCompleted(var m):
            m.globalTaskAccuracy = dbl("global_task_accuracy"); m.globalMacroF1 = dbl("global_macro_f1")
            m.baseTaskAccuracy = dbl("base_task_accuracy"); m.baseMacroF1 = dbl("base_macro_f1")
            m.globalRougeL = dbl("global_rouge_l"); m.baseRougeL = dbl("base_rouge_l")
            return .roundCompleted(m)
        default: return self
        }
    }
}

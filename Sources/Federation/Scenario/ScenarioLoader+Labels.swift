// The classification task of `[evaluation]`: `labels`, `label_prompt`, `task_examples`,
// `label_context_tokens`, and `[label_prompts]` (a template per client domain).

extension ScenarioParser {
    func taskEvaluation(_ t: ScenarioTableReader) throws -> TaskEvaluationConfig {
        var task = TaskEvaluationConfig()
        if let v = t.value("labels") {
            guard let array = v.array else {
                throw t.typeError("labels", expected: "array of strings", found: v, hint: "e.g. labels = [\"billing\", \"bug\"]")
            }
            var labels: [String] = []
            for (i, element) in array.enumerated() {
                let path = "\(t.keyPath("labels"))[\(i)]"
                guard let s = element.string else {
                    throw ScenarioError(kind: .wrongType, file: file, keyPath: path,
                                        problem: "expected string, found \(ScenarioTableReader.describe(element))")
                }
                if s.allSatisfy(\.isWhitespace) {
                    throw ScenarioError(kind: .invalidValue, file: file, keyPath: path, problem: "a label must not be empty")
                }
                if labels.contains(s) {
                    throw ScenarioError(kind: .invalidValue, file: file, keyPath: path, problem: "label \"\(s)\" is listed twice")
                }
                labels.append(s)
            }
            if labels.count < 2 {
                throw t.error("labels", .invalidValue, "needs at least 2 labels, got \(labels.count)",
                              hint: "the candidate labels of the classification task; leave it out to use the labels in the clients' validation data")
            }
            task.labels = labels
        }
        task.labelPrompt = try labelTemplate(t, key: "label_prompt")
        task.examplesPerClient = try t.int("task_examples").map { n in
            try t.checkInt("task_examples", n, atLeast: 0, hint: "0 turns label scoring off")
            return n
        }
        task.contextTokens = try t.int("label_context_tokens", default: task.contextTokens, atLeast: 1)
        task.calibrate = try t.bool("label_calibration") ?? false
        task.generationTokens = try t.int("generation").map { n in
            try t.checkInt("generation", n, atLeast: 1, atMost: 512, hint: "tokens generated per instruction example for ROUGE-L")
            return n
        }
        if t.has("generation_examples") && task.generationTokens == nil {
            throw t.error("generation_examples", .conflict, "has no effect without generation", hint: "set generation = N (tokens) to score generations")
        }
        task.generationExamples = try t.int("generation_examples", default: task.generationExamples, atLeast: 1)
        return task
    }

    /// A label prompt template at `key`: a non-empty string containing `{text}`.
    func labelTemplate(_ t: ScenarioTableReader, key: String) throws -> String? {
        guard let template = try t.nonEmptyString(key) else { return nil }
        guard template.contains(LabelPrompt.placeholder) else {
            throw t.error(key, .invalidValue, "must contain \(LabelPrompt.placeholder)",
                          hint: "\(LabelPrompt.placeholder) stands for the example's text, e.g. \"\(LabelPrompt.placeholder)\\nSpecialty:\"")
        }
        return template
    }

    /// `[label_prompts]`: domain = "template". A domain that no client has is an error.
    func applyDomainLabelPrompts(_ t: ScenarioTableReader?, clients: [ClientSpec], to task: inout TaskEvaluationConfig) throws {
        guard let t else { return }
        for domain in try domainKeys(t, clients: clients) {
            task.domainLabelPrompts[domain] = try labelTemplate(t, key: domain)
        }
    }
}

/// Label scoring of classification examples (those with a `label` field): each candidate
/// label is scored as the completion of the example's prompt and the most likely one, by
/// mean log-likelihood per token, is predicted.
public struct TaskEvaluationConfig: Sendable, Equatable, Codable {
    /// The candidate labels, a public task definition (`[evaluation] labels`); nil: the union
    /// of the labels in the clients' validation splits, announced at the start of the run.
    public var labels: [String]?
    /// The prompt template of every client (`[evaluation] label_prompt`): `{text}` stands for the
    /// example's text before its label (see ``LabelPrompt``).
    public var labelPrompt: String?
    /// Templates per client domain (`[label_prompts]`); a domain's wins over `labelPrompt`.
    public var domainLabelPrompts: [String: String] = [:]
    /// Labelled validation examples scored per client and evaluation (`task_examples`);
    /// nil: `max_examples_per_client`; 0: no label scoring.
    public var examplesPerClient: Int?
    /// A prompt keeps its last this many tokens (`label_context_tokens`), the label's context.
    public var contextTokens: Int = 256
    /// `label_calibration`: subtract from each label's score its mean log-likelihood after the
    /// prompt's last line alone (domain-conditional PMI, Holtzman et al. 2021), so that a label
    /// whose later tokens are near-certain (" feature" "_" "request") does not win on its form.
    public var calibrate = false
    /// Tokens greedily generated per instruction example for ROUGE-L (`[evaluation] generation`); nil: no generation check.
    public var generationTokens: Int?
    /// Instruction examples per client that are generated from (`generation_examples`).
    public var generationExamples: Int = 2

    public init(labels: [String]? = nil, labelPrompt: String? = nil, examplesPerClient: Int? = nil, contextTokens: Int = 256) {
        self.labels = labels; self.labelPrompt = labelPrompt
        self.examplesPerClient = examplesPerClient; self.contextTokens = contextTokens
    }

    /// The template for a client of `domain`, if any.
    public func template(forDomain domain: String) -> String? { domainLabelPrompts[domain] ?? labelPrompt }
}

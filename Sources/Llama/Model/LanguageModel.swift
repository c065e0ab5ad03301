/// The names the engine, the journal and the adapter use for the model: a causal language model
/// of whichever family its file holds (`ModelArchitecture`: llama, qwen2, gemma3), not Llama in
/// particular. `LlamaModel` and `LlamaConfig` are the same types under their first names (the
/// module keeps the Llama name).
public typealias LanguageModel = LlamaModel
/// Sizes and block switches of a `LanguageModel` (see `LanguageModel`).
public typealias ModelConfig = LlamaConfig

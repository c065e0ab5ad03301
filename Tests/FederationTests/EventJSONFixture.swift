/// The JSON lines of `EventJSONTests.samples`, one per event, as the hand-written encoder of
/// `FederationEvent` wrote them before events became `Codable` (printed by `testPrintFixture`).
/// Journals written then hold exactly these lines.
enum EventJSONFixture {
    static let lines: [String] = [
        #"{"clients":["hospital-a","bank"],"domains":{"bank":"finance","hospital-a":"clinical"},"model":"models/m.gguf","round":0,"rounds":8,"scenario":"demo","strategy":"fedavg","type":"run_started"}"#,
        #"{"phase":"secure_aggregation","round":2,"type":"phase"}"#,
        #"{"phase":"training","round":1,"type":"phase"}"#,
        #"{"round":3,"selected":["hospital-a","bank"],"type":"round_started"}"#,
        #"{"aggregation_weight":0.125,"anomaly_evidence":"loss rose 2.1σ","anomaly_score":3.5,"bytes_down":5678,"bytes_up":1234,"client":"hospital-a","compute_seconds":41,"confusion":{"billing":{"billing":4},"refund":{"billing":1,"refund":3}},"cosine_to_aggregate":0.75,"cosine_to_others":-0.25,"drift":0.5,"eval_loss":2.125,"eval_perplexity":8.372897488127265,"local_loss_end":2.25,"local_loss_start":2.5,"quality_delta_base":0.375,"quality_delta_last":-0.0625,"rouge_l":0.25,"round":3,"simulated_seconds":42.5,"status":"done","task_accuracy":0.625,"task_accuracy_delta_base":0.125,"task_macro_f1":0.5,"train_examples":12,"train_seconds":0.75,"train_tokens":4096,"transfer_seconds":1.5,"type":"client_update","update_norm":0.015625}"#,
        #"{"aggregation_weight":null,"anomaly_evidence":"","anomaly_score":0,"bytes_down":0,"bytes_up":0,"client":"bank","compute_seconds":0,"cosine_to_aggregate":null,"cosine_to_others":null,"drift":null,"eval_loss":null,"eval_perplexity":null,"local_loss_end":null,"local_loss_start":null,"quality_delta_base":null,"quality_delta_last":null,"round":3,"simulated_seconds":0,"status":"rejected","train_examples":0,"train_seconds":0,"train_tokens":0,"transfer_seconds":0,"type":"client_update","update_norm":null}"#,
        #"{"aggregation_weight":null,"bytes_down":0,"bytes_up":0,"client":"idle one","compute_seconds":0,"cosine_to_aggregate":null,"cosine_to_others":null,"drift":null,"eval_loss":null,"eval_perplexity":null,"local_loss_end":null,"local_loss_start":null,"quality_delta_base":null,"quality_delta_last":null,"round":3,"simulated_seconds":0,"status":"idle","train_examples":0,"train_seconds":0,"train_tokens":0,"transfer_seconds":0,"type":"client_update","update_norm":null}"#,
        #"{"aggregated":["hospital-a"],"base_eval_loss":3.25,"base_macro_f1":0.375,"base_rouge_l":0.1875,"base_task_accuracy":0.5,"bytes_down":20,"bytes_up":10,"domain_eval_loss":{"clinical":2.25,"finance":3},"dropped":["bank"],"global_eval_loss":2.5,"global_macro_f1":0.625,"global_rouge_l":0.3125,"global_task_accuracy":0.75,"round":3,"selected":["hospital-a","bank"],"simulated_seconds":3.5,"strategy":"krum","type":"round_completed","update_norm_mean":0.5,"wall_seconds":1.25}"#,
        #"{"aggregated":[],"base_eval_loss":null,"bytes_down":0,"bytes_up":0,"domain_eval_loss":{},"dropped":[],"global_eval_loss":null,"round":4,"selected":[],"simulated_seconds":0,"strategy":"fedavg","type":"round_completed","update_norm_mean":null,"wall_seconds":0.5}"#,
        #"{"reason":"only 0 updates arrived","round":4,"type":"round_failed"}"#,
        #"{"client":"bank","reason":"local training loss rose","round":4,"severity":"critical","type":"alert"}"#,
        #"{"client":null,"reason":"run-level","round":4,"severity":"info","type":"alert"}"#,
        #"{"clip_norm":null,"delta":1e-05,"enabled":true,"epsilon":null,"noise_multiplier":1.25,"off_rounds":[],"round":4,"type":"privacy_budget"}"#,
        #"{"clip_norm":0.75,"delta":1e-06,"enabled":false,"epsilon":3.5,"noise_multiplier":0.5,"off_rounds":[2,3],"round":5,"type":"privacy_budget"}"#,
        #"{"aborted":null,"bytes_down":200,"bytes_up":300,"chosen_automatically":true,"clients":["a","b","c"],"degree":2,"dropped":{"masked_input":["b"]},"failure_probability":1e-09,"included":["a","c"],"quantization_bound":4,"quantization_step":0.0009765625,"round":5,"server_seconds":0.25,"threshold":2,"type":"secure_aggregation","wall_seconds":1.5}"#,
        #"{"aborted":"1 of 3 clients answered, fewer than the threshold 2","bytes_down":0,"bytes_up":0,"chosen_automatically":false,"clients":["a"],"degree":0,"dropped":{},"failure_probability":0,"included":[],"quantization_bound":8,"quantization_step":0.5,"round":6,"server_seconds":0,"threshold":1,"type":"secure_aggregation","wall_seconds":0}"#,
        #"{"actor":"coordinator","event":"keys_shared","fields":{"client":"a","fingerprint":"ab12"},"round":5,"type":"key_audit"}"#,
        #"{"base_eval_loss":null,"final_eval_loss":2,"round":5,"stopped":true,"type":"run_finished","wall_seconds":9.5}"#,
        #"{"base_eval_loss":3.25,"final_eval_loss":null,"round":8,"stopped":false,"type":"run_finished","wall_seconds":12}"#,
        #"{"labels":["billing","refund"],"round":0,"source":"scenario","type":"task_labels"}"#,
        #"{"client":"hospital-a","prompt":"Patient presents with","round":2,"seconds":0.5,"text":" chest pain.\n/ok","type":"sample"}"#,
        #"{"action":"drop hospital-b","applied":true,"round":0,"type":"operator_action"}"#,
        #"{"action":"readmit a b","applied":true,"round":1,"type":"operator_action"}"#,
        #"{"action":"enable differential privacy","applied":false,"round":2,"type":"operator_action"}"#,
        #"{"action":"disable differential privacy","applied":true,"round":3,"type":"operator_action"}"#,
        #"{"action":"set noise multiplier 1.25","applied":true,"round":4,"type":"operator_action"}"#,
        #"{"action":"set clip norm 0.500","applied":false,"round":5,"type":"operator_action"}"#,
        #"{"action":"pause","applied":true,"round":6,"type":"operator_action"}"#,
        #"{"action":"resume","applied":true,"round":7,"type":"operator_action"}"#,
        #"{"action":"step one round","applied":false,"round":8,"type":"operator_action"}"#,
        #"{"action":"stop","applied":true,"round":9,"type":"operator_action"}"#,
        #"{"action":"sample bank","applied":true,"round":10,"type":"operator_action"}"#,
    ]
}

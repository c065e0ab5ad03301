import ArgumentParser

/// The exit codes of the commands that run a pilot (`run`, `serve`, `compare`). `.error` is
/// every command's code for bad input.
enum PilotExit: Int32 {
    /// Every round completed.
    case completed = 0
    /// Bad input (scenario, model or data) or an internal error.
    case error = 1
    /// The operator stopped the run early (or abandoned it).
    case stopped = 3
    /// At least one round failed; the model was left unchanged by it.
    case roundFailed = 4

    /// The code of a run that returned.
    init(stopped: Bool, failedRounds: Int) {
        self = stopped ? .stopped : failedRounds > 0 ? .roundFailed : .completed
    }

    /// The paragraph of `--help` that lists the codes.
    static let help = """
        Exit codes: \(completed.rawValue) every round completed; \(error.rawValue) bad input (scenario, model or data) or an internal error;
        \(stopped.rawValue) the operator stopped the run early; \(roundFailed.rawValue) at least one round failed (the model was left unchanged by it).
        """

    /// Ends the command with this code; does nothing for `.completed`.
    func throwUnlessCompleted() throws {
        if self != .completed { throw ExitCode(rawValue) }
    }
}
